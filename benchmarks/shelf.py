"""Shelf speed: publish, cold fetch and cached load, on a local shelf holding many versions.

Builds a shelf of `--versions` component versions (preprocessors fitted on
different paragraphs of Python's documentation, `--identifiers` names with
several versions each, plus one embedder), then measures, side by side:

- publish: pack, commit, tag and push one version (median over all);
- cold fetch: a version that is not cached, into an empty cache (clone included),
  and into a cache whose clone exists (median of `--cold-repeats`, each a new cache);
- cached load: the same fetch once cached, in a separate process that has no
  `git` on its PATH (so it provably starts no git process), and `fetch` + `load`.

Targets (issue 5): cold fetch <= 1 s, cached load <= 50 ms with no git process.

Run: python benchmarks/shelf.py            (--versions 200, about 3 minutes)
     python benchmarks/shelf.py --quick    (8 versions)
To compare with another checkout of cclm, run this same script with
PYTHONPATH=<that checkout>, right before or after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from tqdm.auto import tqdm

from cclm import Preprocessor
from cclm.data.sample_text import python_docs_paragraphs
from cclm.shelf.shelf import Shelf

CACHED_PROBE = textwrap.dedent("""
    import json, sys, time
    started = time.perf_counter()
    from cclm.shelf.shelf import Shelf
    imported = time.perf_counter()
    shelf = Shelf(sys.argv[1], cache_dir=sys.argv[2])
    timings = {"fetch": [], "fetch_and_load": []}
    for _ in range(20):
        t = time.perf_counter()
        path = shelf.fetch(sys.argv[3], sys.argv[4], version=sys.argv[5])
        timings["fetch"].append(time.perf_counter() - t)
    from cclm.components import load_component
    load_component(path)  # warm the loader's own imports once
    for _ in range(20):
        t = time.perf_counter()
        load_component(shelf.fetch(sys.argv[3], sys.argv[4], version=sys.argv[5]))
        timings["fetch_and_load"].append(time.perf_counter() - t)
    assert "git" not in sys.modules, "GitPython was imported"
    print(json.dumps({"import": imported - started, **timings}))
""")


def cached_load(shelf: Shelf, identifier: str, item_type: str, version: str) -> dict:
    """Runs the cached fetch in a child process whose PATH is an empty directory: no git.

    The interpreter is called by its own path (`sys.executable`), not through a
    link, so a virtual environment keeps its packages.
    """
    with tempfile.TemporaryDirectory() as bin_dir:
        result = subprocess.run(
            [sys.executable, "-c", CACHED_PROBE, shelf.remote, str(shelf.cache_dir), identifier, item_type, version],
            capture_output=True, text=True, env={**os.environ, "PATH": bin_dir},
        )
    if result.returncode != 0:
        raise SystemExit(f"The cached load failed without git:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", type=int, default=200, help="preprocessor versions on the shelf")
    parser.add_argument("--identifiers", type=int, default=20, help="distinct identifiers among them")
    parser.add_argument("--cold-repeats", type=int, default=5, help="cold fetches per component (median)")
    parser.add_argument("--quick", action="store_true", help="8 versions (a smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.versions, args.identifiers, args.cold_repeats = 8, 2, 1
    paragraphs = python_docs_paragraphs()
    root = Path(tempfile.mkdtemp(prefix="cclm-shelf-bench-"))
    shelf = Shelf.init(root / "shelf.git", cache_dir=root / "cache")

    components = root / "components"
    for index in tqdm(range(args.versions), desc="Saving components", unit="component"):
        texts = paragraphs[index * 7 % len(paragraphs):][:40]
        Preprocessor().fit(texts, progress=False).save(components / str(index))
    from cclm.models.embedder import Embedder

    embedder = Embedder(vocab_size=300, hidden_dim=64, num_blocks=2, max_length=256)
    embedder.save(components / "embedder")

    publish_seconds = []
    for index in tqdm(range(args.versions), desc="Publishing", unit="version"):
        started = time.perf_counter()
        shelf.publish(components / str(index), f"docs-{index % args.identifiers}")
        publish_seconds.append(time.perf_counter() - started)
    started = time.perf_counter()
    embedder_entry = shelf.publish(components / "embedder", "embedder-64")
    embedder_publish = time.perf_counter() - started

    entries = shelf.list()
    target = next(e for e in entries if e.identifier == "docs-0" and e.version == "1.0.1")
    rows = []
    for label, entry in (("preprocessor", target), ("embedder (100k parameters)", embedder_entry)):
        cold, warm_clone = [], []
        for repeat in range(args.cold_repeats):
            cold_shelf = Shelf(shelf.remote, cache_dir=root / f"cold-{entry.identifier}-{repeat}")
            started = time.perf_counter()
            cold_shelf.fetch(entry.identifier, entry.item_type, version=entry.version)
            cold.append(time.perf_counter() - started)
            other = next(e for e in entries if e.identifier == "docs-1")
            cold_shelf.fetch(other.identifier, other.item_type, version=other.version)  # the clone now exists
            fresh = Shelf(shelf.remote, cache_dir=cold_shelf.cache_dir)
            shutil.rmtree(cold_shelf.cache_dir / "objects")  # forget fetched archives, keep the clone
            started = time.perf_counter()
            fresh.fetch(entry.identifier, entry.item_type, version=entry.version)
            warm_clone.append(time.perf_counter() - started)
        cold_clone, cold_with_clone = statistics.median(cold), statistics.median(warm_clone)
        cached = cached_load(fresh, entry.identifier, entry.item_type, entry.version)
        rows.append((label, entry.size, cold_clone, cold_with_clone, statistics.median(cached["fetch"]),
                     statistics.median(cached["fetch_and_load"])))

    print()
    print(f"Shelf of {len(entries)} versions ({args.identifiers} identifiers + 1 embedder), local git remote "
          f"with git-lfs; cold fetches: median of {args.cold_repeats}, each into a new cache; median of 20 "
          "cached loads in a process with no git on PATH.")
    print(f"publish, median of {len(publish_seconds)}: {statistics.median(publish_seconds) * 1000:,.0f} ms "
          f"(first {publish_seconds[0] * 1000:,.0f} ms, last {publish_seconds[-1] * 1000:,.0f} ms); "
          f"embedder {embedder_publish * 1000:,.0f} ms")
    header = (f"{'component':<28}{'archive':>10}{'cold fetch':>13}{'cold, clone':>13}{'cached':>10}"
              f"{'cached+load':>13}{'cold/cached':>13}")
    print(header)
    print("-" * len(header))
    for label, size, cold, cold_clone, cached, cached_and_load in rows:
        print(f"{label:<28}{size:>9,}B{cold * 1000:>11,.0f}ms{cold_clone * 1000:>11,.0f}ms"
              f"{cached * 1000:>8,.1f}ms{cached_and_load * 1000:>11,.1f}ms{cold / cached:>12,.0f}x")
    print("cold fetch: empty cache (shallow clone + one LFS object); cold, clone: the clone exists; "
          "cached: Shelf.fetch of a cached version; cached+load: fetch + cclm.load_component.")


if __name__ == "__main__":
    main()
