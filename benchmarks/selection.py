"""Which texts to label first: `cclm.selection.select_diverse` against a random draw, on the few-shot tasks.

For each task of benchmarks/fewshot.py (`real_text_tasks.py`), the train
split is the unlabelled pool. Three ways choose k texts of it to label, with
k = 8 and 32 per class times the number of classes (the labels never guide
the choice, so the classes of the chosen texts are as uneven as the pool's
regions are):

- **random**: k texts drawn uniformly (seed = the draw);
- **cclm select_diverse**: k-means (seeded k-means++, seed = the draw) on
  the starter composition's pooled features, the text nearest each centre;
- **TF-IDF k-means (scikit-learn)**, the peer: scikit-learn's `KMeans`
  (k-means++, seed = the draw, one start) on the texts' TF-IDF vectors of
  character 1-4-grams (as the few-shot benchmark's TF-IDF peer reads them),
  the text nearest each centre.

The chosen texts are labelled from the pool's labels, a default
`TextClassifier` on the starter composition (the README's, frozen) is
fitted on them, and its accuracy on the task's test split is reported,
mean of the draws, with TF-IDF + logistic regression (C = 10) fitted on
the same chosen texts beside it. The composition's features of the pool
are computed once and shared by the draws.

Run: python benchmarks/selection.py [--tasks language code] [--draws 3] [--pool 300] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import fewshot  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from peers import accuracies, accuracy  # noqa: E402

from cclm.classification import TextClassifier  # noqa: E402
from cclm.selection import diverse_indices, pooled_features  # noqa: E402
from cclm.shelf.starter import starter_composition  # noqa: E402

METHODS = ("random", "cclm select_diverse", "TF-IDF k-means (scikit-learn)")


def tfidf_features(texts: list[str]):
    """The texts' TF-IDF vectors of character 1-4-grams (sublinear tf), rows of unit length."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True).fit_transform(texts)


def tfidf_kmeans(features, k: int, seed: int) -> list[int]:
    """scikit-learn's KMeans (k-means++, one start, `seed`) on TF-IDF rows; the row nearest each centre, distinct."""
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=k, init="k-means++", n_init=1, random_state=seed).fit(features)
    distances = model.transform(features)
    chosen, taken = [], np.zeros(features.shape[0], bool)
    for centre in range(k):
        order = np.argsort(distances[:, centre], kind="stable")
        index = int(order[np.argmax(~taken[order])])
        taken[index] = True
        chosen.append(index)
    return chosen


def tfidf_lr(train: tuple[list[str], list[str]], test: tuple[list[str], list[str]]) -> float:
    """TF-IDF char 1-4-grams + logistic regression (C = 10: no dev split spent on tuning) on the chosen texts."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True)
    model = LogisticRegression(C=10.0, max_iter=2000).fit(vectorizer.fit_transform(train[0]), train[1])
    return accuracy(model.predict(vectorizer.transform(test[0])), test[1])


def choose(method: str, k: int, draw: int, features: dict) -> list[int]:
    if method == "random":
        return np.random.default_rng(draw).choice(len(features["cclm"]), k, replace=False).tolist()
    if method == "cclm select_diverse":
        return diverse_indices(features["cclm"], k, seed=draw)
    return tfidf_kmeans(features["tfidf"], k, draw)


def run_task(task, composed, args: argparse.Namespace) -> dict:
    pool, pool_labels = task.texts["train"], task.labels["train"]
    test = (task.texts["test"], task.labels["test"])
    classes = task.classes
    started = time.perf_counter()
    features = {"cclm": pooled_features(pool, composed), "tfidf": tfidf_features(pool)}
    print(f"\n{task.name}: {len(classes)} classes, pool {len(pool):,} texts, test {len(test[0]):,}; "
          f"pool features in {time.perf_counter() - started:.0f} s", flush=True)
    results = {}
    for per_class in args.per_class:
        k = per_class * len(classes)
        for method in METHODS:
            scores = []
            for draw in range(args.draws):
                chosen = choose(method, k, draw, features)
                train = ([pool[i] for i in chosen], [pool_labels[i] for i in chosen])
                covered = len(set(train[1]))
                keras.utils.set_random_seed(args.seed)
                classifier = TextClassifier(composed, labels=classes, seed=args.seed)
                classifier.fit(train, verbose=0)
                scores.append((accuracies(classifier, [test])[0], tfidf_lr(train, test), covered))
            mean = np.mean(scores, axis=0)
            results[method, per_class] = mean
            print(f"  k = {k} ({per_class}/class) {method}: cclm {mean[0]:.3f}, TF-IDF + LR {mean[1]:.3f}; "
                  f"classes among the chosen {mean[2]:.1f} of {len(classes)}", flush=True)
    return results


def table(outcomes: dict, args: argparse.Namespace) -> str:
    header = f"{'accuracy % on test':<32}" + "".join(
        f"{f'{task} k={n}/class':>24}" for task in outcomes for n in args.per_class)
    lines = [header, f"{'texts chosen by':<32}" + "".join(
        f"{'cclm / TF-IDF+LR':>24}" for _ in outcomes for _ in args.per_class), "-" * len(header)]
    for method in METHODS:
        cells = [f"{outcomes[t][method, n][0] * 100:5.1f} / {outcomes[t][method, n][1] * 100:5.1f}"
                 for t in outcomes for n in args.per_class]
        lines.append(f"{method:<32}" + "".join(f"{cell:>24}" for cell in cells))
    lines.append(f"(mean of {args.draws} draws; cclm: a default TextClassifier on the README's starter composition; "
                 "k = per class x classes, labels unseen by the choice)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["language", "code"], choices=["language", "code", "topic", "package"])
    parser.add_argument("--per-class", type=int, nargs="+", default=[8, 32], help="k per class (k = this x classes)")
    parser.add_argument("--draws", type=int, default=3, help="draws of each method (seeds 0, 1, ...)")
    parser.add_argument("--pool", type=int, default=300, help="pool texts per class, at most")
    parser.add_argument("--test", type=int, default=100, help="test texts per class")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny pool and one draw: checks the script")
    args = parser.parse_args(argv)
    if args.quick:
        args.pool, args.test, args.draws, args.per_class, args.tasks = 12, 4, 1, [1], args.tasks[:1]
    settings = fewshot.settle(fewshot.parser().parse_args(
        ["--pool", str(args.pool), "--test", str(args.test), "--dev", "1", "--seed", str(args.seed)]))
    started = time.perf_counter()
    composed = starter_composition()
    outcomes = {name: run_task(fewshot.load_task(name, settings), composed, args) for name in args.tasks}
    print()
    print(table(outcomes, args))
    print(f"\nwhole run: {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    sys.exit(main())
