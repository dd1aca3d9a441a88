"""The character vocabulary: which characters get ids, and one lookup table for all.

`Preprocessor.encode` (NumPy) and `CharacterEncoder` (in-graph) both map code
points to ids through `CharacterVocabulary.lookup_table`, so they agree by
construction. Lowercasing is folded into that table: every uppercase code point
points at the id of its one-to-one Unicode lowercase mapping, which keeps the
mapping per character and equally fast in both paths.

Example:
>>> vocabulary = CharacterVocabulary(["a", "b"], lowercase=True)
>>> vocabulary.size
7
>>> vocabulary.ids_for_code_points(np.array([ord("a"), ord("B"), ord("z")])).tolist()
[5, 6, 1]
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence

import numpy as np

from cclm.preprocessing.special_ids import (
    CLS_ID,
    FIRST_CHARACTER_ID,
    PAD_ID,
    SEP_ID,
    SPECIAL_ID_NAMES,
    UNKNOWN_ID,
)

MAX_CODE_POINT = 0x10FFFF
# No character above plane 1 has a case mapping (Unicode 15), so the lowercase
# fold only needs to look at the first two planes.
_CASED_PLANES_END = 0x20000
REPLACEMENT_CHARACTER = "\ufffd"


@functools.lru_cache(maxsize=1)
def simple_lowercase_pairs() -> tuple[np.ndarray, np.ndarray]:
    """(uppercase, lowercase) code point arrays of one-to-one lowercase mappings."""
    sources, targets = [], []
    for code_point in range(_CASED_PLANES_END):
        lowered = chr(code_point).lower()
        if len(lowered) == 1 and ord(lowered) != code_point:
            sources.append(code_point)
            targets.append(ord(lowered))
    return np.array(sources, dtype=np.int64), np.array(targets, dtype=np.int64)


def fold_lowercase_counts(counts: np.ndarray) -> np.ndarray:
    """Moves the counts of uppercase code points onto their lowercase mapping."""
    sources, targets = simple_lowercase_pairs()
    folded = counts.copy()
    np.add.at(folded, targets, counts[sources])
    folded[sources] = 0
    return folded


def is_vocabulary_character(character: str) -> bool:
    """False for code points that must always map to the unknown id.

    Lone surrogates and unassigned code points are not text, and U+FFFD marks
    text that was already lost (undecodable bytes); none of them get an id.
    """
    if character == REPLACEMENT_CHARACTER:
        return False
    return unicodedata.category(character) not in ("Cs", "Cn")


class CharacterVocabulary:
    """An ordered set of characters and the vectorized code point -> id mapping.

    Ids start at `special_ids.FIRST_CHARACTER_ID` in the order of `characters`.
    Anything else (other characters, lone surrogates, unassigned code points,
    U+FFFD) maps to `special_ids.UNKNOWN_ID`.

    Args:
        characters: the characters, one `str` of length 1 each, most frequent first.
        lowercase: map uppercase characters to the id of their lowercase form.
    """

    def __init__(self, characters: Sequence[str], lowercase: bool = False):
        characters = tuple(characters)
        for index, character in enumerate(characters):
            if not isinstance(character, str) or len(character) != 1:
                raise ValueError(
                    f"characters[{index}] is {character!r}; each must be a single character."
                )
            if not is_vocabulary_character(character):
                raise ValueError(
                    f"characters[{index}] is U+{ord(character):04X}, which always maps "
                    "to the unknown id (surrogate, unassigned or U+FFFD); remove it."
                )
        if len(set(characters)) != len(characters):
            raise ValueError("characters contains duplicates; each character once.")
        self.characters = characters
        self.lowercase = lowercase
        self.lookup_table = self._build_lookup_table()

    @classmethod
    def from_counts(
        cls,
        counts: np.ndarray,
        min_count: int = 1,
        max_characters: int | None = None,
        lowercase: bool = False,
    ) -> CharacterVocabulary:
        """Builds a vocabulary from per-code-point counts (length 0x110000).

        Characters are ordered by count, ties by code point, so the same data
        always gives the same ids whatever the order of the texts.
        """
        if lowercase:
            counts = fold_lowercase_counts(counts)
        candidates = np.flatnonzero(counts >= max(min_count, 1))
        order = np.lexsort((candidates, -counts[candidates]))
        characters = [
            chr(code_point)
            for code_point in candidates[order].tolist()
            if is_vocabulary_character(chr(code_point))
        ]
        if max_characters is not None:
            characters = characters[:max_characters]
        return cls(characters, lowercase=lowercase)

    @property
    def size(self) -> int:
        """Number of ids, special ids included: the embedding's input dimension."""
        return FIRST_CHARACTER_ID + len(self.characters)

    def _build_lookup_table(self) -> np.ndarray:
        code_points = np.array([ord(c) for c in self.characters], dtype=np.int64)
        ids = np.arange(FIRST_CHARACTER_ID, self.size, dtype=np.int32)
        fold_sources = fold_ids = np.zeros(0, dtype=np.int64)
        if self.lowercase and len(code_points):
            sources, targets = simple_lowercase_pairs()
            id_of = np.full(MAX_CODE_POINT + 1, -1, dtype=np.int64)
            id_of[code_points] = ids
            found = id_of[targets] >= 0
            fold_sources, fold_ids = sources[found], id_of[targets[found]]
        highest = max(
            int(code_points.max()) if len(code_points) else 0,
            int(fold_sources.max()) if len(fold_sources) else 0,
        )
        # One slot past the highest mapped code point holds UNKNOWN_ID; callers
        # clamp larger code points onto it, so the table stays small.
        table = np.full(highest + 2, UNKNOWN_ID, dtype=np.int32)
        table[fold_sources] = fold_ids
        table[code_points] = ids
        return table

    def ids_for_code_points(
        self, code_points: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Maps an integer array of code points to int32 ids, any shape.

        Code points past the table clip onto its last slot, the unknown id.
        """
        return np.take(self.lookup_table, code_points, mode="clip", out=out)

    def code_point_table(self, unknown: str, mask: str) -> np.ndarray:
        """id -> code point for decoding: specials render as given, padding as 0."""
        table = np.zeros(self.size, dtype=np.uint32)
        names = {name: special for special, name in SPECIAL_ID_NAMES.items()}
        table[names["[UNK]"]] = ord(unknown)
        table[names["[MASK]"]] = ord(mask)
        table[FIRST_CHARACTER_ID:] = [ord(c) for c in self.characters]
        return table

    def to_lowercase(self, text: str) -> str:
        """`text` with every character mapped to its one-to-one Unicode lowercase form, as the table does."""
        return text.translate(_lowercase_translation())

    def decode(self, ids: np.ndarray | Sequence, unknown: str = "\ufffd", mask: str = "\u2588") -> list[str] | str:
        """Maps (batch, length) ids back to texts (one 1-D sequence: a `str`); pad, cls and sep are dropped."""
        array = np.asarray(ids)
        if array.size == 0 and array.dtype == np.float64:  # `[]`: no ids, not float ones
            array = array.astype(np.int32)
        single = array.ndim == 1
        array = np.atleast_2d(array)
        if array.ndim != 2 or not np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"ids must be integers shaped (batch, length); got {array.dtype} {array.shape}.")
        if array.size and (array.min() < 0 or array.max() >= self.size):
            raise ValueError(
                f"ids must lie in [0, {self.size}); got values in "
                f"[{array.min()}, {array.max()}]. Were they made by another preprocessor?"
            )
        code_points = self.code_point_table(unknown, mask)[array]
        keep = ~np.isin(array, (PAD_ID, CLS_ID, SEP_ID))
        texts = [
            row[row_keep].tobytes().decode("utf-32-le") for row, row_keep in zip(code_points, keep)
        ]
        return texts[0] if single else texts


@functools.lru_cache(maxsize=1)
def _lowercase_translation() -> dict[int, int]:
    sources, targets = simple_lowercase_pairs()
    return dict(zip(sources.tolist(), targets.tolist()))
