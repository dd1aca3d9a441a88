"""`CharacterCounter`: counts the code points of a stream of texts, a chunk at a time, in NumPy.

`Preprocessor.fit` feeds it every (normalized) text once; the counts then
choose the vocabulary. Texts are buffered and counted with one `bincount`
per megabyte of text: no Python loop over characters.

Example:
>>> counter = CharacterCounter()
>>> for text in ["abba", "cab"]:
...     counter.add(text)
>>> counter.finish()
>>> int(counter.counts[ord("a")]), counter.texts, counter.characters
(3, 2, 7)
"""

from __future__ import annotations

import numpy as np

from cclm.preprocessing.character_vocabulary import MAX_CODE_POINT

_CHUNK_CHARS = 1 << 20


class CharacterCounter:
    """How often each code point occurs in the texts added so far (`counts`, indexed by code point)."""

    def __init__(self) -> None:
        self.counts = np.zeros(MAX_CODE_POINT + 1, dtype=np.int64)
        self.texts = 0
        self._buffer: list[str] = []
        self._buffered = 0

    def add(self, text: str) -> None:
        """Counts `text` (buffered; `finish` counts what is left)."""
        self._buffer.append(text)
        self._buffered += len(text)
        self.texts += 1
        if self._buffered >= _CHUNK_CHARS:
            self._flush()

    def finish(self) -> None:
        """Counts every buffered text."""
        self._flush()

    @property
    def characters(self) -> int:
        """The number of characters counted."""
        return int(self.counts.sum())

    def _flush(self) -> None:
        if self._buffer:
            # surrogatepass keeps lone surrogates as their own code points (never
            # kept in the vocabulary) instead of failing on them.
            joined = "".join(self._buffer).encode("utf-32-le", "surrogatepass")
            self.counts += np.bincount(np.frombuffer(joined, dtype="<u4"), minlength=len(self.counts))
        self._buffer, self._buffered = [], 0
