"""`LabelHead`: character vectors -> label logits; the head of `CategoricalPretrainer` and `TextClassifier`.

Example:
>>> import numpy as np
>>> head = LabelHead(num_labels=3, pooling="mean")
>>> tuple(head(np.ones((2, 5, 8), "float32")).shape)
(2, 3)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import keras

from cclm.layers.sequence_pooling import SequencePooling
from cclm.layers.shifted_views import ViewAverage, check_views

Label = int | str


def check_labels(labels: list[Label]) -> None:
    """Raises ValueError unless `labels` are two or more distinct labels of one kind (int or str)."""
    if len(labels) < 2:
        raise ValueError(f"labels={labels!r}; a classifier needs at least two labels.")
    if len(set(labels)) != len(labels):
        raise ValueError(f"labels={labels!r} repeats a label; name each label once.")
    if len({type(label) for label in labels}) > 1:
        raise ValueError(f"labels={labels[:10]!r} mix ints and strings; use one kind.")


def check_known_labels(found: Iterable[Label], known: Sequence[Label], fix: str) -> None:
    """Raises ValueError naming the labels in `found` that are not in `known`, and `fix`."""
    index = set(known)
    unknown = sorted({label for label in found if label not in index}, key=str)
    if unknown:
        raise ValueError(f"labels {unknown[:10]!r} are not among the model's labels {list(known)[:20]!r}; {fix}")


@keras.saving.register_keras_serializable(package="cclm")
class LabelHead(keras.Model):
    """Character vectors (batch, length, dim) -> label logits (batch, labels), padding masked.

    Args:
        num_labels: the number of labels.
        pooling: `"max"`, `"mean"` or `"cls"` (see `SequencePooling`).
        normalize: standardize the pooled features (`BatchNormalization`)
            before the logits. Concatenated towers give features of very
            different scales; standardized, each counts by what it tells,
            not by its scale.
        views: the input holds this many readings of each text, view-major
            (`cclm.layers.ShiftedViews`); their pooled features are averaged
            before the logits, so the output has one row per text.
    """

    def __init__(
        self, num_labels: int, pooling: str = "max", normalize: bool = False, views: int = 1, **kwargs: Any
    ):
        check_views(views)
        super().__init__(**kwargs)
        self.num_labels = num_labels
        self.pooling = pooling
        self.normalize = normalize
        self.views = views
        self.pool = SequencePooling(pooling, name="pool")
        self.average = ViewAverage(views, name="view_average")
        self.norm = keras.layers.BatchNormalization(name="pooled_norm") if normalize else None
        self.logits = keras.layers.Dense(num_labels, name="label_logits")
        self.supports_masking = True

    def build(self, input_shape: tuple) -> None:
        if self.norm is not None:
            self.norm.build((input_shape[0], input_shape[-1]))
        self.logits.build((input_shape[0], input_shape[-1]))

    def call(self, features: Any, mask: Any = None, training: bool | None = None) -> Any:
        pooled = self.pool(features, mask=mask)
        pooled = self.average(pooled)  # (views * texts, dim) -> (texts, dim)
        if self.norm is not None:
            pooled = self.norm(pooled, training=training)
        return self.logits(pooled)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None  # one output per text

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        texts = None if input_shape[0] is None else input_shape[0] // self.views
        return (texts, self.num_labels)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {"num_labels": self.num_labels, "pooling": self.pooling, "normalize": self.normalize, "views": self.views}
        )
        return config
