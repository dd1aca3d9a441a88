"""`TransformerBlock`: pre-norm self-attention and feed-forward, padding-aware."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from cclm.layers.residual_conv_block import zero_padding


@keras.saving.register_keras_serializable(package="cclm")
class TransformerBlock(keras.layers.Layer):
    """x + Attention(LayerNorm(x)), then x + FeedForward(LayerNorm(x)).

    Padding positions (Keras mask False) are never attended to and come out
    as zeros.

    Args:
        hidden_dim: width of the input and output vectors.
        num_heads: attention heads; `hidden_dim` must divide by it.
        intermediate_dim: width of the feed-forward layer.
        dropout: dropout rate on attention weights and residual branches.
        causal: a position attends only to itself and the positions before it.

    Example:
    >>> import numpy as np
    >>> block = TransformerBlock(hidden_dim=8, num_heads=2, intermediate_dim=16)
    >>> tuple(block(np.ones((2, 5, 8), "float32")).shape)
    (2, 5, 8)
    """

    def __init__(
        self, hidden_dim: int, num_heads: int, intermediate_dim: int, dropout: float = 0.0, causal: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim={hidden_dim} does not divide into num_heads={num_heads}.")
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.causal = causal
        self.supports_masking = True
        self.attention_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="attention_norm")
        self.attention = keras.layers.MultiHeadAttention(
            num_heads, hidden_dim // num_heads, dropout=dropout, name="attention"
        )
        self.feedforward_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="feedforward_norm")
        self.feedforward_in = keras.layers.Dense(intermediate_dim, activation="gelu", name="feedforward_in")
        self.feedforward_out = keras.layers.Dense(hidden_dim, name="feedforward_out")
        self.residual_dropout = keras.layers.Dropout(dropout)

    def build(self, input_shape: tuple) -> None:
        self.attention_norm.build(input_shape)
        self.attention.build(input_shape, input_shape)
        self.feedforward_norm.build(input_shape)
        self.feedforward_in.build(input_shape)
        self.feedforward_out.build(tuple(input_shape[:-1]) + (self.intermediate_dim,))

    def call(self, inputs: Any, mask: Any = None, training: bool | None = None) -> Any:
        attention_mask = None if mask is None else ops.cast(mask, "bool")[:, None, :]
        hidden = self.attention_norm(inputs)
        hidden = self.attention(
            hidden, hidden, attention_mask=attention_mask, training=training, use_causal_mask=self.causal
        )
        inputs = inputs + self.residual_dropout(hidden, training=training)
        hidden = self.feedforward_out(self.feedforward_in(self.feedforward_norm(inputs)))
        return zero_padding(inputs + self.residual_dropout(hidden, training=training), mask)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "hidden_dim": self.hidden_dim,
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
            }
        )
        if self.causal:  # absent when False: configs saved before the option load unchanged
            config["causal"] = True
        return config
