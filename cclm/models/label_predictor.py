"""`LabelPredictor`: `predict`, `evaluate`, `.keras` files and `export` for components that label texts.

Shared by `CategoricalPretrainer` and `TextClassifier`. As with a Keras
model, `evaluate(x, y)` gives loss and accuracy and `predict` returns
probabilities, one row per text in the order of `labels`; a single
string gives a single row. `predict_labels` gives the
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

import numbers
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from cclm.components.model_like import ModelLike
from cclm.components.serving import Exportable
from cclm.data.fit_inputs import fit_data
from cclm.data.predict_inputs import texts_to_predict
from cclm.data.texts import iter_labelled
from cclm.layers.labelled_softmax import LabelledSoftmax
from cclm.models.bucketed_prediction import (
    CompiledBatches,
    CompiledModel,
    run_bucketed,
    used_lengths,
)
from cclm.models.label_head import Label, check_known_labels

ENCODED_AT_ONCE = 8192  # texts encoded at a time by `predict` and the closed-form fit


def softmax(logits: np.ndarray) -> np.ndarray:
    """Each row's probabilities from its logits (float32)."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (shifted / shifted.sum(axis=-1, keepdims=True)).astype(np.float32)


def scores(logits: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Mean cross-entropy (`loss`) and accuracy of `logits` (texts, labels) against label indices."""
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(labels))
    return {"accuracy": float(np.mean(logits.argmax(axis=1) == labels)),
            "loss": float(-np.mean(log_probabilities[rows, labels]))}


class LabelPredictor(ModelLike, Exportable):
    """Adds `predict`, `predict_labels`, `evaluate`, `export` and Keras' `summary`, `count_params` and calls
    (strings -> probabilities); a subclass gives `labels`, `label_index`, `preprocessor`, `batch_size`,
    `text_column`, `label_column`, `card`, `_logits_model()` and `_text_length()`.
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
        """`model`'s output for every text, a bounded share of the ids in memory at once.

        A model that trims the padding after a text (`_serving_options`'
        `trim_to`) runs its length-sorted batches in one graph, as the export
        does (`CompiledBatches`); others batch by length from Python.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r}; give the texts run at once as an int >= 1 (e.g. 256).")
        batch_size = int(batch_size)
        chunks = (self._encode(texts[start:start + ENCODED_AT_ONCE]) for start in range(0, len(texts), ENCODED_AT_ONCE))
        trim_to = self._serving_options().get("trim_to")
        if trim_to is None:
            function = self._compiled(model)
            return np.concatenate([run_bucketed(function, ids, batch_size, self._batch_length, verbose) for ids in chunks])
        outputs = []
        for ids in chunks:
            ids = ids[:, :self._batch_length(int(used_lengths(ids).max(initial=0)), ids.shape[1])]
            # one batch (a serving call's few texts): the model itself, without the loop around it
            function = self._compiled(model) if len(ids) <= batch_size else self._compiled_batches(model, batch_size)
            outputs.append(function(ids))
        return np.concatenate(outputs)

    def _compiled_batches(self, model: keras.Model, batch_size: int) -> CompiledBatches:
        """`model` in length-sorted batches of `batch_size` in one graph, traced once, kept with the model."""
        trim_to = self._serving_options()["trim_to"]
        cache = self.__dict__.setdefault("_batch_functions", {})
        key = (id(model), batch_size, trim_to)
        if key not in cache or cache[key].model is not model:
            cache[key] = CompiledBatches(model, batch_size, trim_to)
        return cache[key]

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
        `cclm.data.predict_inputs.texts_to_predict`). Columns follow `self.labels`;
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

    def evaluate(
        self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: str | int = "auto",
        return_dict: bool = True, dataset_name: str | None = None,
    ) -> dict[str, float] | list[float]:
        """Loss and accuracy on labelled data (texts cut at their start, no noise), in length-sorted batches.

        Takes what Keras' `evaluate` does: `x` labelled data (any form `fit`
        takes), or texts with their labels `y`. Returns `{"loss", "accuracy"}`;
        with `return_dict=False`, `[loss, accuracy]` as Keras does. `verbose`
        is taken for Keras' sake: nothing is printed. With `dataset_name`,
        the result goes into the model card as an evaluation on that data
        (its Metrics, and the `model-index` a Hub upload shows), until the
        next fit.

        Raises:
            ValueError: a label of `data` is not one of `labels`, or no labelled text, before anything runs.
        """
        data, _ = fit_data(x, y, True, task=type(self).__name__)
        model = self._logits_model()  # raises while there is none
        pairs = list(iter_labelled(data, self.text_column, self.label_column))
        check_known_labels((label for _, label in pairs), self.labels, "evaluate on data labelled as the model was trained.")
        if not pairs:
            raise ValueError("The data holds no labelled text; give (texts, labels) with at least one pair.")
        logits = self._outputs(model, [text for text, _ in pairs], self.batch_size if batch_size is None else batch_size)
        measured = scores(logits, np.array([self.label_index[label] for _, label in pairs]))
        if dataset_name is not None:
            self.card.setdefault("evaluations", {})[str(dataset_name)] = {
                "accuracy": round(measured["accuracy"], 5), "loss": round(measured["loss"], 5), "texts": len(pairs)}
        return measured if return_dict else [measured["loss"], measured["accuracy"]]
