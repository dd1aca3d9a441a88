"""`ContrastivePretrainer`: a sentence-level tower; the two halves of one window should look alike.

Example:
>>> from cclm.data.sample_text import python_docs_paragraphs
>>> pretrainer = ContrastivePretrainer(
...     tower_options={"hidden_dim": 32, "num_layers": 1, "num_heads": 2}, seed=0)
>>> history = pretrainer.fit(python_docs_paragraphs()[:64], epochs=1, batch_size=8, verbose=0)
>>> sorted(history.history)
['loss', 'pair_accuracy']
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import keras
import tensorflow as tf
from keras import ops

from cclm.components import register_component
from cclm.data.texts import TextData
from cclm.layers.sequence_pooling import SequencePooling
from cclm.pipelines.sharding import Shard
from cclm.pretraining.pretrainer import Pretrainer


@keras.saving.register_keras_serializable(package="cclm")
class ContrastiveHead(keras.Model):
    """Character vectors (batch, length, dim) -> unit-length projections (batch, projection_dim), padding masked.

    Args:
        projection_dim: width of the projections the loss compares.
        pooling: `"mean"`, `"max"` or `"cls"` (see `SequencePooling`).
        center: subtract the batch's mean pooled vector before projecting.
            What every text of a corpus shares (its language, its register)
            can dominate pooled vectors at initialization; all projections
            then point the same way, their similarities are equal and the
            loss stays at chance. Centering compares texts by how they
            differ, as the batch normalization of SimCLR's projection head
            does, with no moving statistics.
    """

    def __init__(self, projection_dim: int = 128, pooling: str = "mean", center: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        self.projection_dim = projection_dim
        self.pooling = pooling
        self.center = center
        self.pool = SequencePooling(pooling, name="pool")
        self.hidden = keras.layers.Dense(projection_dim, activation="gelu", name="hidden")
        self.projection = keras.layers.Dense(projection_dim, name="projection")
        self.supports_masking = True

    def build(self, input_shape: tuple) -> None:
        self.hidden.build((input_shape[0], input_shape[-1]))
        self.projection.build((input_shape[0], self.projection_dim))

    def call(self, features: Any, mask: Any = None) -> Any:
        pooled = self.pool(features, mask=mask)
        if self.center:
            pooled = pooled - ops.mean(pooled, axis=0, keepdims=True)
        projected = self.projection(self.hidden(pooled))
        return projected / ops.maximum(ops.norm(projected, axis=-1, keepdims=True), 1e-6)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.projection_dim)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"projection_dim": self.projection_dim, "pooling": self.pooling, "center": self.center})
        return config


def _pair_logits(projections: Any, temperature: float) -> Any:
    """Similarities of each first half (rows :n) with every second half (rows n:), over the temperature."""
    first, second = ops.split(projections, 2, axis=0)
    return ops.matmul(first, ops.transpose(second)) / temperature


@keras.saving.register_keras_serializable(package="cclm")
class PairContrastiveLoss(keras.losses.Loss):
    """InfoNCE over a batch of pairs: rows i and n + i of the predictions are the two views of one text.

    Each view must pick its partner among the other half's n views (both
    directions); `y_true` is ignored.
    """

    def __init__(self, temperature: float = 0.05, name: str = "pair_contrastive", **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self.temperature = temperature

    def call(self, y_true: Any, y_pred: Any) -> Any:
        logits = _pair_logits(y_pred, self.temperature)
        targets = ops.arange(ops.shape(logits)[0])
        forward = keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
        backward = keras.losses.sparse_categorical_crossentropy(targets, ops.transpose(logits), from_logits=True)
        return ops.concatenate([forward, backward], axis=0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "temperature": self.temperature}


def pair_accuracy(y_true: Any, y_pred: Any) -> Any:
    """The share of first halves whose most similar second half is their own partner."""
    logits = _pair_logits(y_pred, 1.0)
    return ops.cast(ops.argmax(logits, axis=-1) == ops.arange(ops.shape(logits)[0]), "float32")


@register_component("contrastive_pretrainer")
class ContrastivePretrainer(Pretrainer):
    """A tower whose pooled vectors say what a text is like, learnt from unlabelled text.

    Windows are packed with neighbouring documents (as
    `MaskedLanguagePretrainer` packs them) and cut in two halves. The tower
    reads every half; a projection of its mean-pooled vectors must be
    closer to the other half of the same window than to any half of another
    window in the batch (InfoNCE, both directions). What two halves of one
    window share (a language, a programming language, a subject, a style)
    is what the tower learns to put into its pooled vectors, which is what
    a classifier on a frozen composition reads.

    Args:
        projection_dim: width of the projections compared by the loss.
        temperature: the softmax temperature of the loss.
        window_length: the length of the windows cut in halves (default: the
            preprocessor's `sequence_length`). Shorter windows make views the
            size of short texts (UI strings, titles) when the preprocessor
            reads longer ones; positions past it are not trained here.
        center: subtract the batch's mean pooled vector before projecting
            (`ContrastiveHead`); `False` is the head of towers saved before
            this option existed, which load with it.
        **kwargs: the common `Pretrainer` arguments (embedder, preprocessor,
            train_embedder, tower_options, optimizer, batch_size, ...).
    """

    metrics_use_sample_weights = False

    def __init__(self, projection_dim: int = 128, temperature: float = 0.05, window_length: int | None = None,
                 center: bool = True, **kwargs: Any):
        if isinstance(temperature, bool) or not isinstance(temperature, Real) or not 0 < temperature < math.inf:
            raise ValueError(f"temperature={temperature!r}; use a finite float > 0 (e.g. 0.05).")
        if window_length is not None and (isinstance(window_length, bool) or not isinstance(window_length, Integral)
                                          or window_length < 2):
            raise ValueError(f"window_length={window_length!r}; use None (the preprocessor's length) or an int >= 2, "
                             "the length of the windows cut in halves.")
        self.projection_dim = projection_dim
        self.center = center
        self.temperature = temperature
        self.window_length = window_length
        super().__init__(**kwargs)

    def task_config(self) -> dict[str, Any]:
        return {"projection_dim": self.projection_dim, "temperature": self.temperature,
                "window_length": self.window_length, "center": self.center}

    @classmethod
    def _from_saved(cls, directory: Any, manifest: dict) -> ContrastivePretrainer:
        if "center" not in manifest["config"]:  # saved before the option: it trained with an uncentered head
            manifest = {**manifest, "config": {**manifest["config"], "center": False}}
        return super()._from_saved(directory, manifest)

    def _build_head(self) -> keras.Model:
        length = self.window_length or self.preprocessor.sequence_length
        factor = 2 * self.preprocessor.downsample_factor
        if length is not None and length % factor:
            raise ValueError(
                f"ContrastivePretrainer cuts windows of {length} in halves of whole downsampled positions; "
                f"use a {'window_length' if self.window_length else 'preprocessor sequence_length'} that is a "
                f"multiple of {factor}."
            )
        longest = self.preprocessor.sequence_length
        if self.window_length is not None and longest is not None and self.window_length > longest:
            raise ValueError(f"window_length={self.window_length} is longer than the preprocessor's sequence_length "
                             f"({longest}); use at most {longest}.")
        return ContrastiveHead(self.projection_dim, center=self.center, name=f"{self.name}_head")

    def _loss_and_metrics(self) -> tuple[keras.losses.Loss, list]:
        return PairContrastiveLoss(self.temperature), [keras.metrics.MeanMetricWrapper(pair_accuracy, name="pair_accuracy")]

    def _dataset(self, data: TextData, batch_size: int, training: bool, shard: Shard | None = None) -> tf.data.Dataset:
        windows = self._windows(data, batch_size, training, shard, pack=True, sequence_length=self.window_length)

        def halves(batch: dict[str, Any]) -> tuple[tf.Tensor, tf.Tensor]:
            ids = batch["ids"]
            first, second = tf.split(ids, 2, axis=1)
            # A pair needs text in both halves: a lone short window has none in its second.
            both = tf.reduce_any(first != 0, axis=1) & tf.reduce_any(second != 0, axis=1)
            first, second = tf.boolean_mask(first, both), tf.boolean_mask(second, both)
            views = tf.concat([first, second], axis=0)
            return views, tf.zeros(tf.shape(views)[:1], tf.float32)

        return windows.map(halves, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
