"""Python text as UTF-8 for TensorFlow: lone surrogates, which UTF-8 cannot hold, as one U+FFFD each."""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(text: str) -> str:
    """`text` with each lone surrogate code point (which UTF-8 cannot hold) replaced by one U+FFFD.

    Example:
    >>> without_surrogates("a\\ud83db") == "a\\ufffdb"
    True
    """
    return _SURROGATE.sub("\ufffd", text)


def utf8_bytes(text: str) -> bytes:
    """Encodes `text` as UTF-8 for TensorFlow string tensors.

    Lone surrogates (which a Python `str` may hold but UTF-8 cannot) become one
    U+FFFD each, so the in-graph encoder maps each to one unknown id, exactly
    like `Preprocessor.encode`.
    """
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # One replacement per surrogate code point: even a high+low pair stored as
        # two code points stays two positions, as in `Preprocessor.encode`.
        return without_surrogates(text).encode("utf-8")
