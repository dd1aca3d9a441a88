"""`cclm demo`: an offline end-to-end run on text that ships with Python.

Fits a preprocessor (with a subword tokenizer) on Python's documentation,
builds an embedder sized for it, saves both as components, loads them back
from their directories alone, and checks that everything round-trips:
identical ids from `encode`, from the reloaded preprocessor and from the
in-graph layer; identical embedder outputs and fingerprints.

Example:
>>> summary = run_demo("/tmp/cclm-demo-doc", verbose=False)  # doctest: +SKIP
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from cclm.sample_text import SOURCE, python_docs_paragraphs, split_texts

SEQUENCE_LENGTH = 256
DOWNSAMPLE_FACTOR = 4


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run_demo(output_dir: str | Path = "cclm-demo", verbose: bool = True) -> dict[str, Any]:
    """Runs the demo, writing components under `output_dir`; returns a summary.

    Raises:
        RuntimeError: if anything fails to round-trip (it never should).
    """
    import tensorflow as tf

    from cclm import special_ids
    from cclm.embedder import Embedder
    from cclm.preprocessor import Preprocessor
    from cclm.texts import utf8_bytes

    say = print if verbose else (lambda *a, **k: None)
    output = Path(output_dir).expanduser().absolute()
    started = time.perf_counter()

    texts = python_docs_paragraphs()
    train, test = split_texts(texts, test_fraction=0.1, seed=0)
    say(f"Text: {len(texts):,} paragraphs ({sum(map(len, texts)):,} characters) of {SOURCE}.")
    say(f"      {len(train):,} to fit on, {len(test):,} held out.\n")

    preprocessor = Preprocessor(
        sequence_length=SEQUENCE_LENGTH,
        downsample_factor=DOWNSAMPLE_FACTOR,
        subword_model="bpe",
        subword_vocab_size=2000,
        name="python-docs-preprocessor",
    ).fit(train, progress=verbose)
    ids = preprocessor.encode(test)
    real = ids != 0
    coverage = float((ids[real] != special_ids.UNKNOWN_ID).mean())
    say(f"Preprocessor: {len(preprocessor.characters)} characters, "
        f"{preprocessor.subword_tokenizer.vocab_size} subwords; "
        f"{coverage:.2%} of held-out characters are in the vocabulary.")
    preprocessor.card["metrics"] = {"held-out character coverage": round(coverage, 5)}

    embedder = Embedder(vocab_size=preprocessor.vocab_size, hidden_dim=64, num_blocks=2,
                        max_length=SEQUENCE_LENGTH, name="python-docs-embedder")
    embedder.card = {
        "trained_on": "Not trained yet: initialized for the preprocessor above; towers train it.",
        "description": f"Embedder for a {preprocessor.vocab_size}-id character vocabulary.",
    }
    vectors = embedder.predict(ids, batch_size=64, verbose=0)
    say(f"Embedder: {embedder.count_params():,} parameters; held-out batch -> {vectors.shape}.\n")

    preprocessor_dir = preprocessor.save(output / "preprocessor")
    embedder_dir = embedder.save(output / "embedder")
    say(f"Saved components:\n  {preprocessor_dir}\n  {embedder_dir}")

    reloaded_preprocessor = Preprocessor.load(preprocessor_dir)
    reloaded_embedder = Embedder.load(embedder_dir)
    reloaded_ids = reloaded_preprocessor.encode(test)
    graph_ids = reloaded_preprocessor.as_layer()(tf.constant([utf8_bytes(t) for t in test])).numpy()
    reloaded_vectors = reloaded_embedder.predict(reloaded_ids, batch_size=64, verbose=0)
    checks = {
        "reloaded preprocessor gives identical ids": np.array_equal(ids, reloaded_ids),
        "in-graph layer gives identical ids": np.array_equal(ids, graph_ids),
        "reloaded embedder gives identical vectors": np.array_equal(vectors, reloaded_vectors),
        "fingerprint survives the round trip": embedder.fingerprint == reloaded_embedder.fingerprint,
    }
    say("Loaded both back from their directories alone:")
    for check, passed in checks.items():
        say(f"  [{'ok' if passed else 'FAILED'}] {check}")
    failed = [check for check, passed in checks.items() if not passed]
    if failed:
        raise RuntimeError(f"Round trip failed: {failed}")

    rows = [
        ("component", "size", "measured", "directory"),
        ("preprocessor", f"{preprocessor.vocab_size} ids",
         f"coverage {coverage:.2%}", str(preprocessor_dir)),
        ("embedder", f"{embedder.count_params():,} params",
         f"fingerprint {embedder.fingerprint[:12]}", str(embedder_dir)),
    ]
    seconds = time.perf_counter() - started
    say("\n" + _table(rows))
    say(f"\nDone in {seconds:.1f} s. Everything was written under {output}.")
    return {"checks": checks, "coverage": coverage, "seconds": seconds, "output": output}
