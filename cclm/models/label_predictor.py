"""`LabelPredictor`: `predict`, `predict_labels`, `.keras` files and `export` for components that label texts.

Shared by `CategoricalPretrainer` and `TextClassifier`. As with a Keras
model, `predict` returns probabilities, one row per text in the order of
`labels`; a single string gives a single row. `predict_labels` gives the
most likely label instead. Saved to a path ending in `.keras`, the
component writes a Keras model from raw strings to probabilities;
`export(path)` writes a TensorFlow SavedModel serving raw strings ->
`labels` (as strings) and `probabilities` (`cclm.components.serving`).
`summary()`, `count_params()` and calling the component on texts go to
that strings -> probabilities model (`cclm.components.model_like`).
`predict` runs the model in length-sorted batches through one compiled
function (`cclm.models.bucketed_prediction`): repeated calls never retrace.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from cclm.components.model_like import ModelLike
from cclm.components.serving import Exportable
from cclm.data.texts import texts_to_predict
from cclm.layers.labelled_softmax import LabelledSoftmax
from cclm.models.bucketed_prediction import CompiledModel, run_bucketed
from cclm.models.label_head import Label

ENCODED_AT_ONCE = 8192  # texts encoded at a time by `predict` and the closed-form fit


def softmax(logits: np.ndarray) -> np.ndarray:
    """Each row's probabilities from its logits (float32)."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (shifted / shifted.sum(axis=-1, keepdims=True)).astype(np.float32)


class LabelPredictor(ModelLike, Exportable):
    """Adds `predict`, `predict_labels`, `export` and Keras' `summary`, `count_params` and calls (strings ->
    probabilities); a subclass gives `labels`, `preprocessor`, `_logits_model()` and `_text_length()`.
    Put it first among the bases, before `Component`."""

    labels: list[Label]
    preprocessor: Any

    def _logits_model(self) -> keras.Model:
        """The Keras model ids -> logits; raises ValueError while there is none."""
        raise NotImplementedError

    def _text_length(self) -> int:
        """The ids' length when texts are encoded in the graph."""
        raise NotImplementedError

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        """The ids `predict` gives the model for a batch of texts."""
        return self.preprocessor.encode(texts)

    def _batch_length(self, used: int, width: int) -> int:
        """The length of the ids a batch is given, its longest text `used` ids long, of `width` encoded.

        Whole rows by default; a model whose outputs do not depend on how
        much padding follows a text (`TextClassifier`) takes less.
        """
        return width

    def _compiled(self, model: keras.Model) -> CompiledModel:
        """`model` traced once for ids of any shape, kept as long as this component keeps the model."""
        cache = self.__dict__.setdefault("_compiled_models", {})
        if id(model) not in cache or cache[id(model)].model is not model:
            cache[id(model)] = CompiledModel(model)
        return cache[id(model)]

    def _outputs(self, model: keras.Model, texts: Sequence[str], batch_size: int, verbose: str | int = 0) -> np.ndarray:
        """`model`'s output for every text, a bounded share of the ids in memory at once."""
        function = self._compiled(model)
        return np.concatenate([
            run_bucketed(function, self._encode(texts[start:start + ENCODED_AT_ONCE]), batch_size, self._batch_length,
                         verbose)
            for start in range(0, len(texts), ENCODED_AT_ONCE)])

    def _keras_file_model(self) -> keras.Model:
        """Strings -> probabilities (columns as `labels`, which the last layer holds): what a `.keras` path saves.

        The logits model goes in uncompiled (its layers, not the trained
        model's optimizer), so loading the file warns of no optimizer state.
        """
        trained = self._logits_model()
        model = keras.Model(trained.input, trained.output, name=trained.name)
        texts = keras.Input(shape=(), dtype="string", name="texts")
        logits = model(self.preprocessor.as_layer(self._text_length())(texts))
        return keras.Model(texts, LabelledSoftmax(self.labels, name="probabilities")(logits), name=model.name)

    def _keras_model(self) -> keras.Model:
        return self._keras_file_model()

    def _serving(self) -> tuple[Any, keras.Model, Any]:
        model = self._logits_model()
        names = tf.constant([str(label) for label in self.labels])

        def outputs(ids: tf.Tensor, logits: tf.Tensor) -> dict[str, tf.Tensor]:
            probabilities = tf.nn.softmax(logits, axis=-1)
            return {"labels": tf.gather(names, tf.argmax(probabilities, axis=-1)), "probabilities": probabilities}

        return self.preprocessor.as_layer(self._text_length()), model, outputs

    def _serving_options(self) -> dict[str, Any]:
        return {"batch_size": 256}  # the export runs length-sorted batches of this many texts

    def predict(self, texts: str | Sequence[str] | Any, batch_size: int = 256, verbose: str | int = 0) -> np.ndarray:
        """Every label's probability: (texts, labels) for a list of texts, (labels,) for one string.

        `texts`: a `str`, a list or array of them, a `tf.string` tensor, or a
        `datasets.Dataset` / `DataFrame` (its `text_column`; see
        `cclm.data.texts.texts_to_predict`). Columns follow `self.labels`;
        `predict_labels` gives the most likely label itself. `verbose` is
        taken for Keras' sake: nothing is printed.
        """
        model = self._logits_model()
        texts, single = texts_to_predict(texts, getattr(self, "text_column", "text"))
        if not texts:
            return np.zeros((0, len(self.labels)), np.float32)
        probabilities = softmax(self._outputs(model, texts, batch_size))
        return probabilities[0] if single else probabilities

    def predict_labels(
        self, texts: str | Sequence[str] | Any, batch_size: int = 256, verbose: str | int = 0,
    ) -> Label | list[Label]:
        """The most likely label of one string, or a list of them for a list of texts."""
        probabilities = self.predict(texts, batch_size)
        if probabilities.ndim == 1:  # one text
            return self.labels[int(probabilities.argmax())]
        return [self.labels[i] for i in probabilities.argmax(axis=-1)]
