"""The first stage of every pipeline: documents read from the data, in batches, as tensors.

Python only streams documents, a thousand at a time, and runs what must run
in Python: the user's `transforms` and `filters` (Python callables), label
lookup, and a subword tokenizer. Everything after that runs in graph ops
(`cclm.pipelines.windows`).

Example:
>>> source = DocumentSource(["an example", "", "more"])
>>> batch = next(iter(read_documents(source).batch(8)))
>>> [bytes(t).decode() for t in batch["texts"].numpy()], source.stats.empty
(['an example', 'more'], 1)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tensorflow as tf

from cclm.data.encoding import utf8_bytes
from cclm.data.texts import iter_labelled, iter_texts
from cclm.errors import NoUsableTextError
from cclm.pipelines.sharding import Shard

_SOURCE_BATCH = 1024
# A stream that gives this many unusable documents in a row, before any usable
# one, is taken for a stream with no usable text (it may never end).
MAX_UNUSABLE_BEFORE_TEXT = 100_000


@dataclass
class TextStats:
    """What the pipeline saw: texts used, skipped as empty, and filtered out."""

    used: int = 0
    empty: int = 0
    filtered: int = 0
    passes: int = field(default=0)

    def no_usable_text(self, shard: Shard | None = None, endless: bool = False) -> NoUsableTextError:
        """The error for a pass (or, with `endless`, a stretch of a stream) that gave no usable text."""
        seen = f"{self.empty:,} empty or whitespace-only and {self.filtered:,} filtered-out documents"
        where = "The data" if shard is None else f"Worker {shard[1]} of {shard[0]} (its shard of the data)"
        if endless:
            what = f"{where} gave {seen} in a row, before any usable text"
        else:
            what = f"{where} gave no usable text: {seen}" if self.empty or self.filtered else f"{where} is empty"
        return NoUsableTextError(
            f"{what}. Check the data, its text_column and the filters"
            + (", and give every worker at least one document." if shard is not None else ".")
        )


def _document_batches(
    data: Any,
    text_column: str,
    transforms: Sequence[Callable[[str], str]],
    filters: Sequence[Callable[[str], bool]],
    stats: TextStats,
    preprocessor=None,
    labels: Mapping[Any, int] | None = None,
    label_column: str = "label",
    shard: Shard | None = None,
) -> Callable[[], Iterator[dict[str, np.ndarray]]]:
    """A generator of document batches, as dicts of arrays.

    Always `texts` (UTF-8). With a `preprocessor`, the texts are its
    normalized ones, tokenized by its subword tokenizer: per-character
    `token_ids` and `token_index`, flattened, and the text `lengths`
    (`SubwordTokenizer.character_tokens`). With `labels` (label -> index),
    the data is labelled and `labels` holds each text's index. With a
    `shard` `(count, index)`, only documents `index, index + count, ...` are
    used: one worker's share under a multi-worker strategy.

    A pass that uses no document raises `NoUsableTextError`, as does a stream whose first `MAX_UNUSABLE_BEFORE_TEXT`
    documents are all unusable.
    """
    tokenizer = preprocessor.subword_tokenizer if preprocessor is not None else None

    def records() -> Iterator[tuple[str, Any]]:
        if labels is None:
            return ((text, None) for text in iter_texts(data, text_column))
        return iter_labelled(data, text_column, label_column)

    def flush(batch: list[str], batch_labels: list[int]) -> dict[str, np.ndarray]:
        encoded = np.array([utf8_bytes(text) for text in batch], dtype=object)
        arrays = {"texts": encoded}
        if tokenizer is not None:
            # Lone surrogates become U+FFFD (one character each) for the tokenizer too.
            lengths, token_ids, token_index = tokenizer.character_tokens([t.decode("utf-8") for t in encoded])
            arrays.update(token_ids=token_ids, token_index=token_index, lengths=lengths)
        if labels is not None:
            arrays["labels"] = np.array(batch_labels, dtype=np.int32)
        return arrays

    def generate() -> Iterator[dict[str, np.ndarray]]:
        stats.passes += 1
        batch: list[str] = []
        batch_labels: list[int] = []
        used_before, seen = stats.used, 0
        for position, (text, label) in enumerate(records()):
            if shard is not None and position % shard[0] != shard[1]:
                continue
            if stats.used == used_before and seen >= MAX_UNUSABLE_BEFORE_TEXT:
                raise stats.no_usable_text(shard, endless=True)
            seen += 1
            for transform in transforms:
                text = transform(text)
            if not all(keep(text) for keep in filters):
                stats.filtered += 1
                continue
            if not text.strip():
                # An empty document would be a window of pure padding: no signal.
                stats.empty += 1
                continue
            if labels is not None:
                if label not in labels:
                    raise ValueError(
                        f"label {label!r} is not one of the {len(labels)} labels this model knows "
                        f"({sorted(labels, key=str)[:10]}); train it with labels=[...] naming every label."
                    )
                batch_labels.append(labels[label])
            stats.used += 1
            batch.append(preprocessor.normalize(text) if tokenizer is not None else text)
            if len(batch) == _SOURCE_BATCH:
                yield flush(batch, batch_labels)
                batch, batch_labels = [], []
        if batch:
            yield flush(batch, batch_labels)
        if stats.used == used_before:
            raise stats.no_usable_text(shard)

    return generate


@dataclass
class DocumentSource:
    """What a pipeline reads: the data, and what Python does to each document on the way.

    Args:
        data: anything `cclm.data.texts.iter_texts` reads (with `labels`:
            anything `iter_labelled` reads); read lazily, every pass.
        text_column: the text column of a `datasets` dataset.
        transforms: `str -> str` functions applied to each document, in order.
        filters: `str -> bool` functions; a document is kept if all say True.
        labels: for labelled data, a mapping from each label to its index.
        label_column: the label column of a `datasets` dataset.
        shard: `(count, index)`: read only every `count`-th document from
            the `index`-th on (one worker's share under a multi-worker strategy).
        stats: where used, empty and filtered documents are counted.
    """

    data: Any
    text_column: str = "text"
    transforms: Sequence[Callable[[str], str]] = ()
    filters: Sequence[Callable[[str], bool]] = ()
    labels: Mapping[Any, int] | None = None
    label_column: str = "label"
    shard: Shard | None = None
    stats: TextStats = field(default_factory=TextStats)


def read_documents(source: DocumentSource, subwords_of: Any = None) -> tf.data.Dataset:
    """One element per usable document: `{"texts"}`, plus `"labels"` for labelled data.

    With `subwords_of` (a `Preprocessor` with a subword tokenizer), texts are
    its normalized ones and each element also holds, per character, the
    covering subword's id and index (`"token_ids"`, `"token_index"`).

    Raises (when iterated):
        NoUsableTextError: a pass gave no usable document.
    """
    generator = _document_batches(
        source.data, source.text_column, tuple(source.transforms), tuple(source.filters), source.stats,
        subwords_of, source.labels, source.label_column, source.shard,
    )
    signature = {"texts": tf.TensorSpec([None], tf.string)}
    if subwords_of is not None:
        flat = tf.TensorSpec([None], tf.int32)
        signature.update(token_ids=flat, token_index=flat, lengths=tf.TensorSpec([None], tf.int64))
    if source.labels is not None:
        signature["labels"] = tf.TensorSpec([None], tf.int32)
    documents = tf.data.Dataset.from_generator(generator, output_signature=signature)
    if subwords_of is not None:
        def to_ragged(batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
            lengths = batch.pop("lengths")
            for key in ("token_ids", "token_index"):
                batch[key] = tf.RaggedTensor.from_row_lengths(batch[key], lengths)
            return batch

        documents = documents.map(to_ragged)
    return documents.unbatch()
