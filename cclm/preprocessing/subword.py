"""An optional subword tokenizer (Hugging Face `tokenizers`), aligned to characters.

Token-level masking (masking whole subwords and predicting their ids) needs to
know, for every character position, which subword covers it. `align` answers
that with two arrays shaped like `Preprocessor.encode` output.

Example:
>>> tokenizer = SubwordTokenizer.train(["low lower lowest"] * 10, model="bpe", vocab_size=60)
>>> token_ids, token_index = tokenizer.align(["lower"], capacity=8)
>>> token_index.tolist()
[[0, 0, 0, 0, 0, -1, -1, -1]]
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from cclm.data.encoding import without_surrogates

SUBWORD_MODELS = ("bpe", "wordpiece")
UNKNOWN_TOKEN = "[UNK]"


class SubwordTokenizer:
    """A trained BPE or WordPiece tokenizer with character offsets.

    Args:
        tokenizer: a `tokenizers.Tokenizer`, normally made by `train` or `load`.
    """

    def __init__(self, tokenizer: Tokenizer):
        self.tokenizer = tokenizer

    @classmethod
    def train(
        cls, texts: Iterable[str], model: str = "bpe", vocab_size: int = 8000
    ) -> SubwordTokenizer:
        """Trains on `texts` (consumed once, streaming) with HF `tokenizers`."""
        if model not in SUBWORD_MODELS:
            raise ValueError(f"subword model {model!r} is not one of {SUBWORD_MODELS}.")
        if model == "bpe":
            tokenizer = Tokenizer(models.BPE(unk_token=UNKNOWN_TOKEN))
            trainer = trainers.BpeTrainer(
                vocab_size=vocab_size, special_tokens=[UNKNOWN_TOKEN], show_progress=False
            )
        else:
            tokenizer = Tokenizer(models.WordPiece(unk_token=UNKNOWN_TOKEN))
            trainer = trainers.WordPieceTrainer(
                vocab_size=vocab_size, special_tokens=[UNKNOWN_TOKEN], show_progress=False
            )
        # Our own normalization has already run; offsets must stay in its characters.
        tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
        tokenizer.train_from_iterator(map(without_surrogates, texts), trainer=trainer)  # one U+FFFD each: offsets hold
        return cls(tokenizer)

    @property
    def vocab_size(self) -> int:
        """Number of subword ids."""
        return self.tokenizer.get_vocab_size()

    @property
    def model(self) -> str:
        """'bpe' or 'wordpiece'."""
        return type(self.tokenizer.model).__name__.lower()

    def save(self, path: str | os.PathLike) -> None:
        """Writes the tokenizer in HF `tokenizers`' own JSON format."""
        self.tokenizer.save(os.fspath(path))

    @classmethod
    def load(cls, path: str | os.PathLike) -> SubwordTokenizer:
        """Reads a tokenizer written by `save`."""
        return cls(Tokenizer.from_file(os.fspath(path)))

    def character_tokens(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-character subword ids and token indices of whole texts, flattened.

        `texts` must already be normalized the way the preprocessor does it.
        Characters covered by no token (spaces) get -1 in both arrays.

        Returns:
            lengths: int64 `len(text)` of each text.
            token_ids: int32, `sum(lengths)` entries, text after text: the
                subword id covering each character, or -1.
            token_index: int32, aligned with `token_ids`: the index of that
                token within its text, or -1.
        """
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        total = int(lengths.sum())
        token_ids = np.full(total, -1, dtype=np.int32)
        token_index = np.full(total, -1, dtype=np.int32)
        encodings = self.tokenizer.encode_batch([without_surrogates(t) for t in texts], add_special_tokens=False)
        counts = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(texts))
        if counts.sum() == 0:
            return lengths, token_ids, token_index
        spans = np.concatenate([np.asarray(e.offsets, dtype=np.int64).reshape(-1, 2) for e in encodings])
        ids = np.concatenate([np.asarray(e.ids, dtype=np.int64) for e in encodings])
        index_in_text = np.arange(len(ids)) - np.repeat(np.cumsum(counts) - counts, counts)
        text_starts = np.repeat(np.cumsum(lengths) - lengths, counts)
        span_lengths = spans[:, 1] - spans[:, 0]
        # Expand every token into its character positions without a Python loop.
        positions = (
            np.arange(span_lengths.sum())
            - np.repeat(np.cumsum(span_lengths) - span_lengths, span_lengths)
            + np.repeat(text_starts + spans[:, 0], span_lengths)
        )
        token_ids[positions] = np.repeat(ids, span_lengths)
        token_index[positions] = np.repeat(index_in_text, span_lengths)
        return lengths, token_ids, token_index

    def align(
        self, texts: list[str], capacity: int, offset: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-character subword ids and token indices, shaped (batch, offset + capacity).

        `texts` must already be normalized the way the preprocessor does it.
        Position `offset + i` describes character `i` of a text (`offset` is 1
        when the preprocessor adds a cls id first). Characters covered by no
        token (spaces, padding) get -1 in both arrays; a token cut by the
        truncation keeps its id on the characters that remain.

        Returns:
            token_ids: int32 subword id covering each character, or -1.
            token_index: int32 index of that token within its text, or -1.
        """
        width = offset + capacity
        token_ids = np.full((len(texts), width), -1, dtype=np.int32)
        token_index = np.full((len(texts), width), -1, dtype=np.int32)
        lengths, flat_ids, flat_index = self.character_tokens(texts)
        rows = np.repeat(np.arange(len(texts)), lengths)
        positions = np.arange(len(flat_ids)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        kept = positions < capacity
        token_ids[rows[kept], offset + positions[kept]] = flat_ids[kept]
        token_index[rows[kept], offset + positions[kept]] = flat_index[kept]
        return token_ids, token_index
