"""`CategoricalPretrainer`: a tower learns from labelled text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import tensorflow as tf

from cclm.components import register_component
from cclm.data.texts import LabelledData, TextData, iter_labelled, labels_of, texts_of
from cclm.layers.sequence_pooling import POOLINGS
from cclm.models.label_head import Label, LabelHead, check_labels
from cclm.models.label_predictor import LabelPredictor
from cclm.pipelines.sharding import Shard
from cclm.pretraining.pretrainer import Pretrainer
from cclm.training.fit import class_weights


@register_component("categorical_pretrainer")
class CategoricalPretrainer(LabelPredictor, Pretrainer):
    """Text classification: the tower's character vectors, pooled, predict a label.

    The head pools the tower's output over characters (`pooling`: max, mean
    or cls; padding is masked) into a softmax over the labels. Training
    reads labelled data: `(texts, labels)`, or a `datasets.Dataset` /
    `IterableDataset` with `text_column` and `label_column`. Long texts give
    a random window per pass while training and their start when evaluating
    or predicting, as `Preprocessor.encode` cuts them.

    Args:
        labels: every label (ints or strings), in the order of the outputs.
            Found in the first training data when omitted (a `ClassLabel`
            column's names in its order, else sorted); saved
            with the pretrainer.
        pooling: `"max"`, `"mean"` or `"cls"`.
        class_weight: `None`, `"balanced"` (weights inversely proportional
            to label counts in the first training data), a mapping from label
            to weight, or a sequence of weights in the order of `labels`;
            saved with the pretrainer. `fit(class_weight=...)` overrides it
            for one fit, as in Keras.
        label_column: the label column of `datasets` data.
        **kwargs: the common `Pretrainer` arguments (embedder, preprocessor,
            train_embedder, tower_options, optimizer, batch_size, ...).

    Example:
    >>> texts = ["def f(x): return x", "The cat sat on the mat."] * 16
    >>> kinds = ["code", "prose"] * 16
    >>> pretrainer = CategoricalPretrainer(
    ...     tower_options={"hidden_dim": 16, "num_layers": 1, "num_heads": 2}, seed=0)
    >>> history = pretrainer.fit((texts, kinds), epochs=1, batch_size=8, verbose=0)
    >>> pretrainer.labels
    ['code', 'prose']
    >>> pretrainer.predict(["import os", "A dog."]).shape  # probabilities, columns as labels
    (2, 2)
    >>> pretrainer.predict_labels("import os") in pretrainer.labels
    True
    """

    labelled = True
    metrics_use_sample_weights = False  # class weights steer the loss; accuracy stays plain

    def __init__(
        self,
        labels: Sequence[Label] | None = None,
        pooling: str = "mean",
        class_weight: str | Mapping[Label, float] | Sequence[float] | None = None,
        label_column: str = "label",
        **kwargs: Any,
    ):
        if pooling not in POOLINGS:
            raise ValueError(f"pooling={pooling!r}; use one of {POOLINGS}.")
        if isinstance(class_weight, str) and class_weight != "balanced":
            raise ValueError(f"class_weight={class_weight!r}; use 'balanced', a dict of label -> weight, or None.")
        self.labels = list(labels) if labels is not None else None
        if self.labels is not None:
            check_labels(self.labels)
        self.pooling = pooling
        self.class_weight = class_weight
        self.label_column = label_column
        super().__init__(**kwargs)

    def task_config(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "pooling": self.pooling,
            "class_weight": self.class_weights,
            "label_column": self.label_column,
        }

    @property
    def class_weights(self) -> list[float] | None:
        """The weight of each label, in the order of `labels` (None: all equal)."""
        weight = self.class_weight
        if weight is None or isinstance(weight, str) or self.labels is None:
            return None  # "balanced" is resolved into weights by the first fit
        if isinstance(weight, Mapping):
            unknown = [label for label in weight if label not in self.labels]
            if unknown:  # the message users of this class know
                raise ValueError(f"class_weight names {unknown[0]!r}, which is not one of the labels {self.labels}.")
            return class_weights(dict(weight), self.labels).tolist()  # positive and finite, or refused by name
        if len(weight) != len(self.labels):
            raise ValueError(f"class_weight has {len(weight)} weights for {len(self.labels)} labels; give one per label.")
        return class_weights(dict(zip(self.labels, weight)), self.labels).tolist()

    @property
    def label_index(self) -> dict[Label, int]:
        """Each label's output index."""
        return {label: index for index, label in enumerate(self.labels)}

    # ------------------------------------------------------------ the task
    def _texts(self, data: LabelledData) -> TextData:
        return texts_of(data)

    def _prepare(self, data: LabelledData) -> None:
        if self.labels is None or self.class_weight == "balanced":
            counts = Counter(label for _, label in iter_labelled(data, self.text_column, self.label_column))
            if self.labels is None:
                self.labels = labels_of(data, self.text_column, self.label_column)
                check_labels(self.labels)
            if self.class_weight == "balanced":
                total = sum(counts[label] for label in self.labels)
                self.class_weight = [
                    total / (len(self.labels) * counts[label]) if counts[label] else 1.0 for label in self.labels
                ]
        super()._prepare(data)

    def _build(self) -> None:
        if self.labels is not None:
            super()._build()  # without labels, the first fit builds the model

    def _build_head(self) -> keras.Model:
        return LabelHead(len(self.labels), self.pooling, name=f"{self.name}_head")

    def _loss_and_metrics(self) -> tuple[keras.losses.Loss, list]:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return loss, [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def _dataset(self, data: LabelledData, batch_size: int, training: bool, shard: Shard | None = None) -> tf.data.Dataset:
        # Wrong kinds of data and missing columns fail here, plainly, not inside tf.data.
        next(iter_labelled(data, self.text_column, self.label_column), None)
        windows = self._windows(data, batch_size, training, shard, labels=self.label_index, random_crop=training)
        batches = windows.map(lambda batch: (batch["ids"], batch["labels"]))
        weights = self._fit_class_weights if self._fit_class_weights is not None else self.class_weights
        return self._weigh_labels(batches, weights if training else None).prefetch(tf.data.AUTOTUNE)

    def _record_training(self, history: keras.callbacks.History, seconds: float, restored: int | None = None) -> dict[str, Any]:
        training = super()._record_training(history, seconds, restored)
        self.card["labels"] = self.labels
        return training

    # --------------------------------------------------------- prediction
    def _text_length(self) -> int:
        return self.preprocessor.sequence_length or self.embedder.max_length

    def _logits_model(self) -> keras.Model:
        if not self.is_built:
            raise ValueError("The pretrainer is not built yet; fit it (or load a saved one) first.")
        return self.training_model
