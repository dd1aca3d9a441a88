"""`SequencePooling`: one vector per text from one vector per character, padding masked."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from cclm.layers.global_broadcast import masked_max

POOLINGS = ("max", "mean", "cls")


@keras.saving.register_keras_serializable(package="cclm")
class SequencePooling(keras.layers.Layer):
    """Pools (batch, length, dim) to (batch, dim), never looking at padding.

    Args:
        pooling: `"max"` (masked max), `"mean"` (masked mean) or `"cls"` (the
            first position; meant for a preprocessor with `add_cls=True`).
            A text with no characters pools to zeros.

    Example:
    >>> import numpy as np
    >>> vectors = np.array([[[1.0], [3.0], [100.0]]], "float32")
    >>> mask = np.array([[True, True, False]])
    >>> [float(SequencePooling(p)(vectors, mask=mask)[0, 0]) for p in ("max", "mean", "cls")]
    [3.0, 2.0, 1.0]
    """

    def __init__(self, pooling: str = "max", **kwargs: Any):
        if pooling not in POOLINGS:
            raise ValueError(f"pooling={pooling!r}; use one of {POOLINGS}.")
        super().__init__(**kwargs)
        self.pooling = pooling
        self.supports_masking = True

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if self.pooling == "cls":
            return inputs[:, 0, :]
        if self.pooling == "max":
            return masked_max(inputs, mask)
        if mask is None:
            return ops.mean(inputs, axis=1)
        weights = ops.cast(mask, inputs.dtype)[:, :, None]
        total = ops.sum(inputs * weights, axis=1)
        return total / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None  # one vector per text: nothing left to mask

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"pooling": self.pooling})
        return config
