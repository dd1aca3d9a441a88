"""`DownsamplingTransformer`: a CANINE-style tower body over character vectors."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from cclm.layers.position_embedding import PositionEmbedding
from cclm.layers.residual_conv_block import zero_padding
from cclm.layers.transformer_block import TransformerBlock


@keras.saving.register_keras_serializable(package="cclm")
class DownsamplingTransformer(keras.layers.Layer):
    """Characters in, characters out, with attention at a reduced rate.

    As in CANINE: a local convolution over the characters; a strided
    convolution that downsamples by `downsample_factor`; learned position
    embeddings; transformer blocks over the shorter sequence (attention cost
    falls by `downsample_factor` squared); upsampling by repetition; and a
    final convolution over the upsampled features concatenated with the local
    ones, so every output vector is aligned with its character.

    The length must be a multiple of `downsample_factor` (the preprocessor
    pads to one). A downsampled position is padding only if all the
    characters it covers are. Output padding is zero and keeps the Keras mask.

    Args:
        hidden_dim: width inside the tower.
        output_dim: width of the output vectors (default: `hidden_dim`).
        num_layers: transformer blocks.
        num_heads: attention heads.
        intermediate_dim: feed-forward width (default: 4 x `hidden_dim`).
        downsample_factor: characters per downsampled position.
        kernel_size: width of the local and final convolutions.
        max_length: the longest character sequence accepted.
        dropout: dropout rate.
        causal: no output sees a later character, for next-character models:
            convolutions pad on the left, attention is causal, and the
            characters are shifted right by `downsample_factor - 1` before
            downsampling (as in the Hourglass transformer), so the reduced
            position a character reads covers only it and those before it.

    Example:
    >>> import numpy as np
    >>> layer = DownsamplingTransformer(hidden_dim=16, num_layers=1, num_heads=2, downsample_factor=4)
    >>> tuple(layer(np.ones((2, 12, 8), "float32")).shape)
    (2, 12, 16)
    """

    def __init__(
        self,
        hidden_dim: int = 256,
        output_dim: int | None = None,
        num_layers: int = 4,
        num_heads: int = 4,
        intermediate_dim: int | None = None,
        downsample_factor: int = 4,
        kernel_size: int = 4,
        max_length: int = 2048,
        dropout: float = 0.1,
        causal: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if max_length % downsample_factor:
            raise ValueError(
                f"max_length={max_length} is not a multiple of downsample_factor={downsample_factor}."
            )
        self.hidden_dim = hidden_dim
        self.output_dim = output_dim or hidden_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim or 4 * hidden_dim
        self.downsample_factor = downsample_factor
        self.kernel_size = kernel_size
        self.max_length = max_length
        self.dropout = dropout
        self.causal = causal
        self.supports_masking = True
        padding = "causal" if causal else "same"
        self.local = keras.layers.Conv1D(hidden_dim, kernel_size, padding=padding, activation="gelu", name="local")
        self.downsample = keras.layers.Conv1D(
            hidden_dim, downsample_factor, strides=downsample_factor, name="downsample"
        )
        self.positions = PositionEmbedding(max_length // downsample_factor, name="positions")
        self.blocks = [
            TransformerBlock(hidden_dim, num_heads, self.intermediate_dim, dropout, causal, name=f"block_{i}")
            for i in range(num_layers)
        ]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")
        self.combine = keras.layers.Conv1D(self.output_dim, kernel_size, padding=padding, name="combine")

    def build(self, input_shape: tuple) -> None:
        batch = input_shape[0]
        reduced = (batch, None, self.hidden_dim)
        self.local.build(input_shape)
        self.downsample.build((batch, None, self.hidden_dim))
        self.positions.build(reduced)
        for block in self.blocks:
            block.build(reduced)
        self.final_norm.build(reduced)
        self.combine.build((batch, None, 2 * self.hidden_dim))

    def _check_length(self, length: int | None) -> None:
        if length is None:
            return
        if length % self.downsample_factor:
            raise ValueError(
                f"Sequence length {length} is not a multiple of downsample_factor="
                f"{self.downsample_factor}; create the Preprocessor with "
                f"downsample_factor={self.downsample_factor} so it pads to one."
            )
        if length > self.max_length:
            raise ValueError(f"Sequence length {length} exceeds max_length={self.max_length}.")

    def call(self, inputs: Any, mask: Any = None, training: bool | None = None) -> Any:
        self._check_length(inputs.shape[1])
        # tf.distribute hands a worker an empty batch when its shard runs out before the others'; TensorFlow's
        # convolutions return an empty batch at their input's width, so it skips them.
        return ops.cond(
            ops.shape(inputs)[0] > 0,
            lambda: self._transform(inputs, mask, training),
            lambda: ops.zeros((0, ops.shape(inputs)[1], self.output_dim), self.compute_dtype),
        )

    def _transform(self, inputs: Any, mask: Any, training: bool | None) -> Any:
        factor = self.downsample_factor
        local = zero_padding(self.local(zero_padding(inputs, mask)), mask)
        shifted = local
        if self.causal and factor > 1:  # reduced position j then covers characters j*factor-factor+1 .. j*factor
            shifted = ops.pad(local, [[0, 0], [factor - 1, 0], [0, 0]])[:, : ops.shape(local)[1]]
        reduced = self.downsample(shifted)
        reduced_mask = None
        if mask is not None:
            blocks = ops.reshape(ops.cast(mask, "bool"), (ops.shape(mask)[0], -1, factor))
            reduced_mask = ops.any(blocks, axis=-1)
        reduced = zero_padding(self.positions(reduced), reduced_mask)
        for block in self.blocks:
            reduced = block(reduced, mask=reduced_mask, training=training)
        reduced = self.final_norm(reduced)
        upsampled = ops.repeat(reduced, factor, axis=1)
        combined = self.combine(ops.concatenate([local, upsampled], axis=-1))
        return zero_padding(combined, mask)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape[:-1]) + (self.output_dim,)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "hidden_dim": self.hidden_dim,
                "output_dim": self.output_dim,
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "downsample_factor": self.downsample_factor,
                "kernel_size": self.kernel_size,
                "max_length": self.max_length,
                "dropout": self.dropout,
            }
        )
        if self.causal:  # absent when False: configs saved before the option load unchanged
            config["causal"] = True
        return config
