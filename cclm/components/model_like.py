"""`ModelLike`: a component answers `summary`, `count_params` and calls as its Keras model does.

A `TextClassifier`, a `ComposedModel` or a pretrainer is not itself a
`keras.Model` (it also owns a preprocessor, labels and a model card), but it
delegates these to one (`_keras_model`): the model from raw strings to what
the component gives (probabilities for a classifier, vectors for a
composition or a pretrainer's tower), so `component(["some text"])` runs
it on a batch of texts, eagerly or on a symbolic `keras.Input` of strings.

Example:
>>> import keras
>>> class Doubler(ModelLike):
...     def _keras_model(self):
...         inputs = keras.Input((2,))
...         return keras.Model(inputs, keras.layers.Dense(1)(inputs))
>>> Doubler().count_params()
3
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

_SURROGATE = re.compile("[\ud800-\udfff]")


class ModelLike:
    """Adds Keras' `summary`, `count_params` and `__call__`; a subclass gives `_keras_model()`."""

    def _keras_model(self) -> keras.Model:
        """The Keras model these describe and run (raises ValueError while there is none)."""
        raise NotImplementedError

    def summary(self, **kwargs: Any) -> None:
        """Prints the Keras model's summary (`keras.Model.summary`'s arguments)."""
        self._keras_model().summary(**kwargs)

    def count_params(self) -> int:
        """The number of weights of the Keras model (trainable or not)."""
        return self._keras_model().count_params()

    def __call__(self, texts: str | Sequence[str] | Any, training: bool = False) -> Any:
        """Runs the Keras model on a batch of texts: a list of `str`, a string tensor or a symbolic input.

        One `str` is a batch of one; numeric arrays and tensors go to the model as they are (a
        composition without a preprocessor reads ids). `predict` is the faster way through many texts.
        """
        if isinstance(texts, str):
            texts = [texts]
        if isinstance(texts, (list, tuple)) or (isinstance(texts, np.ndarray) and texts.dtype.kind in "UO"):
            wrong = next((t for t in texts if not isinstance(t, str)), None)
            if wrong is not None:
                raise TypeError(f"texts hold a {type(wrong).__name__} ({wrong!r:.40}); call the model on str texts.")
            # Lone surrogates, which UTF-8 cannot hold, become U+FFFD (the unknown id), as in `Preprocessor.encode`.
            texts = tf.constant([_SURROGATE.sub("\ufffd", text).encode("utf-8") for text in texts], tf.string)
        return self._keras_model()(texts, training=training)
