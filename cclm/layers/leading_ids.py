"""`LeadingIds`: the first positions of an id sequence of any length, as a window of fixed or trimmed length."""

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

    With `multiple`, the window is trimmed to the batch: it ends `margin`
    positions after the batch's last non-padding id, rounded up to a
    multiple of `multiple`, and is at most `length` long. A model whose
    output at a text's positions depends only on the padding the next
    `margin` positions hold (convolutions that read that far ahead, masked
    attention and pooling) then gives every text what it gives at the full
    window, at the cost of the batch's longest text.

    Args:
        length: the positions kept.
        multiple: trim to the batch, to a multiple of this (e.g. the
            towers' downsampling factor); None: always `length` positions.
        margin: padding positions kept after the batch's longest text when trimming.

    Example:
    >>> import numpy as np
    >>> np.asarray(LeadingIds(3)(np.array([[7, 8, 9, 6, 5]], "int32"))).tolist()
    [[7, 8, 9]]
    >>> np.asarray(LeadingIds(3)(np.array([[7, 8]], "int32"))).tolist()
    [[7, 8, 0]]
    >>> np.asarray(LeadingIds(16, multiple=4, margin=2)(np.array([[7, 8, 9, 0, 0, 0, 0, 0, 0, 0]], "int32"))).tolist()
    [[7, 8, 9, 0, 0, 0, 0, 0]]
    """

    def __init__(self, length: int, multiple: int | None = None, margin: int = 0, **kwargs: Any):
        if not isinstance(length, int) or isinstance(length, bool) or length < 1:
            raise ValueError(f"length={length!r}; use an int >= 1.")
        if multiple is not None and (not isinstance(multiple, int) or isinstance(multiple, bool) or multiple < 1):
            raise ValueError(f"multiple={multiple!r}; use an int >= 1, or None for windows of `length` always.")
        if not isinstance(margin, int) or isinstance(margin, bool) or margin < 0:
            raise ValueError(f"margin={margin!r}; use an int >= 0.")
        super().__init__(**kwargs)
        self.length = length
        self.multiple = multiple
        self.margin = margin

    def call(self, ids: Any) -> Any:
        if self.multiple is None:
            kept = self.length
        else:
            positions = ops.arange(1, ops.shape(ids)[1] + 1, dtype="int32")
            used = ops.max(ops.where(ops.any(ids != special_ids.PAD_ID, axis=0), positions, 0), initial=0)
            kept = ops.minimum((used + self.margin + self.multiple - 1) // self.multiple * self.multiple, self.length)
            kept = ops.maximum(kept, min(self.multiple, self.length))  # an empty batch still has a position
        missing = ops.maximum(kept - ops.shape(ids)[1], 0)
        padded = ops.pad(ids, [[0, 0], [0, missing]], constant_values=special_ids.PAD_ID)
        return padded[:, :kept]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.length if self.multiple is None else None)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"length": self.length, "multiple": self.multiple, "margin": self.margin})
        return config
