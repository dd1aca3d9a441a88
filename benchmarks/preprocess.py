"""Characters per second of `Preprocessor.encode`, side by side with alternatives.

All methods encode the same real text in the same run: Python's documentation
topics (`pydoc_data`), cut into windows of `--length` characters, in batches.

- cclm encode: `Preprocessor.encode` (NumPy, no loop over characters).
- HF BPE encode_batch: a `tokenizers` BPE model trained on the same text
  (Rust, multi-threaded), the usual subword baseline.
- per-character loop: one dict lookup per character, like the original
  cclm `string_to_array`.
- in-graph layer: `CharacterEncoder` inside a `tf.function`, on the same
  batches already held as `tf.string` tensors (as in a `tf.data` pipeline).

Each time is the best of `--repeats` runs; the ratio column is how many times
faster `encode` is. A second table encodes one hostile text (a letter and
thousands of combining marks) into a 64-character window: `encode` and the
layer normalize only what the window keeps, against `unicodedata` on the whole
text (what `encode` did before), whose time grows with the square of its length.
Run: `python benchmarks/preprocess.py`.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import unicodedata  # noqa: E402

import numpy as np  # noqa: E402

from cclm import Preprocessor, special_ids  # noqa: E402
from cclm.data.sample_text import python_docs_paragraphs  # noqa: E402


def windows(length: int, copies: int) -> list[str]:
    text = " ".join(python_docs_paragraphs()) * copies
    return [text[i : i + length] for i in range(0, len(text) - length + 1, length)]


def batches(texts: list[str], size: int) -> list[list[str]]:
    return [texts[i : i + size] for i in range(0, len(texts), size)]


def best_time(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def per_character_loop(char_to_id: dict[str, int], text: str, length: int) -> np.ndarray:
    """The original cclm approach: a Python dict lookup per character."""
    ids = [char_to_id.get(c, special_ids.UNKNOWN_ID) for c in text[:length]]
    return np.array(ids + [special_ids.PAD_ID] * (length - len(ids)), dtype=np.int32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--copies", type=int, default=4, help="repeat the corpus this often")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny run, to check the script works")
    args = parser.parse_args()
    if args.quick:
        args.copies, args.repeats, args.batch_size = 1, 1, 256

    import tensorflow as tf
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    texts = windows(args.length, args.copies)
    groups = batches(texts, args.batch_size)
    characters = sum(map(len, texts))

    preprocessor = Preprocessor(sequence_length=args.length).fit(texts, progress=False)
    char_to_id = {c: i + special_ids.FIRST_CHARACTER_ID for i, c in enumerate(preprocessor.characters)}
    bpe = Tokenizer(models.BPE(unk_token="[UNK]"))
    bpe.pre_tokenizer = pre_tokenizers.Whitespace()
    bpe.train_from_iterator(
        texts, trainers.BpeTrainer(vocab_size=8000, special_tokens=["[UNK]"], show_progress=False)
    )
    layer = preprocessor.as_layer()
    graph_encode = tf.function(layer.call)
    tensors = [tf.constant(group) for group in groups]

    # The same ids from all character-level paths, before timing anything.
    first = preprocessor.encode(groups[0])
    assert np.array_equal(first, np.stack([per_character_loop(char_to_id, t, args.length) for t in groups[0]]))
    assert np.array_equal(first, graph_encode(tensors[0]).numpy())

    methods = {
        "cclm encode": lambda: [preprocessor.encode(g) for g in groups],
        "HF BPE encode_batch": lambda: [bpe.encode_batch(g) for g in groups],
        "per-character loop": lambda: [
            np.stack([per_character_loop(char_to_id, t, args.length) for t in g]) for g in groups
        ],
        "in-graph layer": lambda: [graph_encode(t).numpy() for t in tensors],
    }
    for run in methods.values():  # warm-up: tracing, thread pools, caches
        run()
    seconds = {name: best_time(run, args.repeats) for name, run in methods.items()}

    base = seconds["cclm encode"]
    print(
        f"\nEncoding {len(texts):,} texts of {args.length} characters ({characters:,} characters) "
        f"in batches of {args.batch_size}; best of {args.repeats}; {os.cpu_count()} CPUs.\n"
    )
    header = f"{'method':<22}{'seconds':>10}{'M chars/s':>12}{'encode is x faster':>20}"
    print(header)
    print("-" * len(header))
    for name, took in seconds.items():
        ratio = "-" if name == "cclm encode" else f"{took / base:.1f}x"
        print(f"{name:<22}{took:>10.4f}{characters / took / 1e6:>12.1f}{ratio:>20}")

    hostile_table(args.repeats, (10_000, 20_000) if args.quick else (10_000, 20_000, 40_000, 80_000))


def hostile_table(repeats: int, sizes: tuple[int, ...]) -> None:
    """Seconds to encode "e" + n combining marks into 64 positions; whole-text normalization beside it."""
    import tensorflow as tf

    preprocessor = Preprocessor(sequence_length=64, downsample_factor=4).fit(["e\u0301\u0316 abc"], progress=False)
    layer = tf.function(preprocessor.as_layer().call)
    print(f"\nOne text, 'e' + n combining marks (U+0301 U+0316 alternating), into a 64-character window; best of {repeats}.\n")
    header = f"{'marks':>8}{'encode s':>12}{'layer s':>12}{'NFC whole text s':>20}{'whole / encode':>16}"
    print(header)
    print("-" * len(header))
    for size in sizes:
        text = "e" + "\u0301\u0316" * (size // 2)
        tensor = tf.constant([text])
        layer(tensor)  # tracing
        encode = best_time(lambda: preprocessor.encode([text]), repeats)
        graph = best_time(lambda: layer(tensor).numpy(), repeats)
        whole = best_time(lambda: unicodedata.normalize("NFC", text), 1)
        print(f"{size:>8,}{encode:>12.4f}{graph:>12.4f}{whole:>20.3f}{whole / encode:>15.0f}x")


if __name__ == "__main__":
    main()
