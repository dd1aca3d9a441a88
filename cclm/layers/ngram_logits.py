"""`NgramLogits`: label scores from a text's bag of hashed character n-grams, TF-IDF weighted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from cclm.layers.hashed_ngram_embedding import hashed_ngrams


@keras.saving.register_keras_serializable(package="cclm")
class NgramLogits(keras.Model):
    """Ids (batch, length) -> logits (batch, num_labels), linear in the text's TF-IDF n-gram vector.

    A Keras model (as `LabelHead`), so that it saves and loads its own weights.

    Every character n-gram (n = 1 to `max_n`) ending at a non-padding
    position is hashed into one of `buckets` rows (as in
    `HashedNgramEmbedding`). A text's vector holds, for each distinct row,
    `(1 + log count) * idf[row]`, scaled to unit length: the sublinear
    TF-IDF of a character n-gram vectorizer, computed in the graph with no
    vocabulary. The logits are that vector times `kernel` (buckets, labels).
    `idf` and `kernel` are not trained by gradient: they are set from data
    (`cclm.classification.wide_ridge.fit_wide_ridge`) and saved with the layer.

    Args:
        num_labels: the number of logits.
        max_n: the longest n-gram.
        buckets: rows of the hashed n-gram space.
        fold: an id for every id, applied before hashing (e.g. each
            character's lowercase: `case_folding(preprocessor)`); default: none.

    Example:
    >>> import numpy as np
    >>> layer = NgramLogits(num_labels=2, max_n=2, buckets=64)
    >>> rows, counts = layer.bag(np.array([[5, 6, 5, 6, 0]], "int32"))
    >>> sorted(int(c) for c in np.asarray(counts)[0] if c > 0)  # "5" "6" "56" twice, "65" and "^5" once
    [1, 1, 2, 2, 2]
    >>> layer(np.array([[5, 6, 0]], "int32")).shape
    TensorShape([1, 2])
    """

    def __init__(
        self, num_labels: int, max_n: int = 4, buckets: int = 2**17, fold: Sequence[int] | None = None, **kwargs: Any
    ):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        if num_labels < 1 or max_n < 1 or buckets < 1:
            raise ValueError(f"num_labels={num_labels}, max_n={max_n}, buckets={buckets}: use positive ints.")
        self.num_labels = int(num_labels)
        self.max_n = int(max_n)
        self.buckets = int(buckets)
        self.fold = None if fold is None else [int(i) for i in fold]

    def build(self, input_shape: tuple) -> None:
        self.idf = self.add_weight(shape=(self.buckets,), initializer="ones", trainable=False, name="idf")
        self.kernel = self.add_weight(
            shape=(self.buckets, self.num_labels), initializer="zeros", trainable=False, name="kernel"
        )

    def bag(self, ids: Any) -> tuple[Any, Any]:
        """(batch, length) ids -> (rows, counts), both (batch, used * max_n), `used` the longest text's length.

        `rows` are the n-gram rows of each text, sorted; `counts` holds how
        often a row occurs in the text at the row's first slot, and 0 on every
        other slot (repeats and padding).
        """
        ids = ops.convert_to_tensor(ids)
        # Only as far as the batch's longest text: ids padded to a long reach cost no more than their text.
        positions = ops.arange(1, ops.shape(ids)[1] + 1, dtype="int32")
        used = ops.max(ops.where(ops.any(ids != 0, axis=0), positions, 1), initial=1)
        ids = ids[:, :used]
        if self.fold is not None:
            ids = ops.take(ops.convert_to_tensor(self.fold, ids.dtype), ids)
        batch, length = ops.shape(ids)[0], ops.shape(ids)[1]
        slots = length * self.max_n
        hashes = hashed_ngrams(ids, self.buckets, 1, self.max_n)  # (batch, length, max_n)
        padding = ops.repeat(ops.expand_dims(ids == 0, -1), self.max_n, axis=-1)
        hashes = ops.where(padding, self.buckets, hashes)  # padding sorts last, as one out-of-range row
        rows = ops.sort(ops.reshape(hashes, (batch, slots)), axis=-1)
        first = ops.concatenate([ops.ones((batch, 1), "bool"), rows[:, 1:] != rows[:, :-1]], axis=1)
        run = ops.cumsum(ops.cast(first, "int32"), axis=1) - 1  # each slot's distinct-row index in its text
        offsets = ops.expand_dims(ops.arange(batch, dtype="int32") * slots, -1)
        sizes = ops.segment_sum(ops.ones((batch * slots,)), ops.reshape(run + offsets, (-1,)), num_segments=batch * slots)
        counts = ops.take_along_axis(ops.reshape(sizes, (batch, slots)), run, axis=1)
        counts = ops.where(first & (rows < self.buckets), counts, 0.0)
        return ops.cast(ops.minimum(rows, self.buckets - 1), "int32"), counts

    def call(self, ids: Any) -> Any:
        rows, counts = self.bag(ids)
        weights = ops.where(counts > 0, 1.0 + ops.log(ops.maximum(counts, 1.0)), 0.0) * ops.take(self.idf, rows)
        norms = ops.sqrt(ops.sum(weights**2, axis=1, keepdims=True))
        weights = weights / ops.maximum(norms, 1e-12)
        return ops.sum(ops.expand_dims(weights, -1) * ops.take(self.kernel, rows, axis=0), axis=1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.num_labels)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"num_labels": self.num_labels, "max_n": self.max_n, "buckets": self.buckets, "fold": self.fold})
        return config


def case_folding(preprocessor: Any) -> list[int]:
    """For each id of `preprocessor`, the id of its character's lowercase (itself where that is not one character in the vocabulary)."""
    characters = preprocessor.characters
    first = preprocessor.vocab_size - len(characters)  # the special ids come first and map to themselves
    fold = list(range(preprocessor.vocab_size))
    index = {character: first + offset for offset, character in enumerate(characters)}
    for offset, character in enumerate(characters):
        fold[first + offset] = index.get(character.lower(), first + offset)
    return fold
