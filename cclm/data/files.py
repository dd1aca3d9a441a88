"""Data on disk for the command line: text files, JSON Lines, CSV, or a saved `datasets` directory.

`open_data` gives what every `fit` reads: a `pathlib.Path` for plain text
(one text per line) and a Hugging Face `datasets` dataset for the rest,
read by `datasets` itself (streamed when asked, so corpora larger than
memory work). Missing files, unknown formats and missing columns fail at
once, naming the columns that do exist.

Example:
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "reviews.jsonl"
>>> _ = path.write_text('{"text": "great", "label": "pos"}\\n{"text": "awful", "label": "neg"}\\n')
>>> data = open_data(path, label_column="label")
>>> data.column_names, len(data)
(['text', 'label'], 2)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cclm.errors import DataFileError

_BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".tsv": "csv", ".parquet": "parquet"}
TEXT_SUFFIXES = (".txt", ".text", ".md", "")


def open_data(
    path: str | os.PathLike,
    text_column: str = "text",
    label_column: str | None = None,
    streaming: bool = False,
) -> Any:
    """Opens `path` for training or evaluation.

    Args:
        path: a text file (`.txt`, one text per line), a `.jsonl`/`.json`,
            `.csv`/`.tsv` or `.parquet` file, or a directory written by
            `datasets.Dataset.save_to_disk`.
        text_column: the column holding the texts (tables and datasets).
        label_column: the column holding labels, when labels are needed.
        streaming: read tables as a `datasets.IterableDataset`, never all in memory.

    Raises:
        DataFileError: the path is missing, its format unknown, a column
            missing, or labels asked of plain text.
    """
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"{path} does not exist; give a text, JSONL, CSV or Parquet file, or a saved dataset directory.")
    if path.is_dir():
        if not (path / "dataset_info.json").is_file() and not (path / "dataset_dict.json").is_file():
            raise DataFileError(f"{path} is a directory but not a saved `datasets` dataset (no dataset_info.json).")
        import datasets

        data = datasets.load_from_disk(str(path))
        if isinstance(data, datasets.DatasetDict):
            raise DataFileError(f"{path} holds several splits {list(data)}; give the directory of one split.")
        if streaming:
            data = data.to_iterable_dataset()
    elif path.suffix.lower() in _BUILDERS:
        import datasets

        suffix = path.suffix.lower()
        options = {"delimiter": "\t"} if suffix == ".tsv" else {}
        if suffix in (".csv", ".tsv"):  # a text "NA", "null" or "" stays text; only an empty label cell is missing
            options.update(keep_default_na=False, na_values={label_column: [""]} if label_column else None)
        try:
            with _datasets_logs_silenced():  # its log line would come before the one that names the line
                data = datasets.load_dataset(
                    _BUILDERS[suffix], data_files=str(path), split="train", streaming=streaming, **options
                )
        except Exception as error:  # noqa: BLE001  (datasets raises many kinds for unreadable files)
            where = first_bad_json_line(path) if _BUILDERS[suffix] == "json" else None
            raise DataFileError(where or f"{path} could not be read as {_BUILDERS[suffix].upper()}: {error}") from None
    elif path.suffix.lower() in TEXT_SUFFIXES:
        if label_column is not None:
            raise DataFileError(
                f"{path} is plain text, which has no labels; give a JSONL or CSV file with "
                f"{text_column!r} and {label_column!r} columns."
            )
        return path
    else:
        raise DataFileError(
            f"{path}: unknown format {path.suffix!r}; use .txt (one text per line), .jsonl, .csv, .tsv, "
            ".parquet, or a saved dataset directory."
        )
    columns = data.column_names
    for column in (text_column, label_column):
        if column is not None and columns is not None and column not in columns:
            raise DataFileError(
                f"{path} has no column {column!r}; its columns are {columns}. "
                "Name the right one with --text-column / --label-column."
            )
    return data


@contextlib.contextmanager
def _datasets_logs_silenced() -> Iterator[None]:
    logger = logging.getLogger("datasets")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def first_bad_json_line(path: Path) -> str | None:
    """Where a JSON Lines file stops being JSON: "FILE, line N: what is wrong", or None if every line parses.

    `datasets`' own error names neither the file nor the line.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "bad.jsonl"
    >>> _ = path.write_text('{"text": "fine"}\\n{"text": "no end"\\n')
    >>> first_bad_json_line(path).split(": ", 1)[0].endswith("bad.jsonl, line 2")
    True
    """
    with open(path, encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                return f"{path}, line {number}: not JSON ({error.msg}, column {error.colno}); fix or remove that line."
            if not isinstance(row, dict):
                return f"{path}, line {number}: a JSON {type(row).__name__}, not an object; give one object per line."
    return None
