"""Character-id windows from documents, in graph ops: the stages every task composes.

    read_documents -> batch_documents -> cut_windows -> [corrupt_windows] -> the task's own stage
    (cclm.pipelines.documents)                                               (labels, masking, ...)

Each stage takes and gives a `tf.data.Dataset`. From `cut_windows` on, an
element is one batch as a dict: `"ids"` (batch, length) int32, whatever the
documents carried (`"labels"`, and per-character `"token_ids"` /
`"token_index"` cut from the same windows), the window's `"code_points"`
and its `"seed"`. `corrupt_windows` adds `"corrupted_ids"`. A task keeps
the keys it needs (`CategoricalPretrainer`: ids and labels;
`MaskedLanguagePretrainer`: ids, masked). `character_windows` composes the
stages for the common cases.

Example:
>>> from cclm.preprocessing import Preprocessor
>>> prep = Preprocessor(sequence_length=8).fit(["an example text"], progress=False)
>>> windows = character_windows(["an example text", "more"], prep, 2, sampling=Sampling(seed=0))
>>> batch = next(iter(windows))
>>> batch["ids"].shape, sorted(batch)
(TensorShape([2, 8]), ['code_points', 'ids', 'seed', 'valid'])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from cclm.data.texts import TextData
from cclm.pipelines.augmentation import Augmentor, is_graph_augmentor
from cclm.pipelines.documents import DocumentSource, TextStats, read_documents
from cclm.pipelines.sharding import shard_seed
import cclm.preprocessing.special_ids as special_ids

_CORRUPTION_SALT = 1 << 20
SEPARATOR_POINT = -1
"""The code point between packed documents (none is negative); it encodes to `special_ids.SEP_ID`."""
PACK_GROUP = 8


@dataclass(frozen=True)
class Sampling:
    """How windows are drawn: new random ones every pass for training, fixed ones otherwise.

    Args:
        seed: seed for shuffling, windows and noise (reproducible when set).
        shuffle_buffer: documents held for shuffling (0: no shuffling).
        rerandomize: new windows every pass (training); False keeps them
            fixed across passes (validation).
        random_crop: cut long documents at a random place; False keeps their
            start, as `Preprocessor.encode` does.
        augment: apply the training `Augmentor`s (False for validation and evaluation).
    """

    seed: int | None = None
    shuffle_buffer: int = 10_000
    rerandomize: bool = True
    random_crop: bool = True
    augment: bool = True

    @classmethod
    def for_fit(cls, seed: int | None, training: bool, random_crop: bool = True) -> "Sampling":
        """Training: shuffled, random, augmented. Validation: seed 0, in order, fixed, clean.

        `random_crop=False` keeps the start of long documents (as `encode` does).
        """
        if training:
            return cls(seed=seed, random_crop=random_crop)
        return cls(seed=0, shuffle_buffer=0, rerandomize=False, random_crop=random_crop, augment=False)


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


def batch_documents(documents: tf.data.Dataset, batch_size: int, sampling: Sampling) -> tf.data.Dataset:
    """Shuffled (per `sampling`) batches of documents, each with its own `"seed"` for what follows."""
    if sampling.shuffle_buffer:
        documents = documents.shuffle(sampling.shuffle_buffer, seed=sampling.seed, reshuffle_each_iteration=True)
    ragged = "token_ids" in documents.element_spec
    batches = documents.ragged_batch(batch_size) if ragged else documents.batch(batch_size)
    # New windows every pass (epoch), yet reproducible for a given seed.
    seeds = tf.data.Dataset.random(seed=sampling.seed, rerandomize_each_iteration=sampling.rerandomize).batch(2)
    return tf.data.Dataset.zip(batches, seeds).map(lambda batch, seed: {**batch, "seed": seed})


def _encode(encoder: Any, points: tf.Tensor, valid: tf.Tensor) -> tf.Tensor:
    separator = points == SEPARATOR_POINT
    ids = tf.where(separator, special_ids.SEP_ID, encoder.lookup(tf.cast(tf.where(separator, 0, points), tf.int32)))
    return encoder.with_cls(tf.where(valid, ids, special_ids.PAD_ID))


def cut_windows(
    batches: tf.data.Dataset, encoder: Any, sampling: Sampling, augmentors: Sequence[Augmentor] = ()
) -> tf.data.Dataset:
    """One window of `encoder.sequence_length` ids per document, with training noise where `sampling.augment`.

    `encoder` is a `Preprocessor.as_layer()`. Documents longer than the
    window give a random window (a fixed one without `sampling.random_crop`);
    shorter ones are padded. Subword arrays are cut from the same windows.
    """
    capacity = encoder.sequence_length - int(encoder.add_cls)
    augmentors = list(augmentors) if sampling.augment else []

    def cut(batch: dict[str, Any]) -> dict[str, Any]:
        batch = dict(batch)
        seed = batch["seed"]
        texts = batch.pop("texts")
        if "token_ids" in batch:
            # The texts were normalized in Python, where the tokenizer saw them.
            code_points = tf.strings.unicode_decode(texts, "UTF-8")
            tf.debugging.assert_equal(
                code_points.row_lengths(), batch["token_ids"].row_lengths(),
                message="subword alignment lost: texts and token arrays differ in length",
            )
        else:
            code_points = encoder.code_points(texts)
        for salt, augmentor in enumerate(augmentors, start=1):
            code_points = augmentor.augment_code_points(code_points, tf.random.experimental.stateless_fold_in(seed, salt))
        starts = _window_starts(code_points.row_lengths(), capacity, seed)
        if not sampling.random_crop:
            starts = tf.zeros_like(starts)
        points, valid = _crop(code_points, starts, capacity, fill=0)
        batch.update(ids=_encode(encoder, points, valid), code_points=points, valid=valid)
        for key in ("token_ids", "token_index"):
            if key in batch:
                aligned = _crop(batch[key], starts, capacity, fill=-1)[0]
                batch[key] = tf.pad(aligned, [[0, 0], [1, 0]], constant_values=-1) if encoder.add_cls else aligned
        return batch

    return batches.map(cut, num_parallel_calls=tf.data.AUTOTUNE, deterministic=sampling.seed is not None)


def pack_windows(
    batches: tf.data.Dataset, encoder: Any, batch_size: int, sampling: Sampling, augmentors: Sequence[Augmentor] = ()
) -> tf.data.Dataset:
    """Windows filled end to end with documents, a separator (`special_ids.SEP_ID`) after each.

    For pretraining on short documents: where `cut_windows` gives each
    document its own mostly padded window, packing puts several in one, so
    nearly every position is a real character. `character_windows` packs
    documents in the order they come (neighbouring lines of a file, or
    messages of one catalog, share a window, as they share a context) and
    shuffles the windows (`sampling.shuffle_buffer` of them). Each batch of documents
    becomes as many full windows as its characters fill (the rest of the
    last one is dropped; a batch shorter than one window gives one padded
    window); a document longer than a window continues into the next. The
    windows are re-batched to `batch_size`, each batch with a new `"seed"`.
    Elements are the same dicts as `cut_windows`' (without labels or
    subword arrays: packing is for character targets).
    """
    capacity = encoder.sequence_length - int(encoder.add_cls)
    augmentors = list(augmentors) if sampling.augment else []

    def pack(batch: dict[str, Any]) -> dict[str, Any]:
        code_points = encoder.code_points(batch["texts"])
        for salt, augmentor in enumerate(augmentors, start=1):
            code_points = augmentor.augment_code_points(
                code_points, tf.random.experimental.stateless_fold_in(batch["seed"], salt)
            )
        separators = tf.fill([code_points.nrows(), 1], tf.cast(SEPARATOR_POINT, code_points.dtype))
        flat = tf.concat([code_points, separators], axis=1).flat_values
        count = tf.maximum(tf.size(flat, out_type=tf.int64) // capacity, 1)
        size = count * capacity
        valid = tf.reshape(tf.range(size) < tf.size(flat, out_type=tf.int64), [count, capacity])
        flat = tf.pad(flat, [[0, tf.maximum(size - tf.size(flat, out_type=tf.int64), 0)]])[:size]
        points = tf.reshape(flat, [count, capacity])
        return {"ids": _encode(encoder, points, valid), "code_points": points, "valid": valid}

    deterministic = sampling.seed is not None
    windows = batches.map(pack, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    windows = windows.unbatch()
    if sampling.shuffle_buffer:
        windows = windows.shuffle(sampling.shuffle_buffer, seed=sampling.seed, reshuffle_each_iteration=True)
    windows = windows.batch(batch_size)
    seeds = tf.data.Dataset.random(
        seed=None if sampling.seed is None else sampling.seed + _CORRUPTION_SALT, rerandomize_each_iteration=sampling.rerandomize
    ).batch(2)
    return tf.data.Dataset.zip(windows, seeds).map(lambda batch, seed: {**batch, "seed": seed})


def check_corruption(corruption: Any) -> Augmentor:
    """`corruption` itself when it is an `Augmentor` that keeps lengths (denoising targets are per character)."""
    if not is_graph_augmentor(corruption) or not corruption.preserves_length:
        raise ValueError(
            f"corruption={corruption!r}: a denoising target is aligned to characters, so the corruption "
            "must be an Augmentor that keeps lengths, e.g. Augmentor.typos(0.1, keep_length=True)."
        )
    return corruption


def corrupt_windows(windows: tf.data.Dataset, encoder: Any, corruption: Augmentor) -> tf.data.Dataset:
    """Adds `"corrupted_ids"`: the same windows with `corruption`'s noise (it keeps lengths), for denoising."""
    check_corruption(corruption)

    def corrupt(batch: dict[str, Any]) -> dict[str, Any]:
        points = batch["code_points"]
        separator = points == SEPARATOR_POINT  # packed windows: separators are not text; they stay
        rows = tf.RaggedTensor.from_tensor(
            tf.where(separator, tf.cast(ord(" "), points.dtype), points),
            lengths=tf.reduce_sum(tf.cast(batch["valid"], tf.int64), 1),
        )
        seed = tf.random.experimental.stateless_fold_in(batch["seed"], _CORRUPTION_SALT)
        noisy = corruption.augment_code_points(rows, seed).to_tensor(shape=tf.shape(points))
        noisy = tf.where(separator, tf.cast(SEPARATOR_POINT, noisy.dtype), noisy)
        return {**batch, "corrupted_ids": _encode(encoder, noisy, batch["valid"])}

    return windows.map(corrupt, num_parallel_calls=tf.data.AUTOTUNE)


def character_windows(
    data: TextData,
    preprocessor: Any,
    batch_size: int,
    sequence_length: int | None = None,
    source: DocumentSource | None = None,
    sampling: Sampling = Sampling(),
    augmentors: Sequence[Augmentor] = (),
    subwords: bool = False,
    stats: TextStats | None = None,
    pack: bool = False,
) -> tf.data.Dataset:
    """The stages composed: dict batches of windows (see the module docstring) from `data`.

    Args:
        data: what to read (ignored when `source` names it).
        preprocessor: a fitted `Preprocessor`.
        batch_size: documents per batch.
        sequence_length: window length (default: the preprocessor's).
        source: how to read it (`DocumentSource`: text column, Python
            transforms and filters, labels, shard); default: plain texts.
        sampling: `Sampling` (default: training windows, no seed).
        augmentors: `Augmentor`s applied to each batch's code points before
            windows are cut (when `sampling.augment`).
        subwords: also cut per-character subword arrays (the preprocessor
            needs a subword tokenizer; augmentors must then keep lengths).
        stats: counts used, empty and filtered documents (when `source` is None).
        pack: fill windows end to end with documents (`pack_windows`); for
            unlabelled character targets only.
    """
    if source is None:
        source = DocumentSource(data, stats=stats if stats is not None else TextStats())
    if subwords and preprocessor.subword_tokenizer is None:
        raise ValueError(
            "subwords=True needs a preprocessor with a subword tokenizer; create it with "
            "subword_model='bpe' (or 'wordpiece') and fit it."
        )
    if subwords and not all(a.preserves_length for a in augmentors):
        raise ValueError(
            "Subword targets are aligned to characters, so an Augmentor used with them must keep "
            "lengths: set insertion, deletion and repetition to 0, or use target='characters'."
        )
    if pack and (subwords or source.labels is not None):
        raise ValueError("pack=True fills windows with several documents; it works for unlabelled character "
                         "targets only (no labels, subwords=False).")
    sampling = dataclasses.replace(sampling, seed=shard_seed(sampling.seed, source.shard))
    documents = read_documents(source, preprocessor if subwords else None)
    encoder = preprocessor.as_layer(sequence_length)
    if pack:  # neighbouring documents packed in groups of 8 batches; the windows are shuffled
        groups = batch_documents(documents, batch_size * PACK_GROUP, dataclasses.replace(sampling, shuffle_buffer=0))
        return pack_windows(groups, encoder, batch_size, sampling, augmentors)
    return cut_windows(batch_documents(documents, batch_size, sampling), encoder, sampling, augmentors)
