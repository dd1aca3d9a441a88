"""`LeadingIds`: the first positions of an id sequence of any length, as a window of fixed length."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

import cclm.preprocessing.special_ids as special_ids


@keras.saving.register_keras_serializable(package="cclm")
class LeadingIds(keras.layers.Layer):
    """Ids (batch, any length) -> their first `length` positions (batch, length), padded where shorter.

    Lets one model read a text at two reaches: a `TextClassifier` gives its
    n-gram features the whole text (up to `ngram_length` characters) and its
    composition the window it was trained on, cut from the same ids.

    Args:
        length: the positions kept.

    Example:
    >>> import numpy as np
    >>> np.asarray(LeadingIds(3)(np.array([[7, 8, 9, 6, 5]], "int32"))).tolist()
    [[7, 8, 9]]
    >>> np.asarray(LeadingIds(3)(np.array([[7, 8]], "int32"))).tolist()
    [[7, 8, 0]]
    """

    def __init__(self, length: int, **kwargs: Any):
        if not isinstance(length, int) or isinstance(length, bool) or length < 1:
            raise ValueError(f"length={length!r}; use an int >= 1.")
        super().__init__(**kwargs)
        self.length = length

    def call(self, ids: Any) -> Any:
        padded = ops.pad(ids, [[0, 0], [0, self.length]], constant_values=special_ids.PAD_ID)
        return padded[:, : self.length]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.length)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"length": self.length})
        return config
