"""`WordNgramBag`: each word of a text as a bag of hashed character n-grams, plus the whole word.

The reading of a text that static word embeddings (fastText, Model2Vec) are
made of, computed in the graph from character ids: a word is a run of
letters and digits (`word_codes` says which ids those are, folded to
lowercase); it is read as "<word>" with boundary marks, and every n-gram of
that, n = `min_n` to `max_n`, is hashed into one of `buckets` rows, as is
the whole word. A text's vector is the mean of its words' vectors, a
word's the mean of its rows' vectors: `weights` say how much each row
counts in the text's mean, so `sum(weights * table[rows])` is the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from cclm.preprocessing import special_ids

_PRIME = 2_147_483_647  # 2**31 - 1: products of two residues stay inside int64
_BASE = 1_000_003
_MIX = 2_654_435_761  # Knuth's multiplicative hash constant
_WORD_SALT = 104_729  # keeps a whole word's row apart from its n-grams' rows
UNKNOWN_CODE = 0xFFFD  # a character outside the vocabulary still belongs to its word


def word_codes(preprocessor: Any) -> list[int]:
    """For each id of `preprocessor`, the code point its character has in words (lowercased), or 0 between words.

    Letters and digits make words; everything else (spaces, punctuation,
    padding and the special ids) separates them. An unknown character
    (`UNKNOWN_ID`) counts as a letter, `UNKNOWN_CODE`.
    """
    characters = preprocessor.characters
    first = preprocessor.vocab_size - len(characters)
    codes = [0] * preprocessor.vocab_size
    codes[special_ids.UNKNOWN_ID] = UNKNOWN_CODE
    for offset, character in enumerate(characters):
        lower = character.lower()
        if character.isalnum():
            codes[first + offset] = ord(lower) if len(lower) == 1 else ord(character)
    return codes


def _mix(values: Any, salt: int, buckets: int) -> Any:
    return ops.mod(ops.mod((values + salt) * _MIX, 2**32), buckets)


@keras.saving.register_keras_serializable(package="cclm")
class WordNgramBag(keras.layers.Layer):
    """Ids (batch, length) -> (rows, weights), each (batch, length + 1, max_n - min_n + 2).

    Slot n of a position is the n-gram of "<word>" ending there (the
    position after a word ends the n-grams with its closing mark); the last
    slot is the whole word, at its last letter. `weights` are 0 on slots
    that hold nothing and otherwise `1 / (rows of the word * words of the
    text)`: each text's weights sum to 1 (0 for a text without words).

    Args:
        codes: for every id, its code point in words or 0 (`word_codes`).
        buckets: rows of the hashed space.
        min_n, max_n: the n-grams' lengths, boundary marks included (min_n >= 2).

    Example:
    >>> import numpy as np
    >>> layer = WordNgramBag(codes=[0, 0, 0, 0, 0, 97, 98, 0], buckets=1000, min_n=3, max_n=4)
    >>> rows, weights = layer(np.array([[5, 6, 7, 6, 0]], "int32"))  # "ab" then "b" (7 separates)
    >>> [round(float(w), 3) for w in np.asarray(weights)[0][np.asarray(weights)[0] > 0]]
    [0.125, 0.125, 0.125, 0.125, 0.25, 0.25]
    """

    def __init__(self, codes: Sequence[int], buckets: int = 2**17, min_n: int = 3, max_n: int = 5, **kwargs: Any):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        if not 2 <= min_n <= max_n or buckets < 1:
            raise ValueError(f"min_n={min_n}, max_n={max_n}, buckets={buckets}: use 2 <= min_n <= max_n, buckets >= 1.")
        self.codes = [int(code) for code in codes]
        self.buckets = int(buckets)
        self.min_n = int(min_n)
        self.max_n = int(max_n)

    @property
    def slots(self) -> int:
        """Rows per position: one per n-gram length, and the whole word."""
        return self.max_n - self.min_n + 2

    def call(self, ids: Any) -> tuple[Any, Any]:
        ids = ops.convert_to_tensor(ids)
        batch = ops.shape(ids)[0]
        codes = ops.take(ops.convert_to_tensor(self.codes, "int64"), ops.cast(ids, "int32"))
        codes = ops.pad(codes, [[0, 0], [self.max_n, 1]])  # boundaries before the start and after the end
        width = ops.shape(codes)[1]
        word = codes > 0
        values = codes + 1  # a boundary hashes as 1
        after_word = _shifted(word, 1, False)
        starts = word & ~after_word
        number = ops.cumsum(ops.cast(starts, "int32"), axis=1)  # each word's 1-based number, kept to its closing mark
        owner = number * ops.cast(word | after_word, "int32")  # 0: holds nothing
        segments = ops.reshape(number + ops.arange(batch, dtype="int32")[:, None] * (width + 1), (-1,))
        boundaries = ops.cumsum(ops.cast(~word, "int32"), axis=1)
        rows, valid = [], []
        rolling = values
        for n in range(1, self.max_n + 1):
            if n > 1:
                rolling = ops.mod(_shifted(rolling, 1, 1) * _BASE + values, _PRIME)
            if n >= self.min_n:  # every position inside the n-gram (not its first or last) is a letter
                inside = _shifted(boundaries, 1, 0) - _shifted(boundaries, n - 1, 0)
                valid.append((inside == 0) & (word | after_word))
                rows.append(_mix(rolling, n * 7919, self.buckets))
        # The whole word: a polynomial hash of its letters by their place in it, at its last letter.
        positions = ops.broadcast_to(ops.arange(width, dtype="int32")[None, :], (batch, width))
        first = -ops.segment_max(-ops.reshape(positions, (-1,)), segments, num_segments=batch * (width + 1))
        start_at = ops.reshape(ops.take(first, segments), (batch, width))
        powers = ops.convert_to_tensor([pow(_BASE, k, _PRIME) for k in range(64)], "int64")
        terms = ops.where(word, ops.mod(values * ops.take(powers, ops.minimum(positions - start_at, 63)), _PRIME), 0)
        sums = ops.cumsum(terms, axis=1)
        before = ops.take_along_axis(sums - terms, start_at, axis=1)  # the sum before the word's first letter
        rows.append(_mix(ops.mod(sums - before, _PRIME), _WORD_SALT, self.buckets))
        valid.append(word & ~_shifted(word, -1, False))
        rows, valid = ops.stack(rows, axis=-1), ops.stack(valid, axis=-1) & (owner > 0)[..., None]
        # Each slot counts 1 / (the rows of its word * the words of its text).
        per_position = ops.reshape(ops.sum(ops.cast(valid, "float32"), axis=-1), (-1,))
        per_word = ops.segment_sum(per_position, segments, num_segments=batch * (width + 1))
        per_word = ops.reshape(ops.take(per_word, segments), (batch, width))
        words = ops.cast(ops.max(number, axis=1), "float32")[:, None]
        weights = ops.where(valid, 1.0 / ops.maximum(per_word * words, 1.0)[..., None], 0.0)
        return ops.cast(rows[:, self.max_n:], "int32"), weights[:, self.max_n:]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        length = None if input_shape[1] is None else input_shape[1] + 1
        return (input_shape[0], length, self.slots), (input_shape[0], length, self.slots)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"codes": self.codes, "buckets": self.buckets, "min_n": self.min_n, "max_n": self.max_n})
        return config


def _shifted(values: Any, steps: int, fill: Any) -> Any:
    """`values` moved `steps` places right along axis 1 (left when negative), `fill` coming in."""
    if steps == 0:
        return values
    if steps > 0:
        return ops.pad(values[:, :-steps], [[0, 0], [steps, 0]], constant_values=fill)
    return ops.pad(values[:, -steps:], [[0, 0], [0, -steps]], constant_values=fill)
