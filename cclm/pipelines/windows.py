"""Training input pipelines: text in, batches of character-id windows out, in `tf.data`.

Python only streams documents, a thousand at a time (and runs the user's
`transforms` and `filters`, which are Python callables). Normalizing,
decoding, cutting random windows, mapping to ids and padding all happen in
graph ops on whole batches, in parallel, ahead of the model.

Example:
>>> from cclm import Preprocessor
>>> prep = Preprocessor(sequence_length=8).fit(["an example text"], progress=False)
>>> windows = character_windows(["an example text", "more"], prep, batch_size=2, seed=0)
>>> next(iter(windows)).shape
TensorShape([2, 8])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tensorflow as tf

from cclm.preprocessing import special_ids
from cclm.pipelines.augmentation import Augmentor, is_graph_augmentor
from cclm.pipelines.sharding import Shard, shard_seed
from cclm.data.texts import TextData, iter_labelled, iter_texts, utf8_bytes
from cclm.errors import NoUsableTextError  # noqa: F401  (re-exported)

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


def _window_starts(lengths: tf.Tensor, capacity: int, seed: tf.Tensor) -> tf.Tensor:
    """A uniformly random start per row such that the window fits (0 for short rows)."""
    spare = tf.maximum(lengths - capacity, 0)
    draw = tf.random.stateless_uniform(tf.shape(lengths), tf.cast(seed, tf.int64))
    return tf.minimum(tf.cast(draw * tf.cast(spare + 1, tf.float32), tf.int64), spare)


def _crop(rows: tf.RaggedTensor, starts: tf.Tensor, capacity: int, fill) -> tuple[tf.Tensor, tf.Tensor]:
    """Dense (batch, capacity) windows of `rows` from `starts`, and where they hold values."""
    offsets = tf.range(capacity, dtype=tf.int64)[None, :]
    valid = offsets < tf.minimum(rows.row_lengths() - starts, capacity)[:, None]
    positions = rows.row_starts()[:, None] + starts[:, None] + offsets
    # One extra slot makes the gather safe where a position is not valid.
    values = tf.concat([rows.flat_values, tf.fill([1], tf.cast(fill, rows.dtype))], axis=0)
    fill_slot = tf.shape(values, out_type=tf.int64)[0] - 1
    return tf.gather(values, tf.where(valid, positions, fill_slot)), valid


def random_windows(code_points: tf.RaggedTensor, capacity: int, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """One random window of at most `capacity` code points per row, vectorized.

    Returns dense (batch, capacity) code points and a boolean mask of real ones.
    A row no longer than `capacity` is taken whole, from its start.
    """
    starts = _window_starts(code_points.row_lengths(), capacity, seed)
    return _crop(code_points, starts, capacity, fill=0)


def character_windows(
    data: TextData,
    preprocessor,
    batch_size: int,
    sequence_length: int | None = None,
    text_column: str = "text",
    transforms: Sequence[Callable[[str], str]] = (),
    filters: Sequence[Callable[[str], bool]] = (),
    shuffle_buffer: int = 10_000,
    seed: int | None = None,
    stats: TextStats | None = None,
    rerandomize: bool = True,
    with_subwords: bool = False,
    labels: Mapping[Any, int] | None = None,
    label_column: str = "label",
    random_crop: bool = True,
    augment: bool = True,
    shard: Shard | None = None,
    corruption: Augmentor | None = None,
) -> tf.data.Dataset:
    """Batches of int32 ids (batch, length): one window per document.

    Documents longer than the length give a random window each pass (or
    their start, without `random_crop`); shorter ones are padded. Empty and
    whitespace-only documents are skipped and counted in `stats`. With a
    `seed`, shuffling and windows are reproducible.

    Args:
        data: anything `cclm.data.texts.iter_texts` reads (with `labels`: anything
            `cclm.data.texts.iter_labelled` reads); read lazily, every pass.
        preprocessor: a fitted `Preprocessor`.
        batch_size: documents per batch.
        sequence_length: window length (default: the preprocessor's).
        text_column: the text column of a `datasets` dataset.
        transforms: `str -> str` functions applied to each document, in order,
            in Python; and `cclm.pipelines.augmentation.Augmentor`s, applied in graph
            ops to each batch's code points before windows are cut.
        filters: `str -> bool` functions; a document is kept if all say True.
        shuffle_buffer: documents held for shuffling (0: no shuffling).
        seed: seed for shuffling and windows.
        stats: a `TextStats` to count used, empty and filtered documents into.
        rerandomize: new windows every pass (training); False keeps them
            fixed across passes (validation).
        with_subwords: also give, per character, the id of the subword
            covering it and that token's index in its document (-1 where no
            token covers it: spaces, padding, cls), cut from the same
            windows. Needs a preprocessor with a subword tokenizer. Batches
            are then `(ids, token_ids, token_index)`.
        labels: for labelled data, a mapping from each label to its index;
            batches are then `(ids, label_indices)`.
        label_column: the label column of a `datasets` dataset.
        random_crop: cut long documents at a random place; False keeps their
            start, as `Preprocessor.encode` does.
        augment: apply the `Augmentor`s among `transforms` (training); False
            leaves them out (validation and evaluation).
        shard: `(count, index)`: read only every `count`-th document from
            the `index`-th on (one worker's share under a multi-worker
            strategy; see `cclm.training.fit.distributed_dataset`).
        corruption: an `Augmentor` that keeps lengths; batches are then
            `(corrupted_ids, ids)`: the same windows with and without its
            noise (for denoising objectives). It applies after the
            `Augmentor`s among `transforms`, also where `augment` is False
            (with a fixed `seed` and no `rerandomize`, the same noise every pass).

    Raises (when iterated):
        NoUsableTextError: a pass gave no usable document.
    """
    seed = shard_seed(seed, shard)  # workers shuffle and mask their shards differently
    encoder = preprocessor.as_layer(sequence_length)
    capacity = encoder.sequence_length - int(encoder.add_cls)
    stats = stats if stats is not None else TextStats()
    if with_subwords and preprocessor.subword_tokenizer is None:
        raise ValueError(
            "with_subwords=True needs a preprocessor with a subword tokenizer; create it with "
            "subword_model='bpe' (or 'wordpiece') and fit it."
        )
    augmentors = [t for t in transforms if is_graph_augmentor(t)] if augment else []
    transforms = [t for t in transforms if not is_graph_augmentor(t)]
    if corruption is not None:
        if not is_graph_augmentor(corruption) or not corruption.preserves_length:
            raise ValueError(
                f"corruption={corruption!r}: a denoising target is aligned to characters, so the corruption "
                "must be an Augmentor that keeps lengths, e.g. Augmentor.typos(0.1, keep_length=True)."
            )
        if with_subwords or labels is not None:
            raise ValueError("corruption works with plain character windows only (no subwords or labels).")
    if with_subwords and not all(a.preserves_length for a in augmentors):
        raise ValueError(
            "Subword targets are aligned to characters, so an Augmentor used with them must keep "
            "lengths: set insertion, deletion and repetition to 0, or use target='characters'."
        )
    generator = _document_batches(
        data, text_column, tuple(transforms), tuple(filters), stats,
        preprocessor if with_subwords else None, labels, label_column, shard,
    )
    signature = {"texts": tf.TensorSpec([None], tf.string)}
    if with_subwords:
        flat = tf.TensorSpec([None], tf.int32)
        signature.update(token_ids=flat, token_index=flat, lengths=tf.TensorSpec([None], tf.int64))
    if labels is not None:
        signature["labels"] = tf.TensorSpec([None], tf.int32)
    documents = tf.data.Dataset.from_generator(generator, output_signature=signature)
    if with_subwords:
        def to_ragged(batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
            lengths = batch.pop("lengths")
            for key in ("token_ids", "token_index"):
                batch[key] = tf.RaggedTensor.from_row_lengths(batch[key], lengths)
            return batch

        documents = documents.map(to_ragged)
    documents = documents.unbatch()
    if shuffle_buffer:
        documents = documents.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    # New windows every pass (epoch), yet reproducible for a given seed.
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=rerandomize).batch(2)
    batches = documents.ragged_batch(batch_size) if with_subwords else documents.batch(batch_size)

    def windows(batch: dict[str, tf.Tensor], window_seed: tf.Tensor):
        if with_subwords:
            # The texts were normalized in Python, where the tokenizer saw them.
            code_points = tf.strings.unicode_decode(batch["texts"], "UTF-8")
            tf.debugging.assert_equal(
                code_points.row_lengths(), batch["token_ids"].row_lengths(),
                message="subword alignment lost: texts and token arrays differ in length",
            )
        else:
            code_points = encoder.code_points(batch["texts"])
        for salt, augmentor in enumerate(augmentors, start=1):
            code_points = augmentor.augment_code_points(
                code_points, tf.random.experimental.stateless_fold_in(window_seed, salt)
            )
        starts = _window_starts(code_points.row_lengths(), capacity, window_seed)
        if not random_crop:
            starts = tf.zeros_like(starts)

        def to_ids(rows: tf.RaggedTensor) -> tf.Tensor:
            points, valid = _crop(rows, starts, capacity, fill=0)
            return encoder.with_cls(tf.where(valid, encoder.lookup(tf.cast(points, tf.int32)), special_ids.PAD_ID))

        ids = to_ids(code_points)
        if corruption is not None:
            corrupted = corruption.augment_code_points(
                code_points, tf.random.experimental.stateless_fold_in(window_seed, len(augmentors) + 1)
            )
            return to_ids(corrupted), ids
        if with_subwords:
            aligned = [_crop(batch[key], starts, capacity, fill=-1)[0] for key in ("token_ids", "token_index")]
            if encoder.add_cls:
                aligned = [tf.pad(rows, [[0, 0], [1, 0]], constant_values=-1) for rows in aligned]
            return ids, aligned[0], aligned[1]
        if labels is not None:
            return ids, batch["labels"]
        return ids

    return tf.data.Dataset.zip(batches, seeds).map(
        windows, num_parallel_calls=tf.data.AUTOTUNE, deterministic=seed is not None
    )
