"""`ClassifierPrediction`: what a `TextClassifier` reads of each text, and how it predicts and evaluates.

The prediction path of `TextClassifier` (which puts this class first
among its bases):

- Cost proportional to the text. Ids reach as far as the n-gram features
  read (`ngram_length`), and the composition gets its window cut from them
  by `cclm.layers.LeadingIds`, trimmed to the batch's longest text plus a
  margin the towers' convolutions read ahead. `predict`, `evaluate` and the
  closed-form head's feature pass run length-sorted batches
  (`cclm.models.bucketed_prediction`), so a short text is never padded to
  the window, and each text gets what the full window gives it.
- Nothing computed that the head ignores. A closed-form head that gave
  the composition weight 0 (its kernel all zero) predicts from the n-gram
  logits and its bias alone: `predict`, the `.keras` file and `export`
  then hold neither the embedder nor the towers (the saved component
  still holds the composition, and the manifest says what the head reads).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from cclm.data.texts import LabelledData, iter_labelled
from cclm.keras_objects import keras_name
from cclm.layers.logit_bias import LogitBias
from cclm.models.bucketed_prediction import run_bucketed
from cclm.models.label_head import check_known_labels

READS_COMPOSITION = "composition and n-grams"
READS_NGRAMS = "n-grams alone (composition weight 0)"


def scores(logits: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Mean cross-entropy (`loss`) and accuracy of `logits` (texts, labels) against label indices."""
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(labels))
    return {"accuracy": float(np.mean(logits.argmax(axis=1) == labels)),
            "loss": float(-np.mean(log_probabilities[rows, labels]))}


class ClassifierPrediction:
    """`TextClassifier`'s reach, bucketed batches, n-gram-only model and `evaluate` (see the module docstring)."""

    def _logits_model(self) -> keras.Model:
        """Ids -> logits: the whole model, or the n-gram logits alone where the head gives the composition no weight."""
        self._require_built()
        return self.model if self.head_reads == READS_COMPOSITION else self._ngrams_alone()

    @property
    def head_reads(self) -> str:
        """What the head's logits read: `READS_COMPOSITION`, or `READS_NGRAMS` when it gave the composition weight 0."""
        self._require_built()
        if self.ngram_logits is None or np.any(self.head.logits.kernel.value.numpy()):  # read on every call: cheap
            return READS_COMPOSITION
        return READS_NGRAMS

    def _ngrams_alone(self) -> keras.Model:
        """Ids -> the n-gram logits plus the head's bias, sharing their variables with the whole model."""
        if self._ngram_model is None:  # `_build` sets it to None
            scope = keras_name(self.name)
            ids = keras.Input(shape=(None,), dtype="int32", name="ids")
            bias = LogitBias.sharing(self.head.logits.bias, name=f"{scope}_bias")
            self._ngram_model = keras.Model(ids, bias(self.ngram_logits(ids)), name=scope)
        return self._ngram_model

    def _window_length(self) -> int:
        """The composition's window: the ids it reads of each text."""
        return self.preprocessor.sequence_length or self.composed.embedder.max_length

    def _text_length(self) -> int:
        """The ids read of each text: the composition's window, or the n-grams' longer reach."""
        window = self._window_length()
        if not self.ngrams or self.ngram_length is None:
            return window
        factor = self.preprocessor.downsample_factor
        return max(window, -(-(self.ngram_length + int(self.preprocessor.add_cls)) // factor) * factor)

    def _window_margin(self) -> int:
        """Padding positions the composition's window keeps after a batch's longest text.

        The views' leading spaces push a text right, and a tower's last
        convolution reads half its width ahead, into padding the full window
        would hold (a whole downsampled position at least).
        """
        widths = [getattr(tower, "kernel_size", 0) for tower in self.composed.towers]
        return self.views - 1 + max([self.preprocessor.downsample_factor, *(width // 2 + 1 for width in widths)])

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        """Ids of `texts`: the composition's window, or as far as the longest text and the n-grams' reach go."""
        window, reach = self._window_length(), self._text_length()
        if reach == window:
            return self.preprocessor.encode(texts)
        longest = max(map(len, texts), default=0) + int(self.preprocessor.add_cls)
        fits = window * 2 ** max(int(np.ceil(np.log2(max(longest, 1) / window))), 0)
        return self.preprocessor.encode(texts, min(reach, fits))

    def _batch_length(self, used: int, width: int) -> int:
        """A batch's ids end at its longest text (rounded up to the downsampling factor): the model trims or pads the rest."""
        factor = self.preprocessor.downsample_factor
        return min(width, max(-(-used // factor) * factor, factor))

    def _serving_options(self) -> dict[str, int]:
        """The export runs length-sorted batches of ids cut after each call's longest text: its model trims or pads the rest."""
        return {"batch_size": 256, "trim_to": self.preprocessor.downsample_factor}

    def _pooled(self, ids: np.ndarray, verbose: str | int) -> np.ndarray:
        """Each text's pooled features (views averaged), from the ids of its start."""
        return run_bucketed(self._compiled(self._features), ids, 256, self._batch_length,
                            verbose if len(ids) > 2048 else 0)

    def evaluate(self, data: LabelledData, batch_size: int | None = None) -> dict[str, float]:
        """Loss and accuracy on labelled data (texts cut at their start, no noise), in length-sorted batches.

        Raises:
            ValueError: a label of `data` is not one of `labels`, or no labelled text, before anything runs.
        """
        self._require_built()
        pairs = list(iter_labelled(data, self.text_column, self.label_column))
        check_known_labels((label for _, label in pairs), self.labels, "evaluate on data labelled as the model was trained.")
        if not pairs:
            raise ValueError("The data holds no labelled text; give (texts, labels) with at least one pair.")
        logits = self._outputs(self._logits_model(), [text for text, _ in pairs], batch_size or self.batch_size)
        return scores(logits, np.array([self.label_index[label] for _, label in pairs]))
