"""`Preprocessor`: text -> character ids, fast, for any Unicode text."""

from __future__ import annotations

import os
import time
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from cclm import special_ids
from cclm.character_vocabulary import (
    MAX_CODE_POINT,
    CharacterVocabulary,
    simple_lowercase_pairs,
)
from cclm.component import (
    built_from,
    build_manifest,
    component_path,
    from_shelf,
    read_manifest,
    register_component,
    to_json_value,
    write_component,
)
from cclm.subword import SUBWORD_MODELS, SubwordTokenizer
from cclm.texts import TextData, check_batch, iter_texts

NORMALIZATION_FORMS = ("NFC", "NFKC", "NFD", "NFKD")
SUBWORD_FILE = "subword_tokenizer.json"
_COUNT_CHUNK_CHARS = 1 << 20


@register_component("preprocessor")
class Preprocessor:
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
            given. `None` pads each batch to its longest text.
        downsample_factor: lengths are padded up to a multiple of this.
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

    Example:
    >>> prep = Preprocessor(downsample_factor=4).fit(["Hello, world!", "Héllo again"])
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
        sequence_length: int | None = None,
        downsample_factor: int = 1,
        normalization: str | None = "NFC",
        lowercase: bool = False,
        add_cls: bool = False,
        min_char_count: int = 1,
        max_chars: int | None = None,
        subword_model: str | None = None,
        subword_vocab_size: int = 8000,
        name: str = "preprocessor",
    ):
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
        self._lowercase_translation: dict[int, int] | None = None

    # ------------------------------------------------------------------ fitting
    @property
    def characters(self) -> tuple[str, ...]:
        """The character vocabulary in id order (first id: `FIRST_CHARACTER_ID`)."""
        return self.vocabulary.characters

    @property
    def vocab_size(self) -> int:
        """Number of ids (special ids included): the embedder's `vocab_size`."""
        return self.vocabulary.size

    def normalize(self, text: str) -> str:
        """The text as the vocabulary sees it: normalized, then lowercased if set."""
        text = self._unicode_normalize(text)
        if self.lowercase:
            if self._lowercase_translation is None:
                sources, targets = simple_lowercase_pairs()
                self._lowercase_translation = dict(zip(sources.tolist(), targets.tolist()))
            text = text.translate(self._lowercase_translation)
        return text

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
        # ASCII text is already normalized in every form; isascii() is O(1).
        if self.normalization is None or text.isascii():
            return text
        return unicodedata.normalize(self.normalization, text)

    def _normalize_batch(self, texts: list[str]) -> list[str]:
        # Case folding lives in the lookup table, so only Unicode normalization runs here.
        if self.normalization is None:
            return texts
        return [self._unicode_normalize(t) for t in texts]

    def fit(
        self, data: TextData, text_column: str = "text", progress: bool = True
    ) -> "Preprocessor":
        """Builds the character vocabulary (and subword tokenizer, if set) from `data`.

        Reads `data` once, streaming: a `list[str]`, a `datasets.Dataset` /
        `IterableDataset` (`text_column`), or text file paths (`pathlib.Path`,
        one text per line). Same data, same ids, whatever the order of texts.

        Returns:
            `self`, fitted.
        """
        started = time.perf_counter()
        counts = np.zeros(MAX_CODE_POINT + 1, dtype=np.int64)
        stats = {"texts": 0, "characters": 0}

        def normalized_texts() -> Iterator[str]:
            buffer, buffered = [], 0
            bar = tqdm(desc="Fitting preprocessor", unit=" texts", disable=not progress)
            for text in iter_texts(data, text_column):
                # Case folding happens on the counts, after this loop.
                text = self._unicode_normalize(text)
                buffer.append(text)
                buffered += len(text)
                stats["texts"] += 1
                bar.update(1)
                if buffered >= _COUNT_CHUNK_CHARS:
                    _add_counts(counts, buffer)
                    buffer, buffered = [], 0
                yield text
            _add_counts(counts, buffer)
            bar.close()

        if self.subword_model is not None:
            texts = (self.normalize(t) if self.lowercase else t for t in normalized_texts())
            self.subword_tokenizer = SubwordTokenizer.train(
                texts, model=self.subword_model, vocab_size=self.subword_vocab_size
            )
        else:
            for _ in normalized_texts():
                pass
        if stats["texts"] == 0:
            raise ValueError("fit got no texts: the data is empty.")
        stats["characters"] = int(counts.sum())
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

    def _resolve_length(self, texts: list[str], length: int | None) -> int:
        if length is None:
            length = self.sequence_length
        if length is not None:
            self._check_length(length, "length")
            return int(length)
        longest = max(map(len, texts), default=0) + int(self.add_cls)
        factor = self.downsample_factor
        return max(factor, -(-longest // factor) * factor)

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
        texts = self._normalize_batch(check_batch(texts))
        length = self._resolve_length(texts, length)
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

    def string_to_array(self, text: str, length: int) -> np.ndarray:
        """One text to a 1-D id array of `length` (the original cclm API)."""
        return self.encode([text], length=length)[0]

    def decode(
        self, ids: np.ndarray | Sequence, unknown: str = "\ufffd", mask: str = "\u2588"
    ) -> list[str] | str:
        """Maps ids back to text; padding, cls and sep are dropped.

        Args:
            ids: (batch, length) ids, or one 1-D sequence (then returns a `str`).
            unknown: the character shown for the unknown id.
            mask: the character shown for the mask id.
        """
        array = np.asarray(ids)
        single = array.ndim == 1
        array = np.atleast_2d(array)
        if array.ndim != 2 or not np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"ids must be integers shaped (batch, length); got {array.dtype} {array.shape}.")
        if array.size and (array.min() < 0 or array.max() >= self.vocab_size):
            raise ValueError(
                f"ids must lie in [0, {self.vocab_size}); got values in "
                f"[{array.min()}, {array.max()}]. Were they made by another preprocessor?"
            )
        code_points = self.vocabulary.code_point_table(unknown, mask)[array]
        keep = ~np.isin(array, (special_ids.PAD_ID, special_ids.CLS_ID, special_ids.SEP_ID))
        texts = [
            row[row_keep].tobytes().decode("utf-32-le") for row, row_keep in zip(code_points, keep)
        ]
        return texts[0] if single else texts

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
        token_ids, token_index = self.subword_tokenizer.align(
            [self.normalize(t) for t in texts], char_ids.shape[1] - offset, offset
        )
        return char_ids, token_ids, token_index

    def as_layer(self, sequence_length: int | None = None, **kwargs: Any):
        """This mapping as a Keras layer: `tf.string` (batch,) -> int32 (batch, length).

        Gives the same ids as `encode` for the same texts, inside `tf.data`
        pipelines or as the first layer of a model taking raw strings.
        """
        from cclm.layers.character_encoder import CharacterEncoder

        length = sequence_length or self.sequence_length
        if length is None:
            raise ValueError(
                "A layer needs a fixed length: pass as_layer(sequence_length=...) or "
                "create the preprocessor with sequence_length=..."
            )
        self._check_length(length, "sequence_length")
        return CharacterEncoder(
            characters=list(self.characters),
            sequence_length=int(length),
            normalization=self.normalization,
            lowercase=self.lowercase,
            add_cls=self.add_cls,
            **kwargs,
        )

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

    def save(self, directory: str | os.PathLike, overwrite: bool = True) -> Path:
        """Saves to a component directory (JSON only); returns its path."""
        length = self.sequence_length
        manifest = build_manifest(
            kind=self.component_kind,
            name=self.name,
            config=self.get_config(),
            inputs={"texts": {"dtype": "string", "shape": [None]}},
            outputs={"ids": {"dtype": "int32", "shape": [None, length]}},
            card=self.card,
            vocab_size=self.vocab_size,
            subword_vocab_size=(
                self.subword_tokenizer.vocab_size if self.subword_tokenizer else None
            ),
        )

        def write_payload(directory: Path) -> None:
            if self.subword_tokenizer is not None:
                self.subword_tokenizer.save(directory / SUBWORD_FILE)

        return write_component(directory, manifest, write_payload, overwrite)

    from_shelf = classmethod(from_shelf)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "Preprocessor":
        """Loads a preprocessor saved with `save`; it encodes identically."""
        directory = component_path(directory)
        manifest = read_manifest(directory, kind=cls.component_kind)
        with built_from(directory):
            preprocessor = cls.from_config(manifest["config"])
        preprocessor.card = manifest.get("card", {})
        subword_path = Path(directory) / SUBWORD_FILE
        if subword_path.is_file():
            preprocessor.subword_tokenizer = SubwordTokenizer.load(subword_path)
        return preprocessor

    def __repr__(self) -> str:
        return (
            f"Preprocessor(name={self.name!r}, vocab_size={self.vocab_size}, "
            f"sequence_length={self.sequence_length}, downsample_factor={self.downsample_factor}, "
            f"normalization={self.normalization!r}, lowercase={self.lowercase})"
        )


def _add_counts(counts: np.ndarray, texts: list[str]) -> None:
    if not texts:
        return
    # surrogatepass keeps lone surrogates as their own code points (never kept
    # in the vocabulary) instead of failing on them.
    code_points = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype="<u4")
    counts += np.bincount(code_points, minlength=len(counts))
