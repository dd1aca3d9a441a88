"""Predicting subword ids from character vectors, affordably for large vocabularies.

`SubwordHead` maps each character's vector to a hidden vector; its output
embeddings (one row per subword) turn hidden vectors into subword logits.
Training never forms the full (batch, length, vocab) logits:
`SampledSoftmaxLoss` scores each target against a few hundred sampled
subwords (`tf.nn.sampled_softmax_loss`), and `SubwordAccuracy` forms full
logits only at the weighted (hidden) positions.

Example:
>>> import numpy as np
>>> head = SubwordHead(hidden_dim=8, vocab_size=1000)
>>> hidden = head(np.zeros((2, 4, 16), "float32"))
>>> hidden.shape, head.logits(hidden).shape
(TensorShape([2, 4, 8]), TensorShape([2, 4, 1000]))
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="cclm")
class SubwordHead(keras.Model):
    """Character vectors -> hidden vectors, with output embeddings for subword logits.

    The model's output is the hidden vector per character (Dense, GELU,
    LayerNormalization); `logits(hidden)` gives full subword logits where
    they are needed, and `SampledSoftmaxLoss` trains the output embeddings
    without them.

    Args:
        hidden_dim: width of the hidden vectors and output embeddings.
        vocab_size: the number of subword ids (the tokenizer's vocabulary).
    """

    def __init__(self, hidden_dim: int, vocab_size: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.vocab_size = vocab_size
        self.transform = keras.layers.Dense(hidden_dim, activation="gelu", name="transform")
        self.norm = keras.layers.LayerNormalization(epsilon=1e-6, name="norm")
        self.supports_masking = True

    def build(self, input_shape: tuple) -> None:
        self.transform.build(input_shape)
        self.norm.build((*input_shape[:-1], self.hidden_dim))
        self.output_embeddings = self.add_weight(
            shape=(self.vocab_size, self.hidden_dim), name="output_embeddings",
            # Small, so subwords a sampled softmax has rarely drawn yet do not win the argmax.
            initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        )
        self.output_bias = self.add_weight(shape=(self.vocab_size,), initializer="zeros", name="output_bias")

    def call(self, features: tf.Tensor) -> tf.Tensor:
        return self.norm(self.transform(features))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], self.hidden_dim)

    def logits(self, hidden: tf.Tensor) -> tf.Tensor:
        """Full subword logits (..., vocab_size) for hidden vectors (..., hidden_dim)."""
        return keras.ops.matmul(hidden, keras.ops.transpose(self.output_embeddings)) + self.output_bias

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"hidden_dim": self.hidden_dim, "vocab_size": self.vocab_size})
        return config


class SampledSoftmaxLoss(keras.losses.Loss):
    """Cross-entropy over subword ids, estimated with a sampled softmax.

    Each target is scored against `num_sampled` subwords drawn from a
    log-uniform (Zipf) distribution over ids. BPE and WordPiece assign ids in
    merge order, which roughly follows frequency, so frequent subwords are
    drawn more often as negatives. The loss is an estimate of the full
    cross-entropy (also in validation); `SubwordAccuracy` is exact.

    Args:
        head: the `SubwordHead` whose output embeddings score the subwords.
        num_sampled: subwords sampled per batch as negatives.
    """

    def __init__(self, head: SubwordHead, num_sampled: int = 256, name: str = "sampled_softmax", **kwargs: Any):
        kwargs.setdefault("reduction", "mean_with_sample_weight")
        super().__init__(name=name, **kwargs)
        if not 0 < num_sampled < head.vocab_size:
            raise ValueError(
                f"num_sampled={num_sampled!r}; sample between 1 and vocab_size - 1 "
                f"({head.vocab_size - 1}) subwords, e.g. 256."
            )
        self.head = head
        self.num_sampled = num_sampled

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        labels = tf.reshape(tf.cast(y_true, tf.int64), [-1, 1])
        hidden = tf.reshape(y_pred, [-1, self.head.hidden_dim])
        losses = tf.nn.sampled_softmax_loss(
            weights=self.head.output_embeddings.value,
            biases=self.head.output_bias.value,
            labels=labels,
            inputs=hidden,
            num_sampled=self.num_sampled,
            num_classes=self.head.vocab_size,
        )
        return tf.reshape(losses, tf.shape(y_true))


class SubwordAccuracy(keras.metrics.SparseCategoricalAccuracy):
    """Exact subword accuracy, from full logits at weighted positions only.

    Args:
        head: the `SubwordHead` whose output embeddings give the logits.
        name: the metric's name.
    """

    def __init__(self, head: SubwordHead, name: str = "accuracy", **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self._head = (head,)  # a tuple, so the metric does not track the head's weights

    def update_state(self, y_true: tf.Tensor, y_pred: tf.Tensor, sample_weight: tf.Tensor | None = None):
        if sample_weight is None:
            sample_weight = tf.ones(tf.shape(y_true), tf.float32)
        sample_weight = tf.cast(tf.broadcast_to(sample_weight, tf.shape(y_true)), tf.float32)
        where = tf.where(sample_weight > 0)
        logits = self._head[0].logits(tf.gather_nd(y_pred, where))
        return super().update_state(
            tf.gather_nd(y_true, where), logits, sample_weight=tf.gather_nd(sample_weight, where)
        )
