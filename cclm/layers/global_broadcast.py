"""`GlobalBroadcast`: a whole-text feature added back to every position."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from cclm.layers.residual_conv_block import zero_padding


def masked_max(inputs: Any, mask: Any) -> Any:
    """Max over the length axis of positions where `mask` is True.

    A row with no valid position (an empty text) pools to zeros, not -inf.
    """
    lowest = -1e9  # `initial`: an empty batch (tf.distribute gives one to a worker that ran out) pools to nothing
    if mask is None:
        return ops.max(inputs, axis=1, initial=lowest)
    valid = ops.cast(mask, "bool")[:, :, None]
    pooled = ops.max(ops.where(valid, inputs, ops.cast(lowest, inputs.dtype)), axis=1, initial=lowest)
    any_valid = ops.any(valid, axis=1)
    return ops.where(any_valid, pooled, ops.zeros_like(pooled))


def prefix_mean(inputs: Any, mask: Any) -> Any:
    """At each position, the mean of the valid vectors up to and including it (zeros before the first)."""
    valid = ops.ones_like(inputs[:, :, :1]) if mask is None else ops.cast(mask, inputs.dtype)[:, :, None]
    sums = ops.cumsum(inputs * valid, axis=1)
    return sums / ops.maximum(ops.cumsum(valid, axis=1), 1.0)


@keras.saving.register_keras_serializable(package="cclm")
class GlobalBroadcast(keras.layers.Layer):
    """Pools the sequence (masked max), projects it, and adds it to every position.

    This is the original cclm embedder's "broadcast" feature: each character
    vector also carries a summary of the whole text. Padding never enters the
    pool, and stays zero in the output.

    With `causal`, each position gets a summary of the text up to itself
    (the mean of the vectors so far), so no position sees a later one.

    Args:
        hidden_dim: width of the input and output vectors.
        causal: summarize each position's prefix instead of the whole text.

    Example:
    >>> import numpy as np
    >>> layer = GlobalBroadcast(hidden_dim=4)
    >>> tuple(layer(np.ones((2, 3, 4), "float32")).shape)
    (2, 3, 4)
    """

    def __init__(self, hidden_dim: int, causal: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.causal = causal
        self.supports_masking = True
        self.project = keras.layers.Dense(hidden_dim, activation="gelu", name="project")

    def build(self, input_shape: tuple) -> None:
        self.project.build((input_shape[0], input_shape[-1]))

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if self.causal:
            return zero_padding(inputs + self.project(prefix_mean(inputs, mask)), mask)
        summary = self.project(masked_max(inputs, mask))
        return zero_padding(inputs + summary[:, None, :], mask)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"hidden_dim": self.hidden_dim})
        if self.causal:  # absent when False: configs saved before the option load unchanged
            config["causal"] = True
        return config
