"""What a Keras-style `fit(x, y=None, validation_split=...)` call means as cclm data.

`Trainer.fit` takes its data as Keras does: `x` alone (texts, or labelled
data such as `(texts, labels)`, a `datasets.Dataset`, a DataFrame or a
`tf.data.Dataset`), or `x` texts and `y` labels apart. `validation_split`
holds out the last fraction of the examples, before any shuffling, as
Keras does.

Example:
>>> fit_data(["a", "b", "c", "d"], ["x", "y", "x", "y"], labelled=True, validation_split=0.25)
((['a', 'b', 'c'], ['x', 'y', 'x']), (['d'], ['y']))
>>> fit_data(["a", "b"], None, labelled=False)
(['a', 'b'], None)
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from cclm.data.texts import (
    describe,
    is_dataframe,
    is_hf_dataset,
    is_labelled_pair,
    is_tf_dataset,
)
from cclm.errors import NoUsableTextError


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple)) or (hasattr(value, "__len__") and hasattr(value, "__getitem__")
                                                and not isinstance(value, (str, bytes, dict)))


def _split(data: Any, fraction: float) -> tuple[Any, Any]:
    """`data` less its last `fraction` of examples, and that fraction."""
    if is_labelled_pair(data):
        texts, labels = data
        size = len(texts)
    elif is_dataframe(data) or (is_hf_dataset(data) and hasattr(data, "select")) or isinstance(data, (list, tuple)):
        size = len(data)
    else:
        raise ValueError(
            f"validation_split needs data whose length is known (texts and labels as lists, a DataFrame or a "
            f"datasets.Dataset), not {describe(data)}; give validation_data=... instead."
        )
    cut = math.floor(size * (1.0 - fraction))  # as Keras splits arrays
    if cut in (0, size):
        raise ValueError(f"validation_split={fraction} of {size} examples leaves "
                         f"{'nothing to train on' if cut == 0 else 'nothing to validate on'}; choose another fraction.")
    if is_labelled_pair(data):
        return (list(texts[:cut]), list(labels[:cut])), (list(texts[cut:]), list(labels[cut:]))
    if is_dataframe(data):
        return data.iloc[:cut], data.iloc[cut:]
    if is_hf_dataset(data):
        return data.select(range(cut)), data.select(range(cut, size))
    return list(data[:cut]), list(data[cut:])


def fit_data(
    x: Any, y: Any, labelled: bool, validation_data: Any = None, validation_split: float = 0.0,
    task: str = "This model",
) -> tuple[Any, Any]:
    """The training data and validation data of a `fit(x, y, ...)` call.

    Args:
        x: the data, or the texts when `y` holds their labels.
        y: the labels of the texts `x`, or None.
        labelled: whether the task learns from labels.
        validation_data: held-out data as given; with `validation_split`, refused.
        validation_split: the fraction of the examples, from the end, held out.
        task: the task's name, for error messages.

    Raises:
        TypeError: `x`, `y` or `validation_data` is an iterator (a generator),
            which a fit would exhaust in its first reading.
        ValueError: `y` for an unlabelled task or with data that holds its own
            labels; `validation_split` out of [0, 1), with `validation_data`, or on
            data of unknown length.
    """
    for name, value in (("x", x), ("y", y), ("validation_data", validation_data)):
        if isinstance(value, Iterator):
            raise TypeError(f"{name} is {describe(value)}, an iterator, which can be read only once, and a fit reads "
                            "its data more than once: pass a list (list(...)), or a datasets.IterableDataset "
                            "(IterableDataset.from_generator) that reads it afresh each time.")
    if y is not None:
        if not labelled:
            raise ValueError(f"{task} learns from unlabelled text: call fit(texts) without y.")
        if not _is_sequence(x) or is_tf_dataset(x) or is_hf_dataset(x) or is_dataframe(x):
            raise ValueError(f"y is given, but x is {describe(x)}, which holds its own labels (or none): give "
                             "x=texts and y=labels as sequences, or x alone with its text and label columns.")
        if not _is_sequence(y):
            raise TypeError(f"y is {describe(y)}; give one label per text as a list or array.")
        x = (list(x), list(y))
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split={validation_split!r}; give a fraction in [0, 1), e.g. 0.2.")
    if isinstance(validation_data, (list, tuple)) and (
            not validation_data or (is_labelled_pair(validation_data) and not len(validation_data[0]))):
        raise NoUsableTextError("The validation data is empty: give held-out texts (with their labels), or leave "
                                "validation_data out. Nothing was trained.")
    if not validation_split:
        return x, validation_data
    if validation_data is not None:
        raise ValueError("Give validation_data or validation_split, not both.")
    return _split(x, validation_split)
