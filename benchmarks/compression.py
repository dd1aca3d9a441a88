"""Smaller components: vocabulary trimming and pruning of the starter composition, on a few-shot task.

**Trimming** (`cclm.compression.trim_vocabulary`). A default `TextClassifier`
on the README's starter composition (starter embedder; contrastive,
multilingual and meaning towers), fitted on 32 labels per class (draw 0 of
benchmarks/fewshot.py), is trimmed to the characters of the task's train
split. Reported: ids, the classifier's size on disk (its directory, and the
embedder's), predict time on the test split (best of 3 interleaved rounds),
accuracy, and the largest difference of probabilities on the test texts made
of kept characters (they must agree) — beside TF-IDF char 1-4-grams + LR
fitted on the same labels (its vocabulary is the train texts' by
construction; its size is its pickle's).

**Pruning** (`cclm.compression.prune`). The few-shot benchmark's
"starter: contrastive" composition (starter embedder + starter-contrastive)
with 0 / 0.3 / 0.5 / 0.7 / 0.9 of each of the tower's kernels zeroed, by
magnitude (l1) and at random. Reported per fraction: how far the test texts'
pooled features moved (|pruned - unpruned| / |unpruned|), few-shot accuracy (32
labels per class, mean of the draws) of a default `TextClassifier` (which
also reads TF-IDF n-grams and may give the composition little weight) and of
one on the composition's features alone (`ngrams=0`, where the tower's
damage shows), the composition's size on disk (pruned weights are saved
gzip-compressed) and predict time (the composition-only classifier, test
split, best of 3) — beside TF-IDF + LR on the same draws.

Run: python benchmarks/compression.py [--task language] [--draws 2] [--methods l1 random] [--quick]
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import fewshot
import keras
import numpy as np
from peers import accuracy

from cclm import ComposedModel
from cclm.classification import TextClassifier
from cclm.compression import prune, sparsity, trim_vocabulary
from cclm.selection import pooled_features
from cclm.shelf.starter import StarterShelf, starter_composition

FRACTIONS = (0.0, 0.3, 0.5, 0.7, 0.9)


def directory_bytes(path: Path) -> int:
    return sum(item.stat().st_size for item in Path(path).rglob("*") if item.is_file())


def fastest(functions: dict, rounds: int = 3) -> dict[str, float]:
    """The best seconds of each function over `rounds` interleaved rounds (after one warm-up call each)."""
    for function in functions.values():
        function()
    best = {name: float("inf") for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            started = time.perf_counter()
            function()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def tfidf_model(train):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True)
    return make_pipeline(vectorizer, LogisticRegression(C=10.0, max_iter=2000)).fit(*train)


def fitted(composed: ComposedModel, train, seed: int, **options) -> TextClassifier:
    keras.utils.set_random_seed(seed)
    classifier = TextClassifier(composed, seed=seed, **options)
    classifier.fit(train, verbose=0)
    return classifier


def trim_one(classifier: TextClassifier, task, scratch: Path, name: str) -> dict[str, str]:
    """`classifier` and its trimmed copy, measured side by side: one column each."""
    test_texts, test_labels = task.texts["test"], task.labels["test"]
    trimmed = trim_vocabulary(classifier, task.texts["train"])
    kept = set(trimmed.preprocessor.characters)
    inside = [text for text in test_texts if set(trimmed.preprocessor.normalize(text)) <= kept]
    difference = float(np.abs(trimmed.predict(inside) - classifier.predict(inside)).max())
    times = fastest({"before": lambda: classifier.predict(test_texts), "after": lambda: trimmed.predict(test_texts)})
    columns = {}
    for when, model in (("before", classifier), ("after", trimmed)):
        path = model.save(scratch / f"trim-{name}-{when}")
        columns[when] = [f"{model.preprocessor.vocab_size:,}", f"{directory_bytes(path) / 1e6:.2f}",
                         f"{directory_bytes(path / 'composed' / 'embedder') / 1e6:.3f}", f"{times[when]:.2f}",
                         f"{accuracy(model.predict_labels(test_texts), test_labels) * 100:.1f}"]
    columns["after"].append(f"{difference:.1e} ({len(inside)} texts)")
    columns["before"].append("-")
    return columns


def measure_trimming(task, args: argparse.Namespace, scratch: Path) -> None:
    train = fewshot.few(task.texts["train"], task.labels["train"], args.few, 0)
    test_texts, test_labels = task.texts["test"], task.labels["test"]
    composed = starter_composition()
    heads = {"default head": {}, "features alone": {"ngrams": 0}}
    columns, reads = [], []
    for name, options in heads.items():
        classifier = fitted(composed, train, args.seed, **options)
        reads.append(f"the {name.replace(' head', '')} head reads {classifier.head_reads}")
        measured = trim_one(classifier, task, scratch, name.replace(" ", "-"))
        columns += [measured["before"], measured["after"]]
    peer = tfidf_model(train)
    peer_seconds = fastest({"peer": lambda: peer.predict(test_texts)})["peer"]
    columns.append(["-", f"{len(pickle.dumps(peer)) / 1e6:.2f}", "-", f"{peer_seconds:.2f}",
                    f"{accuracy(peer.predict(test_texts), test_labels) * 100:.1f}", "-"])
    names = ["ids (vocabulary + special)", "classifier on disk, MB", "its embedder on disk, MB",
             f"predict {len(test_texts):,} test texts, s", "accuracy % on test",
             "largest probability difference"]
    print(f"\ntrimming: {task.name}, the README's starter composition trimmed to the characters of its "
          f"{len(task.texts['train']):,} train texts; {args.few} labels per class (draw 0); " + "; ".join(reads))
    print(f"{'':<32}" + "".join(f"{h:>36}" for h in ("default head: starter / trimmed",
                                                      "features alone: starter / trimmed")) + f"{'TF-IDF + LR':>14}")
    print("-" * 118)
    for row, name in enumerate(names):
        cells = [f"{columns[i][row]} / {columns[i + 1][row]}" for i in (0, 2)]
        print(f"{name:<32}" + "".join(f"{cell:>36}" for cell in cells) + f"{columns[4][row]:>14}")
    print("(features alone: TextClassifier(ngrams=0), the composition's pooled features only; TF-IDF + LR's size "
          "is its pickle's; the difference is over the test texts made of kept characters)")


def measure_pruning(task, args: argparse.Namespace, scratch: Path) -> None:
    shelf = StarterShelf()
    composed = ComposedModel(shelf.load("starter-embedder", "embedder"), [shelf.load("starter-contrastive")],
                             preprocessor=shelf.load("starter", "preprocessor"), name="contrastive")
    tower = composed.towers[0].name
    draws = [fewshot.few(task.texts["train"], task.labels["train"], args.few, d) for d in range(args.draws)]
    test_texts, test_labels = task.texts["test"], task.labels["test"]
    peer = np.mean([accuracy(tfidf_model(train).predict(test_texts), test_labels) for train in draws])
    base_bytes = directory_bytes(composed.save(scratch / "prune-base"))
    base_features = pooled_features(test_texts, composed)
    print(f"\npruning: {task.name}, tower {tower!r} of the starter embedder + starter-contrastive composition "
          f"({composed.towers[0].count_params():,} weights); {args.few} labels per class, mean of {args.draws} draws")
    print(f"{'pruned':<8}{'method':<8}{'zeros in tower':>16}{'features moved':>16}{'default head %':>16}"
          f"{'features alone %':>18}{'on disk MB':>12}{'predict s':>11}{'TF-IDF+LR %':>13}")
    print("-" * 118)
    for method in args.methods:
        for fraction in FRACTIONS:
            if fraction == 0.0 and method != args.methods[0]:
                continue
            pruned = prune(composed, fraction, method=method, layers=[tower], seed=args.seed) if fraction else composed
            zeros = np.mean(list(sparsity(pruned, [tower]).values()))
            moved = np.linalg.norm(pooled_features(test_texts, pruned) - base_features) / np.linalg.norm(base_features)
            scores, alone = [], None
            for train in draws:
                features_only = fitted(pruned, train, args.seed, ngrams=0)
                alone = features_only if alone is None else alone  # draw 0's: timed below
                scores.append((accuracy(fitted(pruned, train, args.seed).predict_labels(test_texts), test_labels),
                               accuracy(features_only.predict_labels(test_texts), test_labels)))
            seconds = fastest({"predict": lambda model=alone: model.predict(test_texts)})["predict"]
            size = directory_bytes(pruned.save(scratch / f"prune-{method}-{fraction}")) if fraction else base_bytes
            mean = np.mean(scores, axis=0) * 100
            print(f"{fraction:<8.1f}{method if fraction else '-':<8}{zeros:>16.3f}{moved:>16.3f}{mean[0]:>16.1f}{mean[1]:>18.1f}"
                  f"{size / 1e6:>12.2f}{seconds:>11.2f}{peer * 100:>13.1f}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="language", choices=["language", "code", "topic", "package"])
    parser.add_argument("--few", type=int, default=32, help="labels per class")
    parser.add_argument("--draws", type=int, default=2, help="few-shot draws for the pruning accuracies")
    parser.add_argument("--pool", type=int, default=300, help="train texts per class, at most (what trimming keeps)")
    parser.add_argument("--test", type=int, default=100, help="test texts per class")
    parser.add_argument("--methods", nargs="+", default=["l1", "random"], choices=["l1", "random"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip", choices=["trimming", "pruning"], help="leave one measurement out")
    parser.add_argument("--quick", action="store_true", help="tiny splits, one draw: checks the script")
    args = parser.parse_args(argv)
    if args.quick:
        args.few, args.draws, args.pool, args.test, args.methods = 2, 1, 6, 3, ["l1"]
    settings = fewshot.settle(fewshot.parser().parse_args(
        ["--pool", str(args.pool), "--test", str(args.test), "--dev", "1", "--seed", str(args.seed)]))
    started = time.perf_counter()
    task = fewshot.load_task(args.task, settings)
    with tempfile.TemporaryDirectory(prefix="cclm-compression-") as scratch:
        if args.skip != "trimming":
            measure_trimming(task, args, Path(scratch))
        if args.skip != "pruning":
            measure_pruning(task, args, Path(scratch))
    print(f"\nwhole run: {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    sys.exit(main())
