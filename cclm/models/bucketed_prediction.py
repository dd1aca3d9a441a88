"""Running a Keras model on ids in length-sorted batches, through one compiled function per model.

`predict`, `evaluate` and the closed-form head's feature pass of a
`LabelPredictor` go through here. Texts are sorted by their length in ids
and cut into batches of neighbours, so a short text is batched with short
ones and each batch is as long as its own longest text (`batch_length`
decides how long exactly); outputs come back in the texts' order.
`CompiledModel` traces the model once, for ids of any batch size and
length (a `(None, None)` signature), and calls that concrete function
directly: repeated calls on new shapes never retrace.

Example:
>>> import keras
>>> ids = keras.Input(shape=(None,), dtype="int32")
>>> model = keras.Model(ids, keras.ops.sum(ids, axis=1))
>>> batch = np.array([[3, 0, 0, 0], [1, 2, 3, 4], [5, 0, 0, 0]], "int32")
>>> used_lengths(batch).tolist()
[1, 4, 1]
>>> run_bucketed(CompiledModel(model), batch, batch_size=2).tolist()
[3, 10, 5]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from cclm.components.serving import in_sorted_batches
from cclm.preprocessing import special_ids


def used_lengths(ids: np.ndarray) -> np.ndarray:
    """Each row's length up to and including its last non-padding id (0 for a row of padding)."""
    real = np.asarray(ids) != special_ids.PAD_ID
    if real.shape[1] == 0:
        return np.zeros(len(real), np.int64)
    return np.where(real.any(axis=1), real.shape[1] - np.argmax(real[:, ::-1], axis=1), 0)


class CompiledModel:
    """`model` on (batch, length) int32 ids, traced once for every shape; calls return NumPy arrays.

    Args:
        model: a Keras model whose one input is int32 ids of any batch size and length.
    """

    def __init__(self, model: keras.Model):
        self.model = model
        function = tf.function(lambda ids: model(ids, training=False), autograph=False)
        self._function = function.get_concrete_function(tf.TensorSpec((None, None), tf.int32, name="ids"))

    def __call__(self, ids: np.ndarray) -> Any:
        outputs = self._function(tf.constant(ids, tf.int32))
        return tf.nest.map_structure(lambda tensor: tensor.numpy(), outputs)


class CompiledBatches:
    """`model` on (texts, length) int32 ids in length-sorted batches inside one traced graph (`in_sorted_batches`).

    The batches run in a graph loop, side by side on the cores, each cut
    after its longest text (rounded up to `trim_to`): for a model whose
    outputs do not depend on the padding that follows a text. Traced once
    for every shape; calls return a NumPy array, rows in the ids' order.
    """

    def __init__(self, model: keras.Model, batch_size: int, trim_to: int):
        self.model = model
        function = tf.function(lambda ids: in_sorted_batches(model, ids, batch_size, trim_to), autograph=False)
        self._function = function.get_concrete_function(tf.TensorSpec((None, None), tf.int32, name="ids"))

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        return self._function(tf.constant(ids, tf.int32)).numpy()


def run_bucketed(
    function: Callable[[np.ndarray], np.ndarray], ids: np.ndarray, batch_size: int,
    batch_length: Callable[[int, int], int] | None = None, verbose: str | int = 0,
) -> np.ndarray:
    """`function`'s output for every row of `ids`, in the rows' order, from length-sorted batches.

    Args:
        function: (batch, length) ids -> (batch, ...) array, e.g. a `CompiledModel`.
        ids: (texts, width) ids.
        batch_size: rows per call.
        batch_length: `(longest used length in the batch, width) -> length`
            of the ids the batch is given; default: `width` (whole rows).
        verbose: a progress bar unless 0.
    """
    ids = np.asarray(ids, np.int32)
    lengths = used_lengths(ids)
    order = np.argsort(lengths, kind="stable")
    progress = keras.utils.Progbar(len(ids)) if verbose != 0 else None
    outputs = None
    for start in range(0, len(ids), batch_size):
        rows = order[start:start + batch_size]
        width = ids.shape[1] if batch_length is None else batch_length(int(lengths[rows[-1]]), ids.shape[1])
        result = np.asarray(function(ids[rows, :width]))
        if outputs is None:
            outputs = np.empty((len(ids), *result.shape[1:]), result.dtype)
        outputs[rows] = result
        if progress is not None:
            progress.add(len(rows))
    if outputs is None:
        raise ValueError("No ids to run the model on; give at least one row.")
    return outputs
