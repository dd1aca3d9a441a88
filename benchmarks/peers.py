"""The peers benchmarks/fewshot.py measures cclm's frozen compositions against, on the same texts.

- `tfidf`: TF-IDF over character 1-4-grams + logistic regression, C chosen
  on dev: what a user would otherwise reach for.
- `teacher_lr`: a sentence encoder's vectors (`benchmarks/teachers.py`) +
  logistic regression, C chosen on dev: what a pretrained subword model gives.
- `teacher_tfidf_lr`: the sentence encoder's vectors beside the TF-IDF
  features in one logistic regression (their weight and C chosen on dev):
  what a perfect distillation of the teacher composed with n-grams could
  give a linear head, the ceiling of cclm's meaning composition.
- `end_to_end`: a `TextClassifier` trained end to end by gradient
  (`train_composition=True`) on a composition from random initialization,
  the number of epochs chosen on dev by early stopping: what a user gets
  from the same architecture with no pretraining and no n-gram head, the
  peer issue 28 measured (36.6 on language, 52.2 on code, with cclm 0.1).

Each returns its accuracies on the evaluation sets it is given and its
fit seconds. `fewshot.compare` runs them (scripts/train_starter.py's
measurement, too, runs `tfidf` through it).
"""

from __future__ import annotations

import time

import keras
import numpy as np

from cclm import ComposedModel
from cclm.classification import TextClassifier


def accuracy(predicted: list[str], labels: list[str]) -> float:
    """The share of `predicted` equal to `labels`."""
    return float(np.mean([p == t for p, t in zip(predicted, labels)]))


def accuracies(classifier: TextClassifier, sets) -> list[float]:
    """`classifier`'s accuracy on each `(texts, labels)` of `sets`, from one prediction over all of them."""
    predicted = classifier.predict_labels([text for texts, _ in sets for text in texts])
    results, start = [], 0
    for texts, labels in sets:
        results.append(accuracy(predicted[start:start + len(texts)], labels))
        start += len(texts)
    return results


def char_tfidf():
    """The TF-IDF every peer here uses: character 1-4-grams, sublinear term frequencies (not yet fitted)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True, min_df=1)


def tfidf(train, evaluations, dev):
    """TF-IDF char 1-4-grams + LR with C chosen on dev; accuracies on `evaluations`, and fit seconds."""
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    vectorizer = char_tfidf()
    features = vectorizer.fit_transform(train[0])
    best = None
    for c in (1.0, 10.0, 100.0):
        model = LogisticRegression(C=c, max_iter=2000).fit(features, train[1])
        score = accuracy(model.predict(vectorizer.transform(dev[0])), dev[1])
        if best is None or score > best[0]:
            best = (score, model)
    seconds = time.perf_counter() - started
    model = best[1]
    return [accuracy(model.predict(vectorizer.transform(t)), l) for t, l in evaluations], seconds


def teacher_lr(teacher, train, evaluations, dev):
    """A sentence encoder's vectors + LR with C chosen on dev; accuracies on `evaluations`, and fit seconds.

    The teacher's vectors are cached on disk (`cclm.pretraining.Teacher`), so the seconds count the
    fit and the encoding of texts not seen before.
    """
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    features = teacher(train[0])
    dev_features = teacher(dev[0])
    best = None
    for c in (0.1, 1.0, 10.0, 100.0):
        model = LogisticRegression(C=c, max_iter=3000).fit(features, train[1])
        score = accuracy(model.predict(dev_features), dev[1])
        if best is None or score > best[0]:
            best = (score, model)
    seconds = time.perf_counter() - started
    return [accuracy(best[1].predict(teacher(t)), l) for t, l in evaluations], seconds


def teacher_tfidf_lr(teacher, train, evaluations, dev):
    """The teacher's unit vectors times a weight beside TF-IDF char 1-4-grams, one LR; weight and C chosen on dev.

    Returns the accuracies on `evaluations` and the fit seconds, as `teacher_lr` does.
    """
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    vectorizer = char_tfidf().fit(train[0])

    def parts(texts: list[str]):  # each split's n-grams and unit teacher vectors, computed once
        vectors = teacher(texts)
        return vectorizer.transform(texts), vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def features(split, weight: float):
        return sparse.hstack([split[0], sparse.csr_matrix(weight * split[1])]).tocsr()

    train_parts, dev_parts = parts(train[0]), parts(dev[0])
    best = None
    for weight in (0.25, 0.5, 1.0, 2.0, 4.0):
        train_features, dev_features = features(train_parts, weight), features(dev_parts, weight)
        for c in (1.0, 10.0, 100.0):
            model = LogisticRegression(C=c, max_iter=3000).fit(train_features, train[1])
            score = accuracy(model.predict(dev_features), dev[1])
            if best is None or score > best[0]:
                best = (score, weight, model)
    seconds = time.perf_counter() - started
    _, weight, model = best
    return [accuracy(model.predict(features(parts(t), weight)), l) for t, l in evaluations], seconds


def end_to_end(
    composed: ComposedModel, train, evaluations, dev, seed: int, epochs: int = 100, patience: int = 10,
):
    """`composed` (fresh weights) and a head trained together by gradient; accuracies and fit seconds.

    Stops when dev accuracy has not risen for `patience` epochs (at most
    `epochs`) and keeps the weights of the best dev epoch.
    """
    keras.utils.set_random_seed(seed)
    classifier = TextClassifier(composed, train_composition=True, seed=seed)
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience, restore_best_weights=True)
    started = time.perf_counter()
    history = classifier.fit(train, epochs=epochs, validation_data=dev, callbacks=[stop], verbose=0)
    seconds = time.perf_counter() - started
    scores = history.history["val_accuracy"]
    print(f"    {composed.name} trained end to end: {len(scores)} epochs, the best on dev "
          f"{int(np.argmax(scores)) + 1}", flush=True)
    return accuracies(classifier, [*evaluations, dev]), seconds
