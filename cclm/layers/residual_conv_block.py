"""`ResidualConvBlock`: a padding-aware 1-D convolution with a residual connection."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


def zero_padding(inputs: Any, mask: Any) -> Any:
    """Sets the vectors of padding positions (mask False) to zero."""
    if mask is None:
        return inputs
    return inputs * ops.cast(mask, inputs.dtype)[:, :, None]


@keras.saving.register_keras_serializable(package="cclm")
class ResidualConvBlock(keras.layers.Layer):
    """x + Dropout(Conv1D(GELU(Conv1D(LayerNorm(x))))), padding kept at zero.

    Padding positions are zeroed before each convolution, so a text's vectors
    do not depend on how much padding follows it.

    Args:
        hidden_dim: channels in and out.
        kernel_size: the convolution width, in characters.
        dropout: dropout rate after the convolutions.
        causal: pad on the left only, so a position sees itself and the
            characters before it, never those after (for next-character models).

    Example:
    >>> import numpy as np
    >>> block = ResidualConvBlock(hidden_dim=8, kernel_size=3)
    >>> tuple(block(np.ones((2, 5, 8), "float32")).shape)
    (2, 5, 8)
    """

    def __init__(
        self, hidden_dim: int, kernel_size: int = 5, dropout: float = 0.0, causal: bool = False, **kwargs: Any
    ):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.kernel_size = kernel_size
        self.dropout = dropout
        self.causal = causal
        padding = "causal" if causal else "same"
        self.supports_masking = True
        self.norm = keras.layers.LayerNormalization(epsilon=1e-6, name="norm")
        self.conv_in = keras.layers.Conv1D(
            hidden_dim, kernel_size, padding=padding, activation="gelu", name="conv_in"
        )
        self.conv_out = keras.layers.Conv1D(hidden_dim, kernel_size, padding=padding, name="conv_out")
        self.drop = keras.layers.Dropout(dropout)

    def build(self, input_shape: tuple) -> None:
        self.norm.build(input_shape)
        self.conv_in.build(input_shape)
        self.conv_out.build(tuple(input_shape[:-1]) + (self.hidden_dim,))

    def call(self, inputs: Any, mask: Any = None, training: bool | None = None) -> Any:
        hidden = zero_padding(self.norm(inputs), mask)
        hidden = zero_padding(self.conv_in(hidden), mask)
        hidden = self.drop(self.conv_out(hidden), training=training)
        return zero_padding(inputs + hidden, mask)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {"hidden_dim": self.hidden_dim, "kernel_size": self.kernel_size, "dropout": self.dropout}
        )
        if self.causal:  # absent when False: configs saved before the option load unchanged
            config["causal"] = True
        return config
