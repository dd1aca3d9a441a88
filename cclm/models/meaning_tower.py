"""`MeaningTower`: a text's meaning from a table of hashed word n-grams, read from character ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from cclm.layers.word_ngrams import WordNgramBag
from cclm.models.freezing import set_trainable

TABLE_DTYPES = ("float32", "float16", "int8")


@keras.saving.register_keras_serializable(package="cclm")
class MeaningTower(keras.Model):
    """Ids (batch, length) -> the text's vector at every position (batch, length, output_dim), padding zero.

    A static embedding in the manner of fastText and Model2Vec, read from
    the same character ids as the other towers: each word is the mean of
    the table rows of its hashed character n-grams and of the whole word
    (`cclm.layers.WordNgramBag`), the text the mean of its words (scaled
    to length 1 with `normalize=True`, as a sentence encoder's are). The table
    is set by `cclm.pretraining.MeaningPretrainer`, which distils a sentence
    encoder into it, so that a misspelt or unseen word still lands near
    words that share its n-grams. The vector is the same at every position
    of a text, so any pooling of the composition gives it back. Unlike the
    other towers it reads ids, not the embedder's vectors (`reads_ids`):
    it composes with any embedder of the same preprocessor.

    Args:
        codes: each id's code point in words, or 0 (`cclm.layers.word_ngrams.word_codes(preprocessor)`).
        buckets: rows of the table.
        output_dim: the width of the vectors.
        min_n, max_n: the n-grams' lengths, boundary marks included.
        table_dtype: how the table is stored: "float32", "float16" (half the
            size) or "int8" (a quarter: each row scaled to [-127, 127], its
            scale kept beside it); vectors are computed in float32 either way.
        normalize: scale each text's vector to length 1, as sentence
            encoders do: for sentence vectors compared by dot products. A
            head on the plain mean predicts through a folded table, in one
            lookup of a few logits per n-gram (`folded`).

    Example:
    >>> import numpy as np
    >>> tower = MeaningTower(codes=[0, 0, 0, 0, 0, 97, 98, 0], buckets=64, output_dim=4)
    >>> vectors = tower(np.array([[5, 6, 7, 0]], "int32")).numpy()
    >>> vectors.shape, bool((vectors[0, 3] == 0).all()), bool(np.allclose(vectors[0, 0], vectors[0, 2]))
    ((1, 4, 4), True, True)
    """

    reads_ids = True
    downsample_factor = 1

    def __init__(
        self, codes: Sequence[int], buckets: int = 2**17, output_dim: int = 256, min_n: int = 3, max_n: int = 5,
        table_dtype: str = "float16", normalize: bool = False, **kwargs: Any,
    ):
        trainable = kwargs.pop("trainable", True)
        kwargs.setdefault("name", "meaning_tower")
        super().__init__(**kwargs)
        if output_dim < 1:
            raise ValueError(f"output_dim={output_dim}; use an int >= 1.")
        if table_dtype not in TABLE_DTYPES:
            raise ValueError(f"table_dtype={table_dtype!r}; use one of {TABLE_DTYPES}.")
        self.bag = WordNgramBag(codes, buckets, min_n, max_n, name="word_ngrams")
        self.output_dim = int(output_dim)
        self.table_dtype = table_dtype
        self.normalize = bool(normalize)
        self.table = self.add_weight(shape=(self.bag.buckets, self.output_dim), initializer="zeros",
                                     dtype=table_dtype, trainable=False, name="table")
        self.row_scale = None
        if table_dtype == "int8":  # each row's scale: its largest magnitude / 127
            self.row_scale = self.add_weight(shape=(self.bag.buckets,), initializer="ones", dtype="float32",
                                             trainable=False, name="row_scale")
        set_trainable(self, trainable)
        self.table_version = 0  # counts tables set or loaded: folded copies of the table know when they are stale
        self.supports_masking = True
        self.built = True  # every weight exists: the table is its only one

    @property
    def codes(self) -> list[int]:
        return self.bag.codes

    @property
    def vocab_size(self) -> int:
        """The ids this tower reads: those of the preprocessor it was made for."""
        return len(self.bag.codes)

    @property
    def max_length(self) -> int:
        return 2**31 - 1  # no positions are embedded: any length

    def text_vectors(self, ids: Any) -> Any:
        """(batch, length) ids -> (batch, output_dim): each text's vector."""
        rows, weights = self.bag(ids)
        present = tf.where(weights > 0)
        used = tf.gather_nd(rows, present)
        vectors = tf.cast(tf.gather(self.table, used), "float32")
        scale = tf.gather_nd(weights, present)
        if self.row_scale is not None:
            scale = scale * tf.gather(self.row_scale, used)
        vectors = vectors * scale[:, None]
        texts = tf.math.unsorted_segment_sum(vectors, present[:, 0], tf.shape(rows)[0])
        return tf.math.l2_normalize(texts, axis=-1) if self.normalize else texts

    def call(self, ids: Any) -> Any:
        texts = self.text_vectors(ids)
        return texts[:, None, :] * ops.cast(ids != 0, "float32")[..., None]

    def compute_mask(self, ids: Any, mask: Any = None) -> Any:
        return ids != 0

    def compute_output_spec(self, ids: Any) -> keras.KerasTensor:
        return keras.KerasTensor((*ids.shape, self.output_dim), "float32")

    def dense_table(self, rows: slice = slice(None)) -> np.ndarray:
        """The table's `rows` as float32 (int8 rows times their scales)."""
        table = np.asarray(self.table.value[rows], "float32")
        return table if self.row_scale is None else table * np.asarray(self.row_scale.value[rows])[:, None]

    def folded(self, kernel: Any, name: str | None = None) -> FoldedMeaning | MappedMeaning:
        """A layer giving `text_vectors(ids) @ kernel` (`kernel`: (output_dim, width)) with the least work per text.

        A `FoldedMeaning`, whose table holds the rows times `kernel`; or, for
        a tower that normalizes its vectors (not linear in its table), a
        `MappedMeaning` that applies `kernel` to each text's vector.
        """
        kernel = np.asarray(kernel, "float32")
        if kernel.ndim != 2 or kernel.shape[0] != self.output_dim:
            raise ValueError(f"A kernel of shape {kernel.shape}; give one of shape ({self.output_dim}, width).")
        if self.normalize:
            mapped = MappedMeaning(self, kernel.shape[1], name=name or f"{self.name}_mapped")
            mapped.kernel.assign(kernel)
            return mapped
        layer = FoldedMeaning(self.codes, self.bag.buckets, kernel.shape[1], self.bag.min_n, self.bag.max_n,
                              table_dtype="float32", normalize=False, name=name or f"{self.name}_folded")
        step = 8192  # rows at a time: the float32 copy of a whole int8 table would be 4 times its size
        layer.table.assign(np.concatenate([self.dense_table(slice(start, start + step)) @ kernel
                                           for start in range(0, self.bag.buckets, step)]))
        return layer

    def table_state(self) -> tuple[int, bytes]:
        """What tells a folded copy that the table changed: `table_version` and 64 rows' bytes.

        The version counts `set_table`, `set_weights` and loads; the rows
        catch what assigns the variable itself (a containing model's
        `set_weights`) at the cost of reading a few rows.
        """
        step = max(1, self.bag.buckets // 64)
        rows = self.table.value[::step]
        scales = self.row_scale.value[::step] if self.row_scale is not None else rows[:0]
        return self.table_version, np.asarray(rows).tobytes() + np.asarray(scales).tobytes()

    def set_table(self, table: Any) -> None:
        """Sets the table (buckets, output_dim), stored as `table_dtype`."""
        table = np.asarray(table, "float32")
        if table.shape != tuple(self.table.shape):
            raise ValueError(f"A table of shape {table.shape}; this tower's is {tuple(self.table.shape)}.")
        self.table_version += 1
        if self.row_scale is None:
            self.table.assign(table.astype(self.table_dtype))
            return
        scale = np.abs(table).max(axis=1) / 127.0
        scale[scale == 0] = 1.0
        self.table.assign(np.clip(np.round(table / scale[:, None]), -127, 127).astype("int8"))
        self.row_scale.assign(scale.astype("float32"))

    def set_weights(self, weights: list) -> None:
        """Sets the table (and the int8 row scales) as Keras' `set_weights` does; folded copies notice."""
        super().set_weights(weights)
        self.table_version += 1

    def load_own_variables(self, store: Any) -> None:
        """Loads the table from a Keras weights store (`load_weights`, `.keras` files); folded copies notice."""
        super().load_own_variables(store)
        self.table_version += 1

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, plain JSON values."""
        return {
            "name": self.name, "trainable": self.trainable, "codes": self.codes, "buckets": self.bag.buckets,
            "output_dim": self.output_dim, "min_n": self.bag.min_n, "max_n": self.bag.max_n,
            "table_dtype": self.table_dtype, "normalize": self.normalize,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MeaningTower:
        return cls(**config)


@keras.saving.register_keras_serializable(package="cclm")
class FoldedMeaning(MeaningTower):
    """Ids (batch, length) -> (batch, output_dim): a meaning tower's text vectors through a linear map, in one lookup.

    A `MeaningTower`'s text vector is a weighted sum of its table's rows, so
    a linear map of it (a head's kernel) is the same weighted sum of the rows
    mapped. `MeaningTower.folded(kernel)` makes this layer, whose table holds
    them: a text costs rows of the map's width, not of the tower's. A
    `TextClassifier` predicts through it where its head reads meaning towers
    alone (`cclm.classification.prediction`).

    Example:
    >>> import numpy as np
    >>> tower = MeaningTower(codes=[0, 0, 0, 0, 0, 97, 98, 0], buckets=64, output_dim=4, table_dtype="float32")
    >>> tower.set_table(np.random.default_rng(0).normal(size=(64, 4)))
    >>> kernel = np.random.default_rng(1).normal(size=(4, 2)).astype("float32")
    >>> ids = np.array([[5, 6, 7, 5, 0]], "int32")
    >>> bool(np.allclose(tower.folded(kernel)(ids), tower.text_vectors(ids).numpy() @ kernel, atol=1e-5))
    True
    """

    def call(self, ids: Any) -> Any:
        return self.text_vectors(ids)

    def compute_mask(self, ids: Any, mask: Any = None) -> None:
        return None

    def compute_output_spec(self, ids: Any) -> keras.KerasTensor:
        return keras.KerasTensor((ids.shape[0], self.output_dim), "float32")


@keras.saving.register_keras_serializable(package="cclm")
class MappedMeaning(keras.layers.Layer):
    """Ids (batch, length) -> (batch, width): a meaning tower's text vectors through a linear map.

    What `MeaningTower.folded` gives for a tower that normalizes its vectors,
    which are then not linear in its table: the map (a head's kernel) is
    applied to each text's vector, read from the tower's own table, never to
    every position of the text.

    Args:
        tower: the `MeaningTower` (its table is read as it is, not copied).
        width: the map's outputs (e.g. a head's labels).

    Example:
    >>> import numpy as np
    >>> tower = MeaningTower(codes=[0, 0, 0, 0, 0, 97, 98, 0], buckets=64, output_dim=4, table_dtype="float32",
    ...                      normalize=True)
    >>> tower.set_table(np.random.default_rng(0).normal(size=(64, 4)))
    >>> kernel = np.random.default_rng(1).normal(size=(4, 2)).astype("float32")
    >>> ids = np.array([[5, 6, 7, 5, 0]], "int32")
    >>> mapped = tower.folded(kernel)
    >>> type(mapped).__name__, bool(np.allclose(mapped(ids), tower.text_vectors(ids).numpy() @ kernel, atol=1e-5))
    ('MappedMeaning', True)
    """

    def __init__(self, tower: MeaningTower, width: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.tower = tower
        self.width = int(width)
        self.kernel = self.add_weight(shape=(tower.output_dim, self.width), initializer="zeros", trainable=False,
                                      name="kernel")
        self.built = True

    def call(self, ids: Any) -> Any:
        return ops.matmul(self.tower.text_vectors(ids), self.kernel)

    def compute_output_spec(self, ids: Any) -> keras.KerasTensor:
        return keras.KerasTensor((ids.shape[0], self.width), "float32")

    def get_config(self) -> dict[str, Any]:
        """The tower's config and the map's width; the table and kernel are its weights."""
        return {**super().get_config(), "tower": keras.saving.serialize_keras_object(self.tower), "width": self.width}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MappedMeaning:
        config = dict(config)
        return cls(keras.saving.deserialize_keras_object(config.pop("tower")), **config)
