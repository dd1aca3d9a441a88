"""Peak memory of training on a corpus and on one ten times larger, side by side in one run.

Each row runs in a fresh process that fits a preprocessor on the corpus and
trains a small masked-language tower for one full pass over it, then reports
its peak resident memory (`ru_maxrss`). Streaming sources (a text file, a
`datasets.IterableDataset` over it) should need the same memory whatever
the corpus size; reading the corpus into a `list[str]` first, shown for
contrast, grows with it.

Real text: Python's documentation (`pydoc_data`), one paragraph per line,
repeated to the corpus size.
Run: python benchmarks/memory.py [--lines 20000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCES = {
    "file": "text file, streamed",
    "stream": "datasets.IterableDataset",
    "list": "list[str] read first (contrast)",
}


def write_corpus(path: Path, lines: int) -> int:
    from cclm.data.sample_text import python_docs_paragraphs

    paragraphs = [" ".join(p.split()) for p in python_docs_paragraphs() if p.strip()]
    with open(path, "w", encoding="utf-8") as handle:
        for index in range(lines):
            handle.write(paragraphs[index % len(paragraphs)] + "\n")
    return path.stat().st_size


def child(source: str, path: str) -> None:
    """Trains one pass over the corpus at `path`, read as `source`; prints a JSON line."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from cclm import Preprocessor
    from cclm.models.embedder import Embedder
    from cclm.pretraining.masked_language_pretrainer import MaskedLanguagePretrainer

    keras.utils.set_random_seed(0)
    if source == "file":
        data = Path(path)
    elif source == "stream":
        import datasets

        data = datasets.load_dataset("text", data_files=path, split="train", streaming=True)
    else:
        data = Path(path).read_text(encoding="utf-8").splitlines()
    started = time.perf_counter()
    prep = Preprocessor(sequence_length=128, downsample_factor=4).fit(data, progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=32, num_blocks=1, max_length=128)
    pretrainer = MaskedLanguagePretrainer(
        embedder=embedder, preprocessor=prep, batch_size=256, seed=0,
        tower_options={"hidden_dim": 32, "num_layers": 1, "num_heads": 2, "intermediate_dim": 64, "max_length": 128},
    )
    pretrainer.fit(data, epochs=1, verbose=0)
    print(json.dumps({
        "documents": pretrainer.stats.used,
        "seconds": time.perf_counter() - started,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def run(source: str, path: Path) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", source, str(path)], capture_output=True, text=True, timeout=3600
    )
    if result.returncode:
        raise RuntimeError(f"{source} on {path.name} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=20_000, help="lines of the smaller corpus (the larger has 10x)")
    parser.add_argument("--quick", action="store_true", help="a small run of the text file rows only, to check the script")
    parser.add_argument("--sources", nargs="+", choices=list(SOURCES), default=list(SOURCES), help="rows to run")
    parser.add_argument("--child", nargs=2, metavar=("SOURCE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    lines = 100 if args.quick else args.lines
    sources = {name: SOURCES[name] for name in (["file"] if args.quick else args.sources)}
    with tempfile.TemporaryDirectory() as directory:
        corpora = {}
        for scale in (1, 10):
            path = Path(directory) / f"corpus{scale}x.txt"
            corpora[scale] = (path, write_corpus(path, lines * scale))
        print(f"Peak resident memory of one training pass (fresh process per row; corpus of {lines:,} "
              f"and {10 * lines:,} lines of Python's documentation)\n")
        header = f"{'source':34s}{'lines':>10s}{'MB on disk':>12s}{'seconds':>10s}{'peak MB':>10s}{'10x / 1x':>10s}"
        print(header)
        print("-" * len(header))
        for source, label in sources.items():
            peaks = {}
            for scale, (path, size) in corpora.items():
                row = run(source, path)
                peaks[scale] = row["peak_mb"]
                ratio = f"{peaks[10] / peaks[1]:.3f}x" if scale == 10 else ""
                print(f"{label:34s}{row['documents']:>10,}{size / 2**20:>12.1f}{row['seconds']:>10.1f}"
                      f"{row['peak_mb']:>10.0f}{ratio:>10s}", flush=True)


if __name__ == "__main__":
    main()
