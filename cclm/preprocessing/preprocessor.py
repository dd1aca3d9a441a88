"""`Preprocessor`: text -> character ids, fast, for any Unicode text."""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

import cclm.preprocessing.special_ids as special_ids
from cclm.components import Component, built_from, register_component, to_json_value
from cclm.components.files import SUBWORD_FILE
from cclm.data.texts import TextData, check_batch, iter_texts
from cclm.preprocessing.character_counts import CharacterCounter
from cclm.preprocessing.character_vocabulary import CharacterVocabulary
from cclm.preprocessing.normalization import (
    NORMALIZATION_FORMS,
    normalize_prefix,
    prefix_length,
)
from cclm.preprocessing.subword import SUBWORD_MODELS, SubwordTokenizer

DEFAULT_SEQUENCE_LENGTH = 256
DEFAULT_DOWNSAMPLE_FACTOR = 4


@register_component("preprocessor")
class Preprocessor(Component):
    """Turns text into character ids: `np.int32` arrays shaped (batch, length).

    `fit` builds the character vocabulary from data; `encode` maps texts to ids
    with NumPy (no Python loop over characters); `as_layer` gives the same
    mapping as a Keras layer for `tf.data` pipelines and raw-string models.

    Ids: 0 is padding, `special_ids` come next (unknown, mask, cls, sep), then
    characters from most to least frequent in the fitting data. Characters
    outside the vocabulary, lone surrogates, unassigned code points and U+FFFD
    map to the unknown id: never dropped, never padding.

    Truncation keeps the start of a text: a text longer than the length
    (minus one position for cls) loses its end. Lengths are always a multiple
    of `downsample_factor`, so towers that downsample and upsample line up.

    Args:
        characters: the character vocabulary, most frequent first. Usually
            left empty and built by `fit`.
        sequence_length: the length `encode` and `as_layer` use when none is
            given (`max_example_len`). `None` pads each batch to its longest text.
        downsample_factor: lengths are padded up to a multiple of this; the
            default serves the default towers, which downsample by 4.
        normalization: Unicode normalization form applied before mapping
            (`"NFC"`, `"NFKC"`, `"NFD"`, `"NFKD"`) or `None`.
        lowercase: map each character to its one-to-one Unicode lowercase
            form (characters whose lowercase is several characters, like "İ",
            stay as they are).
        add_cls: put `special_ids.CLS_ID` first in every sequence.
        min_char_count: `fit` keeps characters seen at least this often.
        max_chars: `fit` keeps at most this many characters (the most frequent).
        subword_model: `"bpe"` or `"wordpiece"` to also train a subword
            tokenizer in `fit`, for token-level masking; `None` for none.
        subword_vocab_size: the subword tokenizer's vocabulary size.
        name: a name for manifests and model cards.
        load_from: a saved preprocessor's directory (or a file in it, such as
            the original cclm's `.../cclm_config.json`) to load instead;
            give no other argument with it.

    Example:
    >>> prep = Preprocessor(sequence_length=None).fit(["Hello, world!", "Héllo again"])
    >>> ids = prep.encode(["Hello", "¿Qué?"])
    >>> ids.shape, ids.dtype
    ((2, 8), dtype('int32'))
    >>> prep.decode(ids)  # "¿", "Q", "u" and "?" were never seen: unknown
    ['Hello', '���é�']
    """

    component_kind = "preprocessor"

    def __init__(
        self,
        characters: Sequence[str] = (),
        sequence_length: int | None = DEFAULT_SEQUENCE_LENGTH,
        downsample_factor: int = DEFAULT_DOWNSAMPLE_FACTOR,
        normalization: str | None = "NFC",
        lowercase: bool = False,
        add_cls: bool = False,
        min_char_count: int = 1,
        max_chars: int | None = None,
        subword_model: str | None = None,
        subword_vocab_size: int = 8000,
        name: str = "preprocessor",
        load_from: str | os.PathLike | None = None,
    ):
        if load_from is not None:
            given = {k: v for k, v in locals().items() if k in _DEFAULTS and v != _DEFAULTS[k]}
            if given:
                raise ValueError(f"Preprocessor(load_from=...) takes no other argument; got {sorted(given)}.")
            self.__dict__.update(type(self).load(load_from).__dict__)
            return
        if normalization is not None and normalization not in NORMALIZATION_FORMS:
            raise ValueError(
                f"normalization={normalization!r}; use one of {NORMALIZATION_FORMS} or None."
            )
        if not isinstance(downsample_factor, int) or downsample_factor < 1:
            raise ValueError(f"downsample_factor={downsample_factor!r}; use an int >= 1.")
        if subword_model is not None and subword_model not in SUBWORD_MODELS:
            raise ValueError(f"subword_model={subword_model!r}; use one of {SUBWORD_MODELS} or None.")
        if min_char_count < 1:
            raise ValueError(f"min_char_count={min_char_count!r}; use an int >= 1.")
        if max_chars is not None and max_chars < 1:
            raise ValueError(f"max_chars={max_chars!r}; use an int >= 1 or None.")
        self.sequence_length = sequence_length
        self.downsample_factor = downsample_factor
        self.normalization = normalization
        self.lowercase = lowercase
        self.add_cls = add_cls
        self.min_char_count = min_char_count
        self.max_chars = max_chars
        self.subword_model = subword_model
        self.subword_vocab_size = subword_vocab_size
        self.name = name
        if sequence_length is not None:
            self._check_length(sequence_length, "sequence_length")
        self.vocabulary = CharacterVocabulary(characters, lowercase=lowercase)
        self.subword_tokenizer: SubwordTokenizer | None = None
        self.card: dict[str, Any] = {}

    # ------------------------------------------------------------------ fitting
    @property
    def characters(self) -> tuple[str, ...]:
        """The character vocabulary in id order (first id: `FIRST_CHARACTER_ID`)."""
        return self.vocabulary.characters

    @property
    def max_example_len(self) -> int | None:
        """The original cclm's name for `sequence_length`."""
        return self.sequence_length

    @property
    def n_chars(self) -> int:
        """The original cclm's name for `vocab_size`: the embedder's input size."""
        return self.vocab_size

    @property
    def vocab_size(self) -> int:
        """Number of ids (special ids included): the embedder's `vocab_size`."""
        return self.vocabulary.size

    def normalize(self, text: str) -> str:
        """The text as the vocabulary sees it: normalized, then lowercased if set."""
        text = self._unicode_normalize(text)
        return self.vocabulary.to_lowercase(text) if self.lowercase else text

    def character_id(self, character: str) -> int:
        """The id `encode` gives one character; `special_ids.UNKNOWN_ID` outside the vocabulary.

        Example:
        >>> prep = Preprocessor(lowercase=True).fit(["a b"], progress=False)
        >>> prep.character_id("A") == prep.character_id("a") != special_ids.UNKNOWN_ID
        True
        """
        if not isinstance(character, str) or len(self.normalize(character)) != 1:
            raise ValueError(f"character={character!r}; give one character (a str of length 1).")
        code_point = np.array([ord(self._unicode_normalize(character))], dtype=np.uint32)
        return int(self.vocabulary.ids_for_code_points(code_point)[0])

    def _unicode_normalize(self, text: str) -> str:
        return normalize_prefix(text, self.normalization)

    def fit(
        self, data: TextData, text_column: str = "text", progress: bool = False
    ) -> "Preprocessor":
        """Builds the character vocabulary (and subword tokenizer, if set) from `data`.

        Reads `data` once, streaming: a `list[str]`, a `datasets.Dataset` /
        `IterableDataset` (`text_column`), or text file paths (`pathlib.Path`,
        one text per line). Same data, same ids, whatever the order of texts.

        Returns:
            `self`, fitted.
        """
        started = time.perf_counter()
        counter = CharacterCounter()

        def normalized_texts() -> Iterator[str]:
            for text in tqdm(iter_texts(data, text_column), desc="Fitting preprocessor", unit=" texts", disable=not progress):
                # Case folding happens on the counts, in the vocabulary.
                text = self._unicode_normalize(text)
                counter.add(text)
                yield text
            counter.finish()

        if self.subword_model is not None:
            texts = (self.normalize(t) if self.lowercase else t for t in normalized_texts())
            self.subword_tokenizer = SubwordTokenizer.train(
                texts, model=self.subword_model, vocab_size=self.subword_vocab_size
            )
        else:
            for _ in normalized_texts():
                pass
        if counter.texts == 0:
            raise ValueError("fit got no texts: the data is empty.")
        stats = {"texts": counter.texts, "characters": counter.characters}
        counts = counter.counts
        self.vocabulary = CharacterVocabulary.from_counts(
            counts, self.min_char_count, self.max_chars, self.lowercase
        )
        self.card = {
            "trained_on": f"{stats['texts']:,} texts, {stats['characters']:,} characters",
            "training": {
                "texts": stats["texts"],
                "characters": stats["characters"],
                "distinct characters kept": len(self.characters),
                "seconds": round(time.perf_counter() - started, 3),
            },
        }
        return self

    # ----------------------------------------------------------------- encoding
    def _check_length(self, length: Any, argument: str) -> None:
        if not isinstance(length, (int, np.integer)) or length < 1:
            raise ValueError(f"{argument}={length!r}; use a positive int.")
        if length % self.downsample_factor:
            fixed = -(-length // self.downsample_factor) * self.downsample_factor
            raise ValueError(
                f"{argument}={length} is not a multiple of downsample_factor="
                f"{self.downsample_factor}; use {fixed}."
            )
        if self.add_cls and length < 2:
            raise ValueError(f"{argument}={length} leaves no room for text after the cls id.")

    def _normalized_and_length(self, texts: list[str], length: int | None) -> tuple[list[str], int]:
        """The texts normalized (case folding lives in the lookup table), and the output length.

        With a fixed length only what the window keeps is normalized
        (`cclm.preprocessing.normalization`); otherwise the whole of every text.
        """
        if length is None:
            length = self.sequence_length
        if length is not None:
            self._check_length(length, "length")
            capacity = int(length) - int(self.add_cls)
            return [normalize_prefix(t, self.normalization, capacity) for t in texts], int(length)
        texts = [self._unicode_normalize(t) for t in texts] if self.normalization is not None else texts
        longest = max(map(len, texts), default=0) + int(self.add_cls)
        factor = self.downsample_factor
        return texts, max(factor, -(-longest // factor) * factor)

    def encode(self, texts: Sequence[str], length: int | None = None) -> np.ndarray:
        """Maps texts to ids, shaped (batch, length), `np.int32`.

        Args:
            texts: a list of `str` (empty strings are fine).
            length: the output length, a multiple of `downsample_factor`.
                Defaults to `sequence_length`, else the longest text in the
                batch rounded up. Longer texts lose their end.

        Raises:
            TypeError: naming the first item that is not a `str`, and its index.
        """
        texts, length = self._normalized_and_length(check_batch(texts), length)
        offset = int(self.add_cls)
        capacity = length - offset
        # Every position is written below: cls, then ids or padding.
        ids = np.empty((len(texts), length), dtype=np.int32)
        if offset:
            ids[:, 0] = special_ids.CLS_ID
        if not texts:
            return ids
        # A fixed-width NumPy unicode array *is* a (batch, capacity) grid of
        # UTF-32 code points: one C-level copy that also truncates.
        grid = np.array(texts, dtype=f"<U{capacity}").view(np.uint32).reshape(len(texts), capacity)
        char_ids = self.vocabulary.ids_for_code_points(grid, out=ids[:, offset:])
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        if (lengths < capacity).any():
            # NUL is a real character inside a text, so padding comes from lengths.
            char_ids[np.arange(capacity)[None, :] >= lengths[:, None]] = special_ids.PAD_ID
        return ids

    def string_to_array(self, text: str, length: int | None = None) -> np.ndarray:
        """One text to a (1, length) batch of ids (the original cclm API): `encode([text], length)`."""
        if not isinstance(text, str):
            raise TypeError(f"string_to_array takes one str; got {type(text).__name__}. Use encode(texts) for a batch.")
        return self.encode([text], length=length)

    def decode(
        self, ids: np.ndarray | Sequence, unknown: str = "\ufffd", mask: str = "\u2588"
    ) -> list[str] | str:
        """Maps ids back to text; padding, cls and sep are dropped.

        Args:
            ids: (batch, length) ids, or one 1-D sequence (then returns a `str`).
            unknown: the character shown for the unknown id.
            mask: the character shown for the mask id.
        """
        return self.vocabulary.decode(ids, unknown, mask)

    def encode_subwords(
        self, texts: Sequence[str], length: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Character ids plus, per character, the subword covering it.

        Returns:
            (char_ids, token_ids, token_index), each (batch, length) `np.int32`;
            `token_ids`/`token_index` are -1 where no subword covers a position.
        """
        if self.subword_tokenizer is None:
            raise ValueError(
                "This preprocessor has no subword tokenizer; create it with "
                "subword_model='bpe' (or 'wordpiece') and fit it."
            )
        texts = check_batch(texts)
        char_ids = self.encode(texts, length)
        offset = int(self.add_cls)
        capacity = char_ids.shape[1] - offset
        # Only what the window keeps, and its words, is normalized and tokenized (as in `encode`).
        token_ids, token_index = self.subword_tokenizer.align(
            [self.normalize(t[:prefix_length(capacity)]) for t in texts], capacity, offset
        )
        return char_ids, token_ids, token_index

    def as_layer(self, sequence_length: int | None = None, **kwargs: Any):
        """This mapping as a Keras layer: `tf.string` (batch,) -> int32 (batch, length).

        Gives the same ids as `encode` for the same texts, inside `tf.data`
        pipelines or as the first layer of a model taking raw strings.
        """
        from cclm.preprocessing.character_encoder import CharacterEncoder

        length = sequence_length or self.sequence_length
        if length is None:
            raise ValueError("A layer needs a fixed length: pass as_layer(sequence_length=...) or "
                             "create the preprocessor with sequence_length=...")
        self._check_length(length, "sequence_length")
        return CharacterEncoder(characters=list(self.characters), sequence_length=int(length),
                                normalization=self.normalization, lowercase=self.lowercase,
                                add_cls=self.add_cls, **kwargs)

    # --------------------------------------------------------- saving & loading
    def get_config(self) -> dict[str, Any]:
        """Every constructor argument, as plain JSON values."""
        return to_json_value(
            {
                "characters": list(self.characters),
                "sequence_length": self.sequence_length,
                "downsample_factor": self.downsample_factor,
                "normalization": self.normalization,
                "lowercase": self.lowercase,
                "add_cls": self.add_cls,
                "min_char_count": self.min_char_count,
                "max_chars": self.max_chars,
                "subword_model": self.subword_model,
                "subword_vocab_size": self.subword_vocab_size,
                "name": self.name,
            }
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Preprocessor":
        return cls(**config)

    def _interface(self) -> tuple[dict, dict]:
        return (
            {"texts": {"dtype": "string", "shape": [None]}},
            {"ids": {"dtype": "int32", "shape": [None, self.sequence_length]}},
        )

    def _manifest_fields(self) -> dict[str, Any]:
        subwords = self.subword_tokenizer.vocab_size if self.subword_tokenizer else None
        return {"vocab_size": self.vocab_size, "subword_vocab_size": subwords}

    def _save_payload(self, directory: Path) -> None:
        if self.subword_tokenizer is not None:
            self.subword_tokenizer.save(directory / SUBWORD_FILE)

    @classmethod
    def _from_saved(cls, directory: Path, manifest: dict) -> "Preprocessor":
        with built_from(directory):
            preprocessor = cls.from_config(manifest["config"])
        if (directory / SUBWORD_FILE).is_file():
            preprocessor.subword_tokenizer = SubwordTokenizer.load(directory / SUBWORD_FILE)
        return preprocessor

    def __repr__(self) -> str:
        return (
            f"Preprocessor(name={self.name!r}, vocab_size={self.vocab_size}, "
            f"sequence_length={self.sequence_length}, downsample_factor={self.downsample_factor}, "
            f"normalization={self.normalization!r}, lowercase={self.lowercase})"
        )


_DEFAULTS = {
    name: parameter.default
    for name, parameter in inspect.signature(Preprocessor.__init__).parameters.items()
    if name not in ("self", "load_from")
}
