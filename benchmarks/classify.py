"""Prediction speed of a `TextClassifier` by the reach of its n-gram features, side by side in one run.

`TextClassifier(ngram_length=...)` lets the n-gram features read each text
up to that many characters while the composition reads its window. This
times a classifier whose n-grams read the window alone (`ngram_length=None`)
against one that reads up to 4,096 characters (the default), on short
texts (every text shorter than the window) and on long ones, through
`predict` (texts encoded in NumPy) and through the classifier called on
strings (the graph `.keras` files and `export` serve). Rounds interleave the
settings so that noise on a shared machine hits them alike; the best round
counts.

Real text: Python's documentation (`pydoc_data`): its paragraphs' first
sentences (short) and whole paragraphs (long).
Run: python benchmarks/classify.py [--texts 4000] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from cclm import ComposedModel, Preprocessor  # noqa: E402
from cclm.classification import TextClassifier  # noqa: E402
from cclm.data.sample_text import python_docs_paragraphs  # noqa: E402
from cclm.models.embedder import Embedder  # noqa: E402
from cclm.models.tower import Tower  # noqa: E402
from cclm.pretraining.pretrainer import DEFAULT_EMBEDDER_OPTIONS, DEFAULT_TOWER_OPTIONS  # noqa: E402

WINDOW = 128
REACHES = {"window (ngram_length=None)": None, "4,096 characters (default)": 4096}


def texts_of(count: int) -> dict[str, list[str]]:
    """Short texts (first sentences, shorter than the window) and long ones (paragraphs longer than it)."""
    paragraphs = [" ".join(p.split()) for p in python_docs_paragraphs()]
    short = [p.split(". ")[0][: WINDOW - 1] for p in paragraphs if len(p) > 20]
    long = [p for p in paragraphs if len(p) > 2 * WINDOW]
    return {"short": (short * (count // len(short) + 1))[:count], "long": (long * (count // len(long) + 1))[:count]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=4000, help="texts predicted per timing")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per setting, interleaved")
    parser.add_argument("--quick", action="store_true", help="a short run that checks the script works")
    args = parser.parse_args()
    count, rounds = (64, 1) if args.quick else (args.texts, args.rounds)
    texts = texts_of(count)
    prep = Preprocessor(sequence_length=WINDOW).fit(texts["long"], progress=False)
    keras.utils.set_random_seed(0)
    embedder = Embedder(prep.max_example_len, prep.n_chars, **DEFAULT_EMBEDDER_OPTIONS)
    tower = Tower(input_dim=embedder.hidden_dim, max_length=WINDOW, **DEFAULT_TOWER_OPTIONS)
    composed = ComposedModel(embedder, [tower], preprocessor=prep)
    labels = [str(len(text) % 2) for text in texts["long"]]  # any two labels: only speed is measured
    classifiers = {}
    for name, reach in REACHES.items():
        classifiers[name] = TextClassifier(composed, seed=0, ngram_length=reach)
        classifiers[name].fit((texts["long"][:64], labels[:64]), verbose=0)
    ways = {"predict": lambda c, t: c.predict(t), "strings": lambda c, t: np.asarray(c(t))}
    best: dict[tuple, float] = {}
    for round_ in range(rounds + 1):  # round 0 traces every graph; it is not timed
        for kind, batch in texts.items():
            for way, run in ways.items():
                for name, classifier in classifiers.items():
                    started = time.perf_counter()
                    for start in range(0, len(batch), 512):  # batches a server would see
                        run(classifier, batch[start:start + 512])
                    if round_:
                        key = (kind, way, name)
                        best[key] = min(best.get(key, float("inf")), time.perf_counter() - started)
    print(f"{'texts':<7}{'path':<9}{'n-grams read':<28}{'texts/s':>10}{'vs window':>11}")
    print("-" * 65)
    for kind in texts:
        for way in ways:
            window = best[kind, way, next(iter(REACHES))]
            for name in REACHES:
                seconds = best[kind, way, name]
                print(f"{kind:<7}{way:<9}{name:<28}{count / seconds:>10,.0f}{window / seconds:>10.2f}x")
    mean = {kind: np.mean([len(t) for t in batch]) for kind, batch in texts.items()}
    print(f"\n{count:,} texts each; mean length {mean['short']:.0f} (short) and {mean['long']:.0f} (long) characters; "
          f"the composition reads {WINDOW}.")


if __name__ == "__main__":
    main()
