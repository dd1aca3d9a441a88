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

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from cclm import special_ids
from cclm.texts import TextData, iter_texts, utf8_bytes

_SOURCE_BATCH = 1024


@dataclass
class TextStats:
    """What the pipeline saw: texts used, skipped as empty, and filtered out."""

    used: int = 0
    empty: int = 0
    filtered: int = 0
    passes: int = field(default=0)


def _text_batches(
    data: TextData,
    text_column: str,
    transforms: Sequence[Callable[[str], str]],
    filters: Sequence[Callable[[str], bool]],
    stats: TextStats,
    preprocessor=None,
) -> Callable[[], Iterator]:
    """A generator of document batches; with a `preprocessor`, tokenized too.

    Plain: yields UTF-8 texts. With a `preprocessor` (its subword tokenizer):
    yields its normalized texts with their per-character subword ids and token
    indices, flattened, and the text lengths (`SubwordTokenizer.character_tokens`).
    """
    tokenizer = preprocessor.subword_tokenizer if preprocessor is not None else None

    def flush(batch: list[str]):
        encoded = np.array([utf8_bytes(text) for text in batch], dtype=object)
        if tokenizer is None:
            return encoded
        # Lone surrogates become U+FFFD (one character each) for the tokenizer too.
        texts = [text.decode("utf-8") for text in encoded]
        lengths, token_ids, token_index = tokenizer.character_tokens(texts)
        return encoded, token_ids, token_index, lengths

    def generate() -> Iterator:
        stats.passes += 1
        batch: list[str] = []
        for text in iter_texts(data, text_column):
            for transform in transforms:
                text = transform(text)
            if not all(keep(text) for keep in filters):
                stats.filtered += 1
                continue
            if not text.strip():
                # An empty document would be a window of pure padding: no signal.
                stats.empty += 1
                continue
            stats.used += 1
            batch.append(preprocessor.normalize(text) if tokenizer is not None else text)
            if len(batch) == _SOURCE_BATCH:
                yield flush(batch)
                batch = []
        if batch:
            yield flush(batch)

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
) -> tf.data.Dataset:
    """Batches of int32 ids (batch, length): one random window per document.

    Documents longer than the length give a random window each pass; shorter
    ones are padded. Empty and whitespace-only documents are skipped and
    counted in `stats`. With a `seed`, shuffling and windows are reproducible.

    Args:
        data: anything `cclm.texts.iter_texts` reads; read lazily, every pass.
        preprocessor: a fitted `Preprocessor`.
        batch_size: documents per batch.
        sequence_length: window length (default: the preprocessor's).
        text_column: the text column of a `datasets` dataset.
        transforms: `str -> str` functions applied to each document, in order.
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
    """
    encoder = preprocessor.as_layer(sequence_length)
    capacity = encoder.sequence_length - int(encoder.add_cls)
    stats = stats if stats is not None else TextStats()
    if with_subwords and preprocessor.subword_tokenizer is None:
        raise ValueError(
            "with_subwords=True needs a preprocessor with a subword tokenizer; create it with "
            "subword_model='bpe' (or 'wordpiece') and fit it."
        )
    generator = _text_batches(
        data, text_column, tuple(transforms), tuple(filters), stats,
        preprocessor if with_subwords else None,
    )
    if with_subwords:
        flat = tf.TensorSpec([None], tf.int32)
        documents = tf.data.Dataset.from_generator(
            generator, output_signature=(tf.TensorSpec([None], tf.string), flat, flat, tf.TensorSpec([None], tf.int64))
        ).map(
            lambda texts, token_ids, token_index, lengths: (
                texts,
                tf.RaggedTensor.from_row_lengths(token_ids, lengths),
                tf.RaggedTensor.from_row_lengths(token_index, lengths),
            )
        )
    else:
        documents = tf.data.Dataset.from_generator(generator, output_signature=tf.TensorSpec([None], tf.string))
    documents = documents.unbatch()
    if shuffle_buffer:
        documents = documents.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    # New windows every pass (epoch), yet reproducible for a given seed.
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=rerandomize).batch(2)
    map_options = {"num_parallel_calls": tf.data.AUTOTUNE, "deterministic": seed is not None}

    def to_ids(code_points: tf.Tensor, valid: tf.Tensor) -> tf.Tensor:
        ids = tf.where(valid, encoder.lookup(tf.cast(code_points, tf.int32)), special_ids.PAD_ID)
        return encoder.with_cls(ids)

    if not with_subwords:
        def windows(batch: tf.Tensor, window_seed: tf.Tensor) -> tf.Tensor:
            return to_ids(*random_windows(encoder.code_points(batch), capacity, window_seed))

        return tf.data.Dataset.zip(documents.batch(batch_size), seeds).map(windows, **map_options)

    def subword_windows(batch: tuple, window_seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        texts, token_ids, token_index = batch
        # The texts were normalized in Python, where the tokenizer saw them.
        code_points = tf.strings.unicode_decode(texts, "UTF-8")
        tf.debugging.assert_equal(
            code_points.row_lengths(), token_ids.row_lengths(),
            message="subword alignment lost: texts and token arrays differ in length",
        )
        starts = _window_starts(code_points.row_lengths(), capacity, window_seed)
        ids = to_ids(*_crop(code_points, starts, capacity, fill=0))
        aligned = [_crop(rows, starts, capacity, fill=-1)[0] for rows in (token_ids, token_index)]
        if encoder.add_cls:
            aligned = [tf.pad(rows, [[0, 0], [1, 0]], constant_values=-1) for rows in aligned]
        return ids, aligned[0], aligned[1]

    return tf.data.Dataset.zip(documents.ragged_batch(batch_size), seeds).map(subword_windows, **map_options)
