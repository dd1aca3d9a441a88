"""`ShiftedViews`: each id sequence several times, shifted right by 0, 1, 2, ... positions."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


def check_views(views: Any) -> None:
    """Raises a `ValueError` naming `views` unless it is an int >= 1 (a bool is not)."""
    if not isinstance(views, int) or isinstance(views, bool) or views < 1:
        raise ValueError(f"views={views!r}; use an int >= 1 (1 reads each text once).")


@keras.saving.register_keras_serializable(package="cclm")
class ShiftedViews(keras.layers.Layer):
    """Stacks `views` copies of a batch of ids, copy k shifted right by k `fill_id`s.

    (batch, length) -> (views * batch, length), view-major: the whole batch
    unshifted, then the whole batch shifted by one, and so on. Each copy is
    cut back to `length`, so a text that fills the window loses its last k
    characters and a shorter one loses only padding. The first `keep_first`
    positions (a cls id) stay in front of the fill.

    A tower that downsamples by 4 reads a text shifted by 1, 2 or 3
    positions through different stride windows; pooled features averaged
    over the shifts (`cclm.pretraining.categorical_pretrainer.LabelHead(views=...)`)
    are an ensemble of those readings. `TextClassifier(views=...)` puts the
    two together, with leading spaces as the fill.

    Args:
        views: the number of copies (1 returns the ids unchanged).
        fill_id: the id inserted in front of each shifted copy.
        keep_first: leading positions kept in place (1 with a cls id).

    Example:
    >>> import numpy as np
    >>> ids = np.array([[7, 8, 9, 0], [7, 8, 9, 6]], "int32")
    >>> np.asarray(ShiftedViews(views=3, fill_id=5)(ids)).tolist()
    [[7, 8, 9, 0], [7, 8, 9, 6], [5, 7, 8, 9], [5, 7, 8, 9], [5, 5, 7, 8], [5, 5, 7, 8]]
    """

    def __init__(self, views: int, fill_id: int, keep_first: int = 0, **kwargs: Any):
        check_views(views)
        if not isinstance(keep_first, int) or keep_first < 0:
            raise ValueError(f"keep_first={keep_first!r}; use an int >= 0.")
        super().__init__(**kwargs)
        self.views = views
        self.fill_id = int(fill_id)
        self.keep_first = keep_first

    def call(self, ids: Any) -> Any:
        if self.views == 1:
            return ids
        batch, length = ops.shape(ids)[0], ops.shape(ids)[1]
        kept, text = ids[:, : self.keep_first], ids[:, self.keep_first :]
        copies = [ids]
        for shift in range(1, self.views):
            fill = ops.full((batch, shift), self.fill_id, dtype=ids.dtype)
            copies.append(ops.concatenate([kept, fill, text], axis=1)[:, :length])
        return ops.concatenate(copies, axis=0)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        batch = None if input_shape[0] is None else input_shape[0] * self.views
        return (batch, input_shape[1])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"views": self.views, "fill_id": self.fill_id, "keep_first": self.keep_first})
        return config


@keras.saving.register_keras_serializable(package="cclm")
class ViewAverage(keras.layers.Layer):
    """The mean over `views` readings of each text: (views * texts, dim) -> (texts, dim).

    The inverse of `ShiftedViews`' stacking, for pooled features: rows are
    view-major, so row `k * texts + i` is view k of text i.

    Args:
        views: the number of readings stacked in the input.

    Example:
    >>> import numpy as np
    >>> ViewAverage(2)(np.array([[1.0], [2.0], [3.0], [6.0]], "float32")).numpy().ravel().tolist()
    [2.0, 4.0]
    """

    def __init__(self, views: int, **kwargs: Any):
        check_views(views)
        super().__init__(**kwargs)
        self.views = views

    def call(self, pooled: Any) -> Any:
        if self.views == 1:
            return pooled
        return ops.mean(ops.reshape(pooled, (self.views, -1, ops.shape(pooled)[-1])), axis=0)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        texts = None if input_shape[0] is None else input_shape[0] // self.views
        return (texts, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"views": self.views})
        return config
