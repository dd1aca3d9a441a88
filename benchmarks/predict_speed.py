"""Prediction speed of the default classifier against TF-IDF + logistic regression, side by side in one run.

The default classifier is the README's: the starter composition
(`cclm.Shelf()`'s preprocessor, embedder, contrastive and multilingual
towers, composed as the Quickstart composes them) under a default
`TextClassifier`, fitted on 32 labels per class (draw 0 of
benchmarks/fewshot.py's few-shot setting, or `--draw`). Its peer is scikit-learn's
TF-IDF over character 1-4-grams (sublinear) + `LogisticRegression`,
fitted on the same texts. Both predict the labels of each task's test
texts (benchmarks/real_text_tasks.py: short UI messages, 400-character
code chunks, English paragraphs) in calls of 1 text, of 32 texts, and of
all of them at once; the classifier's exported SavedModel
(`TextClassifier.export`) serves the same calls. Rounds interleave the
three so that load on a shared machine hits them alike; the best round
counts. Printed: texts/s, the ratios to TF-IDF + LR and to in-process
`predict`, one text's median latency, what the head reads (a head that
gave the composition weight 0 runs no tower), and each one's accuracy.

Run: python benchmarks/predict_speed.py [--tasks language code topic] [--draw 0] [--rounds 3] [--single 300] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from cclm import ComposedModel, Shelf, TextClassifier  # noqa: E402
from real_text_tasks import Task, capped, code_task, language_task, topic_task  # noqa: E402

BATCHES = ("1", "32", "all")
WAYS = ("predict", "SavedModel", "TF-IDF + LR")


def load_task(name: str, args: argparse.Namespace) -> Task:
    """The task with benchmarks/fewshot.py's default splits (its few-shot draws are then the same)."""
    sizes = {"train": 1500, "dev": 100, "test": 200}
    readers = {"language": lambda: language_task(args.locale_root, sizes, 0),
               "code": lambda: code_task(args.source_root, sizes, 0), "topic": lambda: topic_task(None, sizes, 0)}
    return readers[name]()


def tfidf(train: tuple[list[str], list[str]]):
    """TF-IDF char 1-4-grams + LR fitted on `train`: texts -> labels."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True)
    model = LogisticRegression(C=10.0, max_iter=2000).fit(vectorizer.fit_transform(train[0]), train[1])
    return lambda texts: model.predict(vectorizer.transform(texts))


def timed(run, texts: list[str], batch: str, single: int) -> tuple[float, float, list]:
    """(seconds, median seconds per call, labels) of `run` over `texts` in calls of `batch` texts."""
    if batch == "all":
        started = time.perf_counter()
        labels = list(run(texts))
        seconds = time.perf_counter() - started
        return seconds, seconds, labels
    size, texts = (1, texts[:single]) if batch == "1" else (int(batch), texts)
    calls, labels = [], []
    for start in range(0, len(texts), size):
        started = time.perf_counter()
        labels += list(run(texts[start:start + size]))
        calls.append(time.perf_counter() - started)
    return sum(calls), float(np.median(calls)), labels


def measure(task: Task, composed: ComposedModel, args: argparse.Namespace, directory: str) -> dict:
    """Each way's best texts/s per batch, one text's median latency, accuracies and what the head reads."""
    from fewshot import few

    train = few(task.texts["train"], task.labels["train"], args.few, args.draw)
    texts, truth = task.texts["test"], task.labels["test"]
    if args.quick:
        texts, truth = capped(list(zip(texts, truth)), 5, np.random.default_rng(0))
    classifier = TextClassifier(composed)
    classifier.fit(train, verbose=0)
    exported = classifier.export(os.path.join(directory, task.name), tensorflow_text=True)  # normalizes as predict
    served = tf.saved_model.load(str(exported))
    ways = {"predict": classifier.predict_labels,
            "SavedModel": lambda batch: [label.decode() for label in served.serve(tf.constant(batch))["labels"].numpy()],
            "TF-IDF + LR": tfidf(train)}
    for run in ways.values():  # traces every graph and warms every cache; not timed
        run(texts[:2])
    best, latency, accuracy = {}, {}, {}
    for _ in range(args.rounds):
        for batch in BATCHES:
            for way, run in ways.items():
                seconds, median, labels = timed(run, texts, batch, args.single)
                count = len(labels)
                best[way, batch] = max(best.get((way, batch), 0.0), count / seconds)
                if batch == "1":
                    latency[way] = min(latency.get(way, float("inf")), median)
                if batch == "all":
                    accuracy[way] = float(np.mean([str(p) == t for p, t in zip(labels, truth)]))
    return {"texts": len(texts), "mean characters": float(np.mean([len(t) for t in texts])), "best": best,
            "latency": latency, "accuracy": accuracy, "reads": classifier.head_reads}


def table(name: str, outcome: dict) -> str:
    best = outcome["best"]
    lines = [f"\n{name}: {outcome['texts']:,} test texts, mean {outcome['mean characters']:.0f} characters; "
             f"the head reads {outcome['reads']}",
             f"{'texts per call':<16}{'predict':>10}{'SavedModel':>12}{'TF-IDF + LR':>13}{'predict / TF-IDF':>18}"
             f"{'SavedModel / predict':>22}", "-" * 91]
    for batch in BATCHES:
        lines.append(f"{batch:<16}" + "".join(f"{best[way, batch]:>{width},.0f}" for way, width in zip(WAYS, (10, 12, 13)))
                     + f"{best['predict', batch] / best['TF-IDF + LR', batch]:>17.2f}x"
                     + f"{best['SavedModel', batch] / best['predict', batch]:>21.2f}x")
    lines.append("one text, median ms: " + ", ".join(f"{way} {outcome['latency'][way] * 1000:.2f}" for way in WAYS))
    lines.append("accuracy %: " + ", ".join(f"{way} {outcome['accuracy'][way] * 100:.1f}" for way in WAYS))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["language", "code", "topic"], choices=["language", "code", "topic"])
    parser.add_argument("--locale-root", default="/usr/share/locale")
    parser.add_argument("--source-root", default="/usr")
    parser.add_argument("--few", type=int, default=32, help="labelled texts per class the classifiers are fitted on")
    parser.add_argument("--draw", type=int, default=0, help="which few-shot draw (benchmarks/fewshot.py's 0, 1, 2)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds, the three ways interleaved; the best counts")
    parser.add_argument("--single", type=int, default=300, help="texts predicted one per call")
    parser.add_argument("--quick", action="store_true", help="a short run that checks the script works")
    args = parser.parse_args(argv)
    if args.quick:
        args.few, args.rounds, args.single = 4, 1, 5
    started = time.perf_counter()
    shelf = Shelf()
    prep, embedder = shelf.load("starter"), shelf.load("starter-embedder")
    names = ("starter-contrastive", "starter-multilingual", "starter-meaning")  # the README's composition
    towers = [shelf.load(name) for name in names if name != "starter-meaning" or shelf.starter.holds(name)]
    composed = ComposedModel(embedder, towers, preprocessor=prep)
    print(f"default TextClassifier on the starter composition ({composed.id_model.count_params():,} parameters), "
          f"{args.few} labels per class (draw {args.draw}); texts/s, best of {args.rounds} interleaved rounds")
    with tempfile.TemporaryDirectory() as directory:
        for name in args.tasks:
            print(table(name, measure(load_task(name, args), composed, args, directory)), flush=True)
    print(f"\nwhole run: {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
