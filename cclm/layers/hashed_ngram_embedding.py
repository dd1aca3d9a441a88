"""`HashedNgramEmbedding`: each position also gets embeddings of the character n-grams ending there."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

_PRIME = 2_147_483_647  # 2**31 - 1: rolling hashes stay below it, so int64 products never overflow
_BASE = 1_000_003
_MIX = 2_654_435_761  # Knuth's multiplicative hash constant


def hashed_ngrams(ids: Any, buckets: int, min_n: int, max_n: int) -> Any:
    """(batch, length) ids -> (batch, length, max_n - min_n + 1) hashes of the n-grams ending at each position.

    A rolling polynomial hash of the n ids ending at a position (ids before
    the text's start count as 0), mixed and reduced to `buckets` rows; n runs
    from `min_n` (1 or more) to `max_n`.
    """
    ids = ops.cast(ids, "int64")
    rolling, rows = ids + 1, []
    for n in range(1, max_n + 1):
        if n > 1:
            previous = ops.pad(rolling[:, :-1], [[0, 0], [1, 0]], constant_values=1)  # before the start: id 0
            rolling = ops.mod(previous * _BASE + ids + 1, _PRIME)
        if n >= min_n:
            mixed = ops.mod((rolling + n * 7919) * _MIX, 2**32)
            rows.append(ops.mod(mixed, buckets))
    return ops.stack(rows, axis=-1)


@keras.saving.register_keras_serializable(package="cclm")
class HashedNgramEmbedding(keras.layers.Layer):
    """Ids (batch, length) -> the sum of embeddings of the n-grams ending at each position.

    For every position and every n in 2..`max_n`, the ids of the n
    characters ending there are hashed (a rolling polynomial hash, in the
    graph) into one of `buckets` rows of a shared table; the rows are
    summed. Characters before the text's start count as id 0, so n-grams at
    the start differ from the same n-grams inside a word. This is the
    bag of hashed n-grams that fastText and CLD3 build on, and BLT's
    strongest ablation: a character model sees "the" and "ing" from its
    first layer instead of having to learn them. Hashes depend only on the
    ids, so the same text always uses the same rows.

    Args:
        buckets: rows of the n-gram table.
        output_dim: width of each embedding.
        max_n: the longest n-gram (2 or more).
        embeddings_initializer: initializer of the table.
        hash_ids: the id each id is hashed as (default: itself), so a
            vocabulary with ids removed and renumbered keeps every n-gram's
            row (`cclm.compression.trim_vocabulary`).

    Example:
    >>> import numpy as np
    >>> layer = HashedNgramEmbedding(buckets=64, output_dim=4, max_n=3)
    >>> ids = np.array([[5, 6, 7, 0], [9, 5, 6, 7]], "int32")
    >>> vectors = layer(ids).numpy()
    >>> vectors.shape
    (2, 4, 4)
    >>> same = lambda a, b: bool(np.allclose(vectors[a], vectors[b]))
    >>> same((0, 2), (1, 3)), same((0, 1), (1, 2))  # "67" + "567" twice; "56" after the start or after 9
    (True, False)
    """

    def __init__(
        self, buckets: int = 2048, output_dim: int = 128, max_n: int = 4,
        embeddings_initializer: str | keras.initializers.Initializer = "uniform",
        hash_ids: Sequence[int] | None = None, **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if buckets < 1 or max_n < 2:
            raise ValueError(f"buckets={buckets}, max_n={max_n}: use buckets >= 1 and max_n >= 2.")
        self.buckets = int(buckets)
        self.output_dim = int(output_dim)
        self.max_n = int(max_n)
        self.hash_ids = None if hash_ids is None else [int(i) for i in hash_ids]
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.table = keras.layers.Embedding(
            self.buckets, self.output_dim, embeddings_initializer=self.embeddings_initializer, name="ngram_table"
        )

    def build(self, input_shape: tuple) -> None:
        self.table.build((None,))

    def bucket_ids(self, ids: Any) -> Any:
        """(batch, length) ids -> (batch, length, max_n - 1) bucket rows, n = 2..max_n."""
        if self.hash_ids is not None:
            ids = ops.take(ops.convert_to_tensor(self.hash_ids, "int32"), ops.cast(ids, "int32"))
        return hashed_ngrams(ids, self.buckets, 2, self.max_n)

    def call(self, ids: Any) -> Any:
        vectors = ops.sum(self.table(self.bucket_ids(ids)), axis=-2)
        return vectors * ops.cast(ids != 0, vectors.dtype)[..., None]  # padding (id 0) gets zeros

    def compute_mask(self, ids: Any, mask: Any = None) -> Any:
        return ids != 0  # as the character embedding's mask_zero

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape, self.output_dim)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "buckets": self.buckets, "output_dim": self.output_dim, "max_n": self.max_n,
            "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
            "hash_ids": self.hash_ids,
        })
        return config
