"""`fit_closed_form`: how a `TextClassifier` on a frozen composition fits its head, with no gradient.

Each training text is read once (and once more per noisy reading through the
classifier's `transforms`): its pooled composition features and its n-gram
bag are computed, and the head is solved in closed form
(`cclm.classification.wide_ridge.fit_head`), its strengths chosen by
leave-one-out on the clean readings. The history and the model card hold
that leave-one-out accuracy (of the fit on the clean readings: with noisy
ones, a text left out would keep its twins in) and, with validation data,
its accuracy and loss:
never an accuracy on the texts the head was fitted to. `TextClassifier.fit`
calls it (the `TextClassifier` docstring has an example).
"""

from __future__ import annotations

import functools
import itertools
import time
from typing import Any

import keras
import numpy as np

from cclm.classification.wide_ridge import concatenate_bags, fit_head, ngram_bags
from cclm.data.texts import LabelledData, iter_labelled
from cclm.models.label_head import Label, check_known_labels
from cclm.models.label_predictor import ENCODED_AT_ONCE
from cclm.pipelines.augmentation import apply_transforms
from cclm.pipelines.documents import TextStats
from cclm.training.fit import class_weights


def _read(classifier: Any, texts: list[str], progress: str | int) -> tuple[np.ndarray, ...]:
    """The pooled features of `texts` and, with n-grams, their bags (rows, counts), a bounded share encoded at once."""
    chunks = []
    for start in range(0, len(texts), ENCODED_AT_ONCE):
        ids = classifier._encode(texts[start:start + ENCODED_AT_ONCE])
        chunks.append((classifier._pooled(ids, progress),
                       *(ngram_bags(classifier.ngram_logits, ids) if classifier.ngrams else ())))
    features = np.concatenate([chunk[0] for chunk in chunks])
    return (features, *concatenate_bags([chunk[1:] for chunk in chunks])) if classifier.ngrams else (features,)


def tower_widths(classifier: Any) -> list[int] | None:
    """The width of each tower's block of the pooled features, weighed apart by the head; None for one tower."""
    towers = classifier.composed.towers
    return [tower.output_dim for tower in towers] if len(towers) > 1 else None


def light_towers(classifier: Any) -> list[bool]:
    """For each tower, whether it reads ids alone and so costs about what the n-grams do (a `MeaningTower`)."""
    return [bool(getattr(tower, "reads_ids", False)) for tower in classifier.composed.towers]


def tower_weights(classifier: Any, weights: tuple[float, ...]) -> str:
    """The card's words for the head's weights: `composition weight W: tower w, ...` (one tower: `composition weight W`)."""
    total = f"composition weight {sum(weights):g}"
    return total if len(weights) == 1 else f"{total}: {each_tower(classifier, weights)}"


def each_tower(classifier: Any, weights: tuple[float, ...]) -> str:
    """`tower w, ...`: each tower's name and weight, in composition order."""
    return ", ".join(f"{tower.name} {w:g}" for tower, w in zip(classifier.composed.towers, weights))


def fit_closed_form(
    classifier: Any, data: LabelledData, validation_data: LabelledData | None, epochs: int, limit: int | None,
    class_weight: dict[Label, float] | None, verbose: str | int, callbacks: list[keras.callbacks.Callback] | None = None,
) -> keras.callbacks.History:
    """Solves `classifier`'s head from `data` (at most `limit` texts); returns a one-epoch Keras `History`.

    Args:
        classifier: a `TextClassifier` whose `closed_form` is true.
        data: its labelled training data; `validation_data` held-out data or None.
        epochs: the number of noisy readings of every text through the
            classifier's `transforms` (none without transforms).
        limit: the most texts read, or None.
        class_weight: `{label: weight}` for each text's squared error, or None.
        verbose: 0 hides the progress bar of the features.
        callbacks: Keras callbacks, called for one epoch (`on_train_begin`,
            `on_epoch_begin`, `on_epoch_end` with the history's logs,
            `on_train_end`) on `classifier.model`: CSVLogger, TensorBoard,
            ModelCheckpoint and EarlyStopping see the fit as Keras' fit shows
            it; the solve has no batches, so no batch hooks are called.

    Raises:
        ValueError: no labelled text, a label the classifier does not have, or a bad `class_weight`.
    """
    started = time.perf_counter()
    classifier._prepare(data)
    classifier._compile()  # the model ready for evaluate; no gradient reaches the composition
    if callbacks:  # Keras' monitors learn that "val_accuracy" should rise from metrics built by a first update
        classifier.model.compute_metrics(None, np.zeros(1, "int32"), np.zeros((1, len(classifier.labels)), "float32"))
        classifier.model.reset_metrics()
    hooks = keras.callbacks.CallbackList(callbacks, model=classifier.model, epochs=1, steps=1, verbose=0)
    hooks.on_train_begin()
    hooks.on_epoch_begin(0)
    pairs = list(itertools.islice(iter_labelled(data, classifier.text_column, classifier.label_column), limit))
    if not pairs:
        raise ValueError("The training data holds no labelled text; give (texts, labels) with at least one pair.")
    texts = [text for text, _ in pairs]
    check_known_labels((label for _, label in pairs), classifier.labels,
                       "give labels=[...] with every label, or leave labels out to take them from the data.")
    if validation_data is not None:  # before the head changes: a failed fit leaves the classifier as it was
        check_known_labels((label for _, label in iter_labelled(validation_data, classifier.text_column,
                                                                classifier.label_column)),
                           classifier.labels, "drop the validation texts of labels the training data lacks.")
    label_ids = np.array([classifier.label_index[label] for _, label in pairs])
    weights = None if class_weight is None else class_weights(class_weight, classifier.labels)[label_ids]
    progress = 0 if verbose == 0 else "auto"
    readings = [texts] + [apply_transforms(classifier.transforms, texts, (classifier.seed or 0) + epoch)
                          for epoch in range(epochs if classifier.transforms else 0)]
    # per reading: (pooled features, n-gram rows, n-gram counts), each computed once
    parts = [_read(classifier, reading, progress) for reading in readings]
    solve = functools.partial(fit_head, num_labels=len(classifier.labels), buckets=classifier.ngram_buckets,
                              seed=classifier.seed or 0, sample_weights=weights, blocks=tower_widths(classifier),
                              light_blocks=light_towers(classifier))
    clean = fitted = solve(parts[:1], label_ids)  # the strengths are chosen on the clean texts
    if len(parts) > 1:  # noisy readings then join the fit at them
        fitted = solve(parts, label_ids, chosen=clean)
    classifier.head.logits.set_weights([fitted.kernel, fitted.bias])
    if classifier.ngrams:
        classifier.ngram_logits.set_weights([fitted.idf, fitted.ngram_kernel])
    classifier.stats = TextStats(used=len(texts), passes=1)
    history = keras.callbacks.History()
    # Leaving one reading out would keep its noisy twins in: the clean fit's figure is the one that holds a text out.
    history.epoch, history.history = [0], {"loo_accuracy": [clean.loo_accuracy]}
    if validation_data is not None:
        history.history.update({f"val_{k}": [v] for k, v in classifier.evaluate(validation_data).items()})
    logs = {key: values[0] for key, values in history.history.items()}
    hooks.on_epoch_end(0, logs)
    hooks.on_train_end(logs)
    for key in ("training", "history"):  # a refit solves anew: the card describes this fit, never piled-up refits
        classifier.card.pop(key, None)
    training = classifier._record_training(history, time.perf_counter() - started)
    if classifier.ngrams:
        ngrams = (f" and TF-IDF character 1-{classifier.ngrams}-grams of up to {classifier._text_length():,} "
                  f"characters ({tower_weights(classifier, fitted.block_weights)})")
    elif fitted.block_weights is not None:  # towers weighed apart, without n-grams
        ngrams = f" (each tower's weight: {each_tower(classifier, fitted.block_weights)})"
    else:
        ngrams = ""
    weighted = "; texts weighted by class_weight" if class_weight is not None else ""
    training["head"] = (f"closed-form ridge over standardized pooled features{ngrams}; strength {fitted.strength:.3g} "
                        f"and softmax scale {fitted.temperature:g} chosen by leave-one-out{weighted}")
    return history
