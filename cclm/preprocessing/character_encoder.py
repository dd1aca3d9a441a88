"""`CharacterEncoder`: the preprocessor's text -> ids mapping as a Keras layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

import cclm.keras_objects as keras_objects  # noqa: PLR0402  (`from cclm import` imports the facade)
import cclm.preprocessing.special_ids as special_ids  # noqa: PLR0402  (`from` form: an import cycle)
from cclm.preprocessing.character_vocabulary import CharacterVocabulary
from cclm.preprocessing.normalization import prefix_length

# Invalid UTF-8 decodes to a surrogate code point, which no vocabulary holds,
# so each invalid byte becomes the unknown id.
_INVALID_UTF8_CODE_POINT = 0xD800


@keras.saving.register_keras_serializable(package="cclm")
class CharacterEncoder(keras.layers.Layer):
    """Maps `tf.string` texts (batch,) to int32 ids (batch, sequence_length) in graph.

    Gives exactly the ids of `Preprocessor.encode` for the same texts and
    length: the same Unicode normalization (ICU, via `tensorflow-text`), the
    same lookup table, the same truncation (the end of a long text is cut) and
    padding. Use it in `tf.data` pipelines or as the first layer of a model
    that takes raw strings. Usually made with `Preprocessor.as_layer()`.

    Python strings holding lone surrogates cannot become `tf.string`; convert
    them with `cclm.data.encoding.utf8_bytes`, which keeps one unknown id per surrogate.

    Args:
        characters: the vocabulary, as `Preprocessor.characters`.
        sequence_length: the output length.
        normalization: `"NFC"`, `"NFKC"`, `"NFD"`, `"NFKD"` or `None`.
        lowercase: fold uppercase characters onto their lowercase ids.
        add_cls: put `special_ids.CLS_ID` first.

    Example:
    >>> import tensorflow as tf
    >>> encoder = CharacterEncoder(characters=["a", "b"], sequence_length=4)
    >>> encoder(tf.constant(["ab", "bz"])).numpy().tolist()
    [[5, 6, 0, 0], [6, 1, 0, 0]]
    """

    def __init__(
        self,
        characters: Sequence[str],
        sequence_length: int,
        normalization: str | None = "NFC",
        lowercase: bool = False,
        add_cls: bool = False,
        **kwargs: Any,
    ):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.characters = list(characters)
        self.sequence_length = sequence_length
        self.normalization = normalization
        self.lowercase = lowercase
        self.add_cls = add_cls
        table = CharacterVocabulary(self.characters, lowercase=lowercase).lookup_table
        self._table = tf.constant(table, dtype=tf.int32)
        self._table_last = len(table) - 1
        if normalization is not None:
            import tensorflow_text  # noqa: F401  (registers the ICU normalization op)

    def code_points(self, texts: tf.Tensor, capacity: int | None = None) -> tf.RaggedTensor:
        """Normalized code points of each text, (batch, None) ragged int32.

        With `capacity`, only each text's first `prefix_length(capacity)`
        characters are normalized, as `Preprocessor.encode` does
        (`cclm.preprocessing.normalization`), and `capacity` are returned.
        """
        texts = tf.convert_to_tensor(texts, dtype=tf.string)
        if texts.shape.rank == 0:
            raise ValueError("The encoder reads a (batch,) string tensor, got one string: pass [text], or batch a "
                             "tf.data.Dataset before mapping it (dataset.batch(n).map(layer)).")
        if texts.shape.rank == 2:  # keras.Input(shape=(1,), dtype="string")
            texts = tf.squeeze(texts, axis=-1)
        if capacity is not None:
            raw = tf.strings.unicode_decode(
                texts, "UTF-8", errors="replace", replacement_char=_INVALID_UTF8_CODE_POINT
            )
            if self.normalization is None:
                return raw[:, :capacity]
            texts = tf.strings.unicode_encode(raw[:, :prefix_length(capacity)], "UTF-8")
            return self.code_points(texts)[:, :capacity]
        if self.normalization is not None:
            import tensorflow_text

            texts = tensorflow_text.normalize_utf8(texts, self.normalization)
        return tf.strings.unicode_decode(
            texts, "UTF-8", errors="replace", replacement_char=_INVALID_UTF8_CODE_POINT
        )

    def lookup(self, code_points: tf.Tensor) -> tf.Tensor:
        """Maps code points (any shape, dense) to ids through the vocabulary table."""
        return tf.gather(self._table, tf.minimum(code_points, self._table_last))

    def call(self, texts: tf.Tensor) -> tf.Tensor:
        offset = int(self.add_cls)
        capacity = self.sequence_length - offset
        code_points = self.code_points(texts, capacity)
        ids = tf.ragged.map_flat_values(self.lookup, code_points)
        ids = ids.to_tensor(default_value=special_ids.PAD_ID, shape=[None, capacity])
        return self.with_cls(ids)

    def with_cls(self, ids: tf.Tensor) -> tf.Tensor:
        """Prepends the cls id when `add_cls`, else returns `ids` unchanged."""
        if not self.add_cls:
            return ids
        cls = tf.fill([tf.shape(ids)[0], 1], tf.constant(special_ids.CLS_ID, tf.int32))
        return tf.concat([cls, ids], axis=1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.sequence_length)

    def compute_output_spec(self, texts: Any) -> keras.KerasTensor:
        return keras.KerasTensor((texts.shape[0], self.sequence_length), dtype="int32")

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "characters": self.characters,
                "sequence_length": self.sequence_length,
                "normalization": self.normalization,
                "lowercase": self.lowercase,
                "add_cls": self.add_cls,
            }
        )
        return config


keras_objects.ready(__name__)  # last: registers cclm's Keras classes once this import is done
