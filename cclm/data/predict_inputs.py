"""`texts_to_predict`: what a `predict` call accepts as texts, read as a list of `str`."""

from __future__ import annotations

import sys
from typing import Any

from cclm.data.texts import (
    check_batch,
    check_text,
    is_dataframe,
    is_hf_dataset,
    is_tf_dataset,
    iter_texts,
)


def texts_to_predict(texts: Any, text_column: str = "text") -> tuple[list[str], bool]:
    """The texts a `predict` call reads, and whether they came as one text (one row back).

    One `str`; a list, tuple, 1-D array, `pandas.Series` or `datasets`
    column (`dataset["text"]`) of them; an eager `tf.string` tensor (a
    scalar is one text, shape (n, 1) is n texts) or a NumPy array of bytes
    (read as UTF-8, a bad sequence as U+FFFD); or data `iter_texts` reads
    (a `datasets.Dataset` / `IterableDataset` or `pandas.DataFrame`: its
    `text_column`; a `tf.data.Dataset` of strings).

    Example:
    >>> import tensorflow as tf
    >>> texts_to_predict(tf.constant(["a", "b"])), texts_to_predict("one")
    ((['a', 'b'], False), (['one'], True))
    """
    if isinstance(texts, str):
        return [check_text(texts, "texts")], True
    tf = sys.modules.get("tensorflow")
    if tf is not None and tf.is_tensor(texts):
        if texts.shape.rank == 2 and texts.shape[1] == 1:  # keras.Input(shape=(1,), dtype="string") style
            texts = tf.squeeze(texts, axis=1)
        if texts.dtype != tf.string or texts.shape.rank not in (0, 1) or not hasattr(texts, "numpy"):
            raise TypeError(f"texts is a {texts.dtype.name} tensor of shape {texts.shape}; give a 1-D tf.string "
                            "tensor of texts (or a list of str).")
        single = texts.shape.rank == 0
        texts = texts.numpy()
        return [value.decode("utf-8", "replace") for value in ([texts] if single else texts)], single
    if getattr(texts, "dtype", None) is not None and texts.dtype.kind in "SO" and getattr(texts, "ndim", 0) == 1 \
            and (texts.dtype.kind == "S" or (len(texts) and all(isinstance(v, bytes) for v in texts.tolist()))):
        return [value.decode("utf-8", "replace") for value in texts.tolist()], False  # numpy bytes, as TF gives
    if is_hf_dataset(texts) or is_dataframe(texts) or is_tf_dataset(texts):
        return list(iter_texts(texts, text_column)), False
    if type(texts).__module__.startswith("datasets.") and hasattr(texts, "__len__"):
        texts = list(texts)  # a dataset's column (`dataset["text"]`), read whole
    return check_batch(texts), False
