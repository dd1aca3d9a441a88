"""`PositionEmbedding`: a learned vector per position, added to the input."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="cclm")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned position vector to each step of a (batch, length, dim) input.

    Keeps the Keras mask of its input, so padding stays marked downstream.

    Args:
        max_length: the longest sequence the layer accepts.
        initializer: initializer of the position table.

    Example:
    >>> import numpy as np
    >>> layer = PositionEmbedding(max_length=16)
    >>> tuple(layer(np.zeros((2, 8, 4), "float32")).shape)
    (2, 8, 4)
    """

    def __init__(self, max_length: int, initializer: str = "glorot_uniform", **kwargs: Any):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.initializer = initializer
        self.supports_masking = True

    def build(self, input_shape: tuple) -> None:
        self.positions = self.add_weight(
            name="positions",
            shape=(self.max_length, input_shape[-1]),
            initializer=self.initializer,
        )

    def call(self, inputs: Any) -> Any:
        length = inputs.shape[1]
        if length is not None and length > self.max_length:
            raise ValueError(
                f"Sequences of length {length} exceed max_length={self.max_length}; "
                "encode shorter sequences or build the model with a larger max_length."
            )
        length = ops.shape(inputs)[1]
        return inputs + ops.cast(self.positions[:length], inputs.dtype)[None, :, :]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"max_length": self.max_length, "initializer": self.initializer})
        return config
