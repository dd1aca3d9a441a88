"""Where text comes from: lists of strings, Hugging Face datasets, pandas DataFrames, or text files.

Every component that reads text (`Preprocessor.fit`, pretrainers' `fit`) goes
through `iter_texts`, so they all accept the same kinds of data and reject bad
items with the same messages. Strings are always texts; files are given as
`pathlib.Path` (or any `os.PathLike`), so a text that happens to look like a
path is never read from disk by surprise. A `datasets` label column of
`ClassLabel` type gives its label names, not their integer codes; a
`DatasetDict` is refused with the names of its splits.

Example:
>>> from pathlib import Path
>>> list(iter_texts(["a text", "another"]))
['a text', 'another']
>>> _ = Path("/tmp/cclm-doc.txt").write_text("line one\\nline two\\n")
>>> list(iter_texts(Path("/tmp/cclm-doc.txt")))
['line one', 'line two']
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Union

TextData = Union[Sequence[str], "os.PathLike[str]", Sequence["os.PathLike[str]"], Any]
"""`list[str]`, `datasets.Dataset`, `datasets.IterableDataset`, `pandas.DataFrame`, or text file path(s)."""

LabelledData = tuple[Sequence[str], Sequence[Any]] | Any
"""`(texts, labels)`, or a `datasets.Dataset` / `IterableDataset` / `pandas.DataFrame` with a text and a label column."""

_DATASET_BATCH = 1000


def describe(value: Any, limit: int = 40) -> str:
    """A short, safe description of a bad value for error messages."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(value).__name__} {text}"


def check_text(value: Any, where: str) -> str:
    """Returns `value` if it is a `str`; raises a `TypeError` naming `where` otherwise."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        fix = "decode it first, e.g. value.decode('utf-8')"
    elif value is None:
        fix = "drop it or replace it with '' (empty strings are valid)"
    elif isinstance(value, (list, tuple)):
        fix = "pass a flat list of strings, one text per item"
    else:
        fix = "convert it with str() if it is meant as text"
    raise TypeError(f"{where} is {describe(value)}, expected str: {fix}.")


def check_batch(texts: Any) -> list[str]:
    """Validates a batch for encoding: a list/tuple (or 1-D array) of `str`.

    Raises:
        TypeError: naming the first bad item and its index.
    """
    if isinstance(texts, str):
        raise TypeError(
            "texts is a single str; pass a list of texts, e.g. encode([text])."
        )
    if hasattr(texts, "tolist") and getattr(texts, "ndim", 1) == 1:
        texts = texts.tolist()  # numpy arrays of str
    if not isinstance(texts, (list, tuple)):
        raise TypeError(
            f"texts is {describe(texts)}, expected a list of str."
        )
    for index, value in enumerate(texts):
        if type(value) is not str:  # fast path for the common case is the check itself
            check_text(value, f"texts[{index}]")
    return list(texts)


def is_hf_dataset(data: Any) -> bool:
    """Whether `data` is a `datasets.Dataset` or `IterableDataset`."""
    # Only look for `datasets` classes if the user already imported the library:
    # an object cannot be a Dataset otherwise, and importing it costs seconds.
    if "datasets" not in sys.modules:
        return False
    import datasets

    return isinstance(data, (datasets.Dataset, datasets.IterableDataset))


def is_dataframe(data: Any) -> bool:
    """Whether `data` is a `pandas.DataFrame` (pandas is never imported here)."""
    return "pandas" in sys.modules and isinstance(data, sys.modules["pandas"].DataFrame)


def is_tf_dataset(data: Any) -> bool:
    """Whether `data` is a `tf.data.Dataset`."""
    return "tensorflow" in sys.modules and isinstance(data, sys.modules["tensorflow"].data.Dataset)


def _tf_rows(data: Any, text_column: str, label_column: str, labelled: bool) -> Iterator[tuple[Any, Any]]:
    """`(text, label)` rows of a `tf.data.Dataset` of strings, `(text, label)` pairs or dicts; batched ones are unbatched.

    Labels are None when the elements have none; byte strings are decoded as UTF-8.
    """
    spec = data.element_spec
    if isinstance(spec, dict):
        _check_columns(list(spec), (text_column, label_column) if labelled else (text_column,), "tf.data.Dataset")
        text_spec, label_spec, pick = spec[text_column], spec.get(label_column), lambda e: (e[text_column], e.get(label_column))
    elif isinstance(spec, tuple) and len(spec) == 3:
        raise TypeError("The tf.data.Dataset gives (text, label, sample_weight) elements; cclm does not read "
                        "sample weights. Map it to (text, label) pairs, and weigh labels with class_weight=.")
    elif isinstance(spec, tuple) and len(spec) == 2:  # (text, label)
        text_spec, label_spec, pick = spec[0], spec[1], lambda e: (e[0], e[1])
    else:
        text_spec, label_spec, pick = spec, None, lambda e: (e, None)
    if getattr(text_spec, "dtype", None) != sys.modules["tensorflow"].string:
        raise TypeError(f"The tf.data.Dataset's texts are {text_spec}; cclm reads tf.string texts: "
                        "map the dataset to strings, (text, label) pairs or dicts with a text column.")
    if labelled and label_spec is None:
        raise TypeError("The tf.data.Dataset has texts but no labels; give it (text, label) elements, "
                        f"or dicts with {text_column!r} and {label_column!r}.")
    if text_spec.shape.rank is None:
        raise TypeError(f"The tf.data.Dataset's texts are {text_spec}, of unknown rank; give them a shape: "
                        "output_signature=tf.TensorSpec((), tf.string) for one text per element.")
    if text_spec.shape.rank:  # batched: one text per row
        data = data.unbatch()
    for element in data.as_numpy_iterator():
        text, label = pick(element)
        if isinstance(label, bytes):
            label = label.decode("utf-8", errors="replace")
        yield (text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text), label


def _refuse_dataset_dict(data: Any) -> None:
    """Raises TypeError for a `DatasetDict` / `IterableDatasetDict`, naming its splits."""
    if "datasets" not in sys.modules:
        return
    import datasets

    if isinstance(data, (datasets.DatasetDict, datasets.IterableDatasetDict)):
        splits = list(data)
        raise TypeError(f"data is a {type(data).__name__} with the splits {splits}; choose a split, "
                        f"e.g. data[{(splits or ['train'])[0]!r}].")


def _check_columns(columns: Any, wanted: Sequence[str], kind: str) -> None:
    missing = [c for c in wanted if columns is not None and c not in columns]
    if missing:
        fix = ("text_column=<name of the column holding the text>" if len(wanted) == 1 else
               "text_column=... and label_column=... naming the text and the label columns")
        raise ValueError(f"The {kind} has no column {missing[0]!r}; its columns are {list(columns)}. Pass {fix}.")


def class_label_names(data: Any, label_column: str) -> list[str] | None:
    """The names of a `datasets.ClassLabel` label column, in its order, else None."""
    if not is_hf_dataset(data):
        return None
    import datasets

    feature = (getattr(data, "features", None) or {}).get(label_column)
    return list(feature.names) if isinstance(feature, datasets.ClassLabel) else None


def labels_of(data: Any, text_column: str = "text", label_column: str = "label") -> list[int | str]:
    """Every label of labelled data, in a model's output order: a `ClassLabel` column's names as it orders
    them (so `int2str` of an output index names its label), else the distinct labels found, sorted.

    Example:
    >>> labels_of((["a", "b", "c"], ["yes", "no", "yes"]))
    ['no', 'yes']
    """
    names = class_label_names(data, label_column)
    if names is not None:
        return names
    found = {label for _, label in iter_labelled(data, text_column, label_column)}
    if len({type(label) for label in found}) > 1:
        shown = sorted(found, key=str)[:6]
        raise ValueError(f"The labels mix ints and strings ({shown}); use one kind, e.g. str() of every label.")
    return sorted(found)


def _plain(data: Any) -> Any:
    """`data` read as Python values whatever its format (`with_format("tf")`, "arrow", ...)."""
    return data.with_format(None)  # a view: nothing is copied


def _iter_dataset(data: Any, text_column: str) -> Iterator[str]:
    _check_columns(data.column_names, (text_column,), "dataset")
    row = 0
    for batch in _plain(data.select_columns([text_column])).iter(batch_size=_DATASET_BATCH):
        if text_column not in batch:
            raise ValueError(
                f"The dataset yielded no column {text_column!r} (got {sorted(batch)}). "
                "Pass text_column=<name of the column holding the text>."
            )
        for value in batch[text_column]:
            yield check_text(value, f"row {row} of column {text_column!r}")
            row += 1


def check_label(value: Any, where: str) -> int | str:
    """Returns `value` as a plain int or str label; raises a `TypeError` naming `where` otherwise."""
    if isinstance(value, str):
        return value
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()  # NumPy scalars
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if value is None or isinstance(value, float):  # pandas reads a column of ints with an empty cell as floats
        missing = ("a missing label: drop that row" if value is None or math.isnan(value) else
                   "drop the rows without a label, or int() it")
        raise TypeError(f"{where} is {describe(value)}, {missing}; a label is an int or a str.")
    raise TypeError(f"{where} is {describe(value)}; a label is an int or a str.")


def is_labelled_pair(data: Any) -> bool:
    """Whether `data` is `(texts, labels)`: a tuple of two sequences."""
    return isinstance(data, tuple) and len(data) == 2 and not isinstance(data[0], str)


def texts_of(data: LabelledData) -> TextData:
    """The texts of labelled data, in a form `iter_texts` reads (for fitting a preprocessor)."""
    return list(data[0]) if is_labelled_pair(data) else data


def iter_labelled(
    data: LabelledData, text_column: str = "text", label_column: str = "label"
) -> Iterator[tuple[str, int | str]]:
    """Yields `(text, label)` pairs from labelled data, one at a time.

    Args:
        data: `(texts, labels)`, two sequences of the same length; a
            `datasets.Dataset` / `IterableDataset` or `pandas.DataFrame` with
            `text_column` and `label_column` (a `ClassLabel` column gives
            its names); or a `tf.data.Dataset` of `(text, label)` pairs or
            dicts with those columns (batched or not).

    Raises:
        TypeError: for other kinds of data, or a text / label of the wrong type.
        ValueError: for sequences of different lengths or missing columns.

    Example:
    >>> list(iter_labelled((["good", "bad"], [1, 0])))
    [('good', 1), ('bad', 0)]
    """
    if is_labelled_pair(data):
        texts, labels = data
        if len(texts) != len(labels):
            raise ValueError(f"data has {len(texts)} texts but {len(labels)} labels; give one label per text.")
        for index, (text, label) in enumerate(zip(texts, labels)):
            yield check_text(text, f"texts[{index}]"), check_label(label, f"labels[{index}]")
        return
    _refuse_dataset_dict(data)
    if is_tf_dataset(data):
        for row, (text, label) in enumerate(_tf_rows(data, text_column, label_column, labelled=True)):
            yield check_text(text, f"element {row} of the tf.data.Dataset"), check_label(label, f"the label of element {row}")
        return
    if is_hf_dataset(data) or is_dataframe(data):
        dataset = is_hf_dataset(data)
        _check_columns(data.column_names if dataset else data.columns, (text_column, label_column),
                       "dataset" if dataset else "DataFrame")
        names = class_label_names(data, label_column) if dataset else None
        batches = (_plain(data.select_columns([text_column, label_column])).iter(batch_size=_DATASET_BATCH) if dataset
                   else [{text_column: data[text_column], label_column: data[label_column]}])
        row = 0
        for batch in batches:
            for text, label in zip(batch[text_column], batch[label_column]):
                label = check_label(label, f"row {row} of column {label_column!r}")
                if names is not None:
                    if not 0 <= label < len(names):
                        raise ValueError(f"row {row} of column {label_column!r} is {label}, not one of the "
                                         f"{len(names)} ClassLabel names (-1 marks a missing label); drop it.")
                    label = names[label]
                yield check_text(text, f"row {row} of column {text_column!r}"), label
                row += 1
        return
    raise TypeError(
        f"labelled data is {describe(data)}; pass (texts, labels), a datasets.Dataset / "
        "IterableDataset, a pandas.DataFrame with a text and a label column, or a tf.data.Dataset of pairs."
    )


def _iter_file(path: os.PathLike) -> Iterator[str]:
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"Text file {os.fspath(path)!r} does not exist or is not a file."
        )
    # Undecodable bytes become U+FFFD, which every component maps to the unknown id; a leading BOM is dropped.
    with open(path, encoding="utf-8-sig", errors="replace", newline=None) as handle:
        for line in handle:
            yield line.rstrip("\n")


def iter_texts(data: TextData, text_column: str = "text") -> Iterator[str]:
    """Yields the texts in `data` one at a time, never holding them all.

    Args:
        data: a list or tuple of `str`; a `datasets.Dataset`,
            `datasets.IterableDataset` or `pandas.DataFrame`; a
            `tf.data.Dataset` of strings (or of dicts with `text_column`);
            a text file path (`pathlib.Path`) or a list of them, read one
            line per text as UTF-8.
        text_column: the dataset or DataFrame column holding the text.

    Raises:
        TypeError: for a bare `str`, or an item that is not a `str` / path,
            naming its index.
        ValueError: when a dataset has no `text_column`.
        FileNotFoundError: for a path that is not a file.
    """
    if isinstance(data, str):
        raise TypeError(
            "data is a single str. Pass [text] for one text, or pathlib.Path(...) "
            "to read a text file."
        )
    if isinstance(data, os.PathLike):
        yield from _iter_file(data)
        return
    _refuse_dataset_dict(data)
    if is_tf_dataset(data):
        for row, (text, _) in enumerate(_tf_rows(data, text_column, "label", labelled=False)):
            yield check_text(text, f"element {row} of the tf.data.Dataset")
        return
    if is_hf_dataset(data):
        yield from _iter_dataset(data, text_column)
        return
    if is_dataframe(data):
        _check_columns(data.columns, (text_column,), "DataFrame")
        for row, value in enumerate(data[text_column]):
            yield check_text(value, f"row {row} of column {text_column!r}")
        return
    if isinstance(data, dict):
        raise TypeError(
            "data is a dict; pass datasets.Dataset.from_dict(data) or the list of "
            f"texts itself (e.g. data[{text_column!r}])."
        )
    if not isinstance(data, Iterable):
        raise TypeError(
            f"data is {describe(data)}; expected a list of str, a datasets.Dataset or "
            "IterableDataset, or text file path(s) as pathlib.Path."
        )
    first_kind = None
    for index, value in enumerate(data):
        kind = "path" if isinstance(value, os.PathLike) else "text"
        if first_kind is None:
            first_kind = kind
        if kind != first_kind:
            raise TypeError(
                f"data[{index}] is {describe(value)}, but data[0] was a {first_kind}: "
                "pass either texts or file paths, not both."
            )
        if kind == "path":
            yield from _iter_file(value)
        else:
            yield check_text(value, f"data[{index}]")
