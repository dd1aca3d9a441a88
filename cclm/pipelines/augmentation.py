"""`Augmentor`: realistic noise on text, made in graph ops inside the `tf.data` pipeline.

Typos people make (a neighbouring key, a dropped, doubled, inserted or
swapped character, a flipped case), look-alike characters from other
scripts, and the whole-text case changes of the original cclm (lowercase,
uppercase, capitalised first character). Every rate is a probability:
per character for typos, per text for the whole-text changes.

Give an `Augmentor` to any Pretrainer's `transforms`: it runs on batches of
code points inside the training pipeline (no Python per example) and never
on validation data. Called directly it corrupts strings, which is how test
sets are noised for `cclm.classification.noise_report`.

Example:
>>> augmentor = Augmentor.typos(0.1, seed=0)
>>> noisy = augmentor("the quick brown fox jumps over the lazy dog")
>>> noisy != "the quick brown fox jumps over the lazy dog", abs(len(noisy) - 43) < 6
(True, True)
>>> Augmentor.typos(0.1, seed=0)("the quick brown fox jumps over the lazy dog") == noisy
True
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence
from typing import Any, overload

import numpy as np
import tensorflow as tf

# Tables cover the Basic Multilingual Plane; characters above it are left as they are.
_TABLE_SIZE = 0x10000
# QWERTY rows, unshifted and shifted; a key's neighbours are the keys around it.
_ROWS = ("`1234567890-=", "qwertyuiop[]\\", "asdfghjkl;'", "zxcvbnm,./")
_SHIFTED_ROWS = ("~!@#$%^&*()_+", "QWERTYUIOP{}|", 'ASDFGHJKL:"', "ZXCVBNM<>?")
# A mis-hit space bar types one of the letters above it.
_SPACE_NEIGHBOURS = "cvbnm"
# Characters that look alike across Latin, Cyrillic, Greek and digits (both directions).
_LOOKALIKES = (
    ("a", "а"), ("c", "с"), ("e", "е"), ("o", "о"), ("p", "р"), ("x", "х"), ("y", "у"),
    ("i", "і"), ("j", "ј"), ("s", "ѕ"), ("A", "А"), ("B", "В"), ("C", "С"), ("E", "Е"),
    ("H", "Н"), ("K", "К"), ("M", "М"), ("O", "О"), ("P", "Р"), ("T", "Т"), ("X", "Х"),
    ("I", "Ι"), ("N", "Ν"), ("Z", "Ζ"), ("v", "ν"), ("0", "O"), ("1", "l"), ("5", "S"),
)
# Operations drawn per character, in the order of their rates.
_CHARACTER_OPERATIONS = ("substitution", "insertion", "deletion", "transposition", "repetition", "case_change", "lookalike")
_TEXT_OPERATIONS = ("lowercase", "uppercase", "title_first")
# The operations that change a text's length.
_LENGTH_CHANGING = ("insertion", "deletion", "repetition")
# How `Augmentor.typos` shares a total rate out; shares of published typo corpora, rounded.
_TYPO_SHARES = {"substitution": 0.35, "deletion": 0.2, "insertion": 0.15, "transposition": 0.15,
                "repetition": 0.1, "case_change": 0.05}


def _keyboard_neighbours() -> dict[str, str]:
    neighbours: dict[str, str] = {}
    for rows in (_ROWS, _SHIFTED_ROWS):
        for r, row in enumerate(rows):
            for c, key in enumerate(row):
                # Rows are staggered: above are c and c+1, below c-1 and c.
                around = [(r, c - 1), (r, c + 1), (r - 1, c), (r - 1, c + 1), (r + 1, c - 1), (r + 1, c)]
                neighbours[key] = "".join(
                    rows[i][j] for i, j in around if 0 <= i < len(rows) and 0 <= j < len(rows[i])
                )
    neighbours[" "] = _SPACE_NEIGHBOURS
    return neighbours


@functools.lru_cache(maxsize=1)
def _tables() -> dict[str, np.ndarray]:
    """Per code point: lowercase, uppercase, look-alike, and keyboard neighbours (ragged)."""
    identity = np.arange(_TABLE_SIZE, dtype=np.int32)
    lower, upper, lookalike = identity.copy(), identity.copy(), identity.copy()
    keyboard = _keyboard_neighbours()
    neighbours: list[str] = []
    key_row = np.full(_TABLE_SIZE, -1, dtype=np.int32)
    for code_point in range(_TABLE_SIZE):
        character = chr(code_point)
        if 0xD800 <= code_point <= 0xDFFF:
            continue
        lowered, uppered = character.lower(), character.upper()
        if len(lowered) == 1:
            lower[code_point] = ord(lowered)
        if len(uppered) == 1:
            upper[code_point] = ord(uppered)
        if character in keyboard:
            row = keyboard[character]
        else:
            # An accented letter: its bare letter (the accent forgotten) or that letter's neighbours.
            base = unicodedata.normalize("NFD", character)[0]
            if base == character or base not in keyboard:
                continue
            row = base + keyboard[base]
        key_row[code_point] = len(neighbours)
        neighbours.append(row)
    for first, second in _LOOKALIKES:  # the first pair naming a character wins
        for source, target in ((first, second), (second, first)):
            if lookalike[ord(source)] == ord(source):
                lookalike[ord(source)] = ord(target)
    flat = np.array([ord(c) for row in neighbours for c in row], dtype=np.int32)
    splits = np.cumsum([0] + [len(row) for row in neighbours]).astype(np.int64)
    return {"lower": lower, "upper": upper, "lookalike": lookalike, "key_row": key_row,
            "neighbours": flat, "neighbour_splits": splits}


def _table_lookup(table: tf.Tensor, code_points: tf.Tensor, default: tf.Tensor) -> tf.Tensor:
    inside = code_points < _TABLE_SIZE
    return tf.where(inside, tf.gather(table, tf.where(inside, code_points, 0)), default)


def _bucket(draws: tf.Tensor, cumulative_rates: np.ndarray) -> tf.Tensor:
    """Which operation each uniform draw picks: the number of cumulative rates it reaches."""
    thresholds = tf.constant(cumulative_rates, tf.float32)
    return tf.reduce_sum(tf.cast(draws[:, None] >= thresholds[None, :], tf.int32), axis=1)


class Augmentor:
    """Realistic, reproducible noise on text, made in graph ops.

    Args:
        substitution: per-character rate of hitting a neighbouring key instead
            (QWERTY; an accented letter loses its accent or becomes a neighbour
            of its bare letter; a character on no keyboard becomes another
            character of the same text).
        insertion: per-character rate of typing a neighbouring key before it.
        deletion: per-character rate of dropping it.
        transposition: per-character rate of swapping it with the next one.
        repetition: per-character rate of typing it twice.
        case_change: per-character rate of flipping its case.
        lookalike: per-character rate of replacing it with a look-alike from
            another script (Latin "a" -> Cyrillic "а", "0" -> "O", ...).
        lowercase: per-text rate of lowercasing the whole text.
        uppercase: per-text rate of uppercasing the whole text.
        title_first: per-text rate of capitalising its first character.
        seed: makes the noise reproducible. In a training pipeline it is mixed
            with the pipeline's seed, so each pass still gets new noise.

    Per-character rates may add up to at most 1, and so may per-text rates.
    A character takes at most one operation; the second character of a swap
    takes none.

    Example:
    >>> augmentor = Augmentor(deletion=1.0)
    >>> augmentor(["keep nothing", "!"])
    ['', '']
    >>> Augmentor(uppercase=1.0)("straße")  # one-to-one case mappings only
    'STRAßE'
    """

    def __init__(
        self,
        substitution: float = 0.0,
        insertion: float = 0.0,
        deletion: float = 0.0,
        transposition: float = 0.0,
        repetition: float = 0.0,
        case_change: float = 0.0,
        lookalike: float = 0.0,
        lowercase: float = 0.0,
        uppercase: float = 0.0,
        title_first: float = 0.0,
        seed: int | None = None,
    ):
        self.substitution = substitution
        self.insertion = insertion
        self.deletion = deletion
        self.transposition = transposition
        self.repetition = repetition
        self.case_change = case_change
        self.lookalike = lookalike
        self.lowercase = lowercase
        self.uppercase = uppercase
        self.title_first = title_first
        self.seed = seed
        for group in (_CHARACTER_OPERATIONS, _TEXT_OPERATIONS):
            for name in group:
                rate = getattr(self, name)
                if not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
                    raise ValueError(f"{name}={rate!r} is not a rate; give a probability between 0 and 1.")
            total = sum(getattr(self, name) for name in group)
            if total > 1.0 + 1e-9:
                raise ValueError(
                    f"The rates of {', '.join(group)} add up to {total:g}; a character (or text) takes at "
                    "most one of them, so they may add up to at most 1."
                )

    @classmethod
    def typos(
        cls, rate: float, seed: int | None = None, keep_length: bool = False, **overrides: float
    ) -> "Augmentor":
        """Typos at `rate` per character, shared out as people make them.

        Substitutions 35%, deletions 20%, insertions 15%, transpositions 15%,
        repeated characters 10%, case flips 5%. With `keep_length`, only the
        typos that keep a text's length (substitutions, transpositions, case
        flips, in the same proportions) share the whole rate out: what
        `MaskedLanguagePretrainer(denoising=...)` needs. `overrides` set any
        rate directly.

        Example:
        >>> Augmentor.typos(0.1, keep_length=True).preserves_length
        True
        """
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate={rate!r} is not a rate; give a probability between 0 and 1.")
        shares = dict(_TYPO_SHARES)
        if keep_length:
            shares = {name: share for name, share in shares.items() if name not in _LENGTH_CHANGING}
            total = sum(shares.values())
            shares = {name: share / total for name, share in shares.items()}
        return cls(**{name: rate * share for name, share in shares.items()}, **overrides, seed=seed)

    @classmethod
    def case_transforms(cls, seed: int | None = None) -> "Augmentor":
        """The original cclm's defaults: lowercase 2%, uppercase 0.5%, capitalised first character 1% of texts."""
        return cls(lowercase=0.02, uppercase=0.005, title_first=0.01, seed=seed)

    def get_config(self) -> dict[str, Any]:
        names = _CHARACTER_OPERATIONS + _TEXT_OPERATIONS
        return {**{name: getattr(self, name) for name in names}, "seed": self.seed}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Augmentor":
        return cls(**config)

    def __repr__(self) -> str:
        rates = ", ".join(f"{k}={v:g}" for k, v in self.get_config().items() if k != "seed" and v)
        return f"Augmentor({rates or 'no noise'}, seed={self.seed})"

    @property
    def preserves_length(self) -> bool:
        """Whether every text keeps its length (no insertions, deletions or repetitions)."""
        return not any(getattr(self, name) for name in _LENGTH_CHANGING)

    # ------------------------------------------------------------ in graph
    def augment_code_points(self, code_points: tf.RaggedTensor, seed: tf.Tensor) -> tf.RaggedTensor:
        """Noise on a batch of texts as code points, (batch, None) ragged int32, in graph ops.

        Args:
            code_points: the texts' code points.
            seed: a shape [2] integer tensor (a stateless seed); mixed with
                this augmentor's own seed.
        """
        seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), self.seed or 0)
        draw = lambda salt, shape: tf.random.stateless_uniform(  # noqa: E731
            shape, tf.random.experimental.stateless_fold_in(seed, salt)
        )
        tables = {name: tf.constant(value) for name, value in _tables().items()}
        values = tf.cast(code_points.flat_values, tf.int32)
        row_ids = code_points.value_rowids()
        starts = tf.gather(code_points.row_starts(), row_ids)
        lengths = tf.gather(code_points.row_lengths(), row_ids)
        position = tf.range(tf.size(values, out_type=tf.int64)) - starts
        lowered = _table_lookup(tables["lower"], values, values)
        uppered = _table_lookup(tables["upper"], values, values)

        # Whole-text case changes come first, as the original cclm applied them to whole texts.
        text_rates = np.cumsum([getattr(self, name) for name in _TEXT_OPERATIONS])
        if text_rates[-1] > 0:
            per_text = tf.gather(draw(0, tf.shape(code_points.row_lengths())), row_ids)
            choice = _bucket(per_text, text_rates)
            values = tf.where(choice == 0, lowered, values)
            values = tf.where((choice == 1) | ((choice == 2) & (position == 0)), uppered, values)
            lowered = _table_lookup(tables["lower"], values, values)
            uppered = _table_lookup(tables["upper"], values, values)

        character_rates = np.cumsum([getattr(self, name) for name in _CHARACTER_OPERATIONS])
        if character_rates[-1] == 0:
            return tf.RaggedTensor.from_row_splits(values, code_points.row_splits)
        operation = _bucket(draw(1, tf.shape(values)), character_rates)
        substitute, insert, delete, swap, repeat, flip, look_alike = range(len(_CHARACTER_OPERATIONS))

        # A swap takes the next character of the same text, and that character does nothing
        # else. In a run of neighbours drawn to swap, as read left to right, every other one does.
        index = tf.range(tf.size(values))
        drawn = (operation == swap) & (position < lengths - 1)
        run_starts = drawn & ~tf.concat([[False], drawn[:-1]], axis=0)
        run = tf.maximum(tf.cumsum(tf.cast(run_starts, tf.int32)) - 1, 0)
        run_start = tf.gather(tf.concat([tf.cast(tf.where(run_starts)[:, 0], tf.int32), [0]], axis=0), run)
        swaps = drawn & ((index - run_start) % 2 == 0)
        swapped_in = tf.concat([[False], swaps[:-1]], axis=0)
        operation = tf.where(swapped_in | ((operation == swap) & ~swaps), len(_CHARACTER_OPERATIONS), operation)
        source = tf.where(swaps, index + 1, tf.where(swapped_in, index - 1, index))

        # A neighbouring key, or for characters on no keyboard another character of the same text.
        pick = draw(2, tf.shape(values))
        key_row = _table_lookup(tables["key_row"], values, tf.fill(tf.shape(values), -1))
        splits = tables["neighbour_splits"]
        row = tf.maximum(key_row, 0)
        row_start = tf.gather(splits, row)
        count = tf.gather(splits, row + 1) - row_start
        key = tf.gather(tables["neighbours"], row_start + tf.cast(pick * tf.cast(count, tf.float32), tf.int64))
        elsewhere = tf.gather(values, starts + tf.cast(pick * tf.cast(lengths, tf.float32), tf.int64))
        neighbour = tf.where(key_row >= 0, key, elsewhere)

        flipped = tf.where(lowered != values, lowered, uppered)
        main = tf.gather(values, source)
        main = tf.where(operation == substitute, neighbour, main)
        main = tf.where(operation == flip, flipped, main)
        main = tf.where(operation == look_alike, _table_lookup(tables["lookalike"], values, values), main)
        # Every character becomes 0, 1 or 2 characters: [extra, main] where one is added.
        first = tf.where(operation == insert, neighbour, main)
        emitted = tf.where(operation == delete, 0, tf.where((operation == insert) | (operation == repeat), 2, 1))
        slots = tf.stack([first, main], axis=1)
        keep = tf.stack([emitted >= 1, emitted == 2], axis=1)
        new_lengths = tf.math.unsorted_segment_sum(
            tf.cast(emitted, tf.int64), row_ids, tf.shape(code_points.row_lengths(), out_type=tf.int64)[0]
        )
        return tf.RaggedTensor.from_row_lengths(tf.boolean_mask(slots, keep), new_lengths)

    # ------------------------------------------------------------- on strings
    @overload
    def __call__(self, texts: str, seed: int | None = None) -> str: ...

    @overload
    def __call__(self, texts: Sequence[str], seed: int | None = None) -> list[str]: ...

    def __call__(self, texts, seed=None):
        """Noisy copies of `texts` (a string, a list of strings, or a `tf.string` tensor).

        With a seed (here or the constructor's), the same texts always get
        the same noise; without one, new noise every call.
        """
        single = isinstance(texts, str)
        tensor = tf.is_tensor(texts)
        if not (single or tensor) and not all(isinstance(text, str) for text in texts):
            raise TypeError("Augmentor takes a string, a list of strings or a tf.string tensor.")
        strings = tf.constant([texts] if single else texts, tf.string) if not tensor else texts
        code_points = tf.strings.unicode_decode(strings, "UTF-8", errors="replace")
        seed = seed if seed is not None else self.seed
        if seed is None:
            pair = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int64)
        else:
            pair = tf.constant([seed, 0], tf.int64)
        noisy = tf.strings.unicode_encode(self.augment_code_points(code_points, pair), "UTF-8")
        if tensor:
            return noisy
        decoded = [text.decode("utf-8") for text in noisy.numpy().tolist()]
        return decoded[0] if single else decoded


def is_graph_augmentor(transform: Any) -> bool:
    """Whether `transform` runs in graph ops on code points (an `Augmentor`) rather than in Python."""
    return callable(getattr(transform, "augment_code_points", None))


def apply_transforms(transforms: Sequence[Any], texts: Sequence[str], seed: int | None = None) -> list[str]:
    """`texts` through each transform in turn: `Augmentor`s with `seed`, `str -> str` functions per text.

    Example:
    >>> apply_transforms([str.upper, Augmentor(case_change=1.0)], ["Ab"], seed=0)
    ['ab']
    """
    texts = list(texts)
    for transform in transforms:
        texts = transform(texts, seed=seed) if is_graph_augmentor(transform) else [transform(t) for t in texts]
    return texts


def length_keeping_noise(noise: Augmentor | dict[str, Any] | None, argument: str, reason: str) -> Augmentor | None:
    """`noise` as an `Augmentor` that keeps lengths (a saved config is rebuilt), or None.

    Denoising objectives compare each corrupted position with the clean one, so
    their noise may not insert or delete characters. `argument` and `reason`
    name the option and why it must keep lengths, for the error.

    Example:
    >>> length_keeping_noise({"substitution": 0.1}, "denoising", "targets are aligned")
    Augmentor(substitution=0.1, seed=None)
    >>> length_keeping_noise(Augmentor(deletion=0.1), "denoising", "targets are aligned")
    Traceback (most recent call last):
    ...
    ValueError: denoising=Augmentor(deletion=0.1, seed=None): targets are aligned, so the noise must keep lengths; use e.g. Augmentor.typos(0.1, keep_length=True).
    """
    if noise is None:
        return None
    if isinstance(noise, dict):  # as saved in a component's config
        noise = Augmentor.from_config(noise)
    if not isinstance(noise, Augmentor) or not noise.preserves_length:
        raise ValueError(
            f"{argument}={noise!r}: {reason}, so the noise must keep lengths; "
            "use e.g. Augmentor.typos(0.1, keep_length=True)."
        )
    return noise
