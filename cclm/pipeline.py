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
) -> Callable[[], Iterator[np.ndarray]]:
    def generate() -> Iterator[np.ndarray]:
        stats.passes += 1
        batch: list[bytes] = []
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
            batch.append(utf8_bytes(text))
            if len(batch) == _SOURCE_BATCH:
                yield np.array(batch, dtype=object)
                batch = []
        if batch:
            yield np.array(batch, dtype=object)

    return generate


def random_windows(code_points: tf.RaggedTensor, capacity: int, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """One random window of at most `capacity` code points per row, vectorized.

    Returns dense (batch, capacity) code points and a boolean mask of real ones.
    A row no longer than `capacity` is taken whole, from its start.
    """
    lengths = code_points.row_lengths()
    spare = tf.maximum(lengths - capacity, 0)
    draw = tf.random.stateless_uniform(tf.shape(lengths), tf.cast(seed, tf.int64))
    starts = tf.minimum(tf.cast(draw * tf.cast(spare + 1, tf.float32), tf.int64), spare)
    offsets = tf.range(capacity, dtype=tf.int64)[None, :]
    valid = offsets < tf.minimum(lengths, capacity)[:, None]
    positions = code_points.row_starts()[:, None] + starts[:, None] + offsets
    # One extra slot makes the gather safe where a position is not valid.
    values = tf.concat([code_points.flat_values, tf.zeros([1], code_points.dtype)], axis=0)
    padding_slot = tf.shape(values, out_type=tf.int64)[0] - 1
    gathered = tf.gather(values, tf.where(valid, positions, padding_slot))
    return gathered, valid


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
    """
    encoder = preprocessor.as_layer(sequence_length)
    capacity = encoder.sequence_length - int(encoder.add_cls)
    stats = stats if stats is not None else TextStats()
    texts = tf.data.Dataset.from_generator(
        _text_batches(data, text_column, tuple(transforms), tuple(filters), stats),
        output_signature=tf.TensorSpec([None], tf.string),
    ).unbatch()
    if shuffle_buffer:
        texts = texts.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    # New windows every pass (epoch), yet reproducible for a given seed.
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=rerandomize).batch(2)
    batches = tf.data.Dataset.zip(texts.batch(batch_size), seeds)

    def to_ids(batch: tf.Tensor, window_seed: tf.Tensor) -> tf.Tensor:
        code_points, valid = random_windows(encoder.code_points(batch), capacity, window_seed)
        ids = tf.where(valid, encoder.lookup(tf.cast(code_points, tf.int32)), special_ids.PAD_ID)
        return encoder.with_cls(ids)

    return batches.map(to_ids, num_parallel_calls=tf.data.AUTOTUNE, deterministic=seed is not None)
