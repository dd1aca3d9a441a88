"""`ClassifierPrediction`: what a `TextClassifier` reads of each text, and how it predicts and evaluates.

The prediction path of `TextClassifier` (which puts this class first
among its bases):

- Cost proportional to the text. Ids reach as far as the n-gram features
  read (`ngram_length`), and the composition gets its window cut from them
  by `cclm.layers.LeadingIds`, trimmed to the batch's longest text plus a
  margin the towers' convolutions read ahead. `predict`, `evaluate` and the
  closed-form head's feature pass run length-sorted batches
  (`cclm.models.bucketed_prediction`; `predict` and `evaluate` in one graph
  loop, as the export), so a short text is never padded to the window, and
  each text gets what the full window gives it.
- Nothing computed that the head ignores. A closed-form head weighs each
  tower apart (`cclm.classification.wide_ridge`); a tower it gave weight 0
  (its rows of the kernel all zero) is not run, with or without n-grams:
  `predict`, the `.keras` file and `export` hold only the towers the head
  reads, and the embedder only if one of them reads it. A head that gave every tower weight 0
  predicts from the n-gram logits and its bias alone. The saved component
  still holds the whole composition, and the manifest says what the head
  reads (`head_reads`).
- A head that reads meaning towers alone (with or without the n-grams)
  folds its kernel into their tables (`MeaningTower.folded`): each text
  looks up rows as wide as the labels, not the tower's vectors, where the
  labels are at most a quarter of its width (the folded float32 table then
  no larger than an int8 table of the tower), with one view and no
  `normalize`. A tower that scales its vectors to length 1 (not linear in
  its table) gets the kernel applied to each text's vector instead
  (`MappedMeaning`): one vector per text, not one per position.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from cclm.keras_objects import keras_name
from cclm.layers.logit_bias import LogitBias
from cclm.models.bucketed_prediction import run_bucketed
from cclm.models.composed_model import ComposedModel
from cclm.models.label_head import LabelHead
from cclm.models.meaning_tower import MeaningTower

READS_COMPOSITION = "composition and n-grams"
READS_NGRAMS = "n-grams alone (composition weight 0)"
READS_TOWERS = "composition"  # a head without n-grams (`ngrams=0`) that reads every tower


def reads_towers(names: Sequence[str], ngrams: bool = True) -> str:
    """`head_reads` of a head that reads (the n-grams and) some of the composition's towers, named."""
    return f"{'n-grams and ' if ngrams else ''}{', '.join(names)} (the other towers weight 0)"


class ClassifierPrediction:
    """`TextClassifier`'s reach, bucketed batches and n-gram-only model (see the module docstring)."""

    def _logits_model(self) -> keras.Model:
        """Ids -> logits: the whole model, or the part of it the head reads (see the module docstring)."""
        self._require_built()
        kernel = self.head.logits.kernel.value.numpy()  # read once a call: cheap, and it follows every refit
        read = self._towers_read(kernel)
        if read and self._foldable(read):
            return self._folded_towers(read, kernel)
        if len(read) == len(self.composed.towers):
            return self.model
        return self._towers_alone(read) if read else self._ngrams_alone()

    def _towers_read(self, kernel: np.ndarray | None = None) -> tuple[int, ...]:
        """The indices of the towers the head's logits read: those whose rows of its `kernel` are not all zero.

        Without n-grams, a head that reads no tower at all reads them all, as does a head with `normalize`.
        """
        if self.head.norm is not None:
            return tuple(range(len(self.composed.towers)))
        kernel = self.head.logits.kernel.value.numpy() if kernel is None else kernel
        read = tuple(i for i, rows in enumerate(self._tower_rows()) if np.any(kernel[rows]))
        return read if read or self.ngram_logits is not None else tuple(range(len(self.composed.towers)))

    def _tower_rows(self) -> list[slice]:
        """Each tower's rows of the head's kernel: its block of the pooled features, in composition order."""
        ends = np.cumsum([tower.output_dim for tower in self.composed.towers])
        return [slice(end - tower.output_dim, end) for tower, end in zip(self.composed.towers, ends)]

    @property
    def head_reads(self) -> str:
        """What the head's logits read: `READS_COMPOSITION`, `READS_NGRAMS` (every tower weight 0) or `reads_towers`.

        Without n-grams (`ngrams=0`): `READS_TOWERS` or `reads_towers(names, ngrams=False)`.
        """
        self._require_built()
        read, ngrams = self._towers_read(), self.ngram_logits is not None
        if len(read) == len(self.composed.towers):
            return READS_COMPOSITION if ngrams else READS_TOWERS
        return reads_towers([self.composed.towers[i].name for i in read], ngrams) if read else READS_NGRAMS

    def _ngrams_alone(self) -> keras.Model:
        """Ids -> the n-gram logits plus the head's bias, sharing their variables with the whole model."""
        if self._ngram_model is None:  # `_build` sets it to None
            scope = keras_name(self.name)
            ids = keras.Input(shape=(None,), dtype="int32", name="ids")
            bias = LogitBias.sharing(self.head.logits.bias, name=f"{scope}_bias")
            self._ngram_model = keras.Model(ids, bias(self.ngram_logits(ids)), name=scope)
        return self._ngram_model

    def _towers_alone(self, read: tuple[int, ...]) -> keras.Model:
        """Ids -> logits from the towers `read` alone (and any n-grams), the embedder only if one of them reads it.

        The model shares the window, views, towers and n-gram layers with the
        whole model; its head holds the rows of the whole head's kernel that
        those towers' features meet, copied again whenever they change.
        """
        models = self.__dict__.setdefault("_tower_models", {})
        key = (id(self.model), read)
        if key not in models:
            scope = keras_name(self.name)
            ids = keras.Input(shape=(None,), dtype="int32", name="ids")
            window_ids = self.model.get_layer(f"{scope}_window")(ids)
            inputs = self.model.get_layer(f"{scope}_views")(window_ids) if self.views > 1 else window_ids
            part = ComposedModel(self.composed.embedder, [self.composed.towers[i] for i in read],
                                 name=f"{scope}_towers_read")
            head = LabelHead(len(self.labels), self.pooling, views=self.views, name=f"{scope}_head_read")
            logits = head(part.id_model(inputs))
            if self.ngram_logits is not None:
                logits = keras.layers.Add(name=f"{scope}_logits")([logits, self.ngram_logits(ids)])
            models[key] = (keras.Model(ids, logits, name=scope), head)
        model, head = models[key]
        kernel, blocks = self.head.logits.kernel.value.numpy(), self._tower_rows()
        wanted = [np.concatenate([kernel[blocks[i]] for i in read]), self.head.logits.bias.value.numpy()]
        if not all(np.array_equal(a, b) for a, b in zip(head.logits.get_weights(), wanted)):
            head.logits.set_weights(wanted)
        return model

    def _foldable(self, read: tuple[int, ...]) -> bool:
        """Whether the towers `read` are meaning towers at least 4 times as wide as the labels (folding pays).

        One view, and a head whose logits are linear in the pooled features
        (no `normalize`): then any pooling gives each meaning tower's text vector.
        """
        towers = [self.composed.towers[i] for i in read]
        return self.views == 1 and self.head.norm is None and all(
            isinstance(tower, MeaningTower) and 4 * len(self.labels) <= tower.output_dim for tower in towers)

    def _folded_towers(self, read: tuple[int, ...], kernel: np.ndarray) -> keras.Model:
        """Ids -> the head's bias, the n-gram logits (if any) and each meaning tower read through its folded table.

        The tables are folded again whenever the head's kernel changes (a
        refit) or a tower's table changes (`MeaningTower.table_state`).
        """
        models = self.__dict__.setdefault("_folded_models", {})
        key = (id(self.model), read)
        blocks = self._tower_rows()
        kernels = [kernel[blocks[i]] for i in read]
        versions = [self.composed.towers[i].table_state() for i in read]
        if key in models and models[key][2] == versions and all(
                np.array_equal(a, b) for a, b in zip(models[key][1], kernels)):
            return models[key][0]
        scope = keras_name(self.name)
        ids = keras.Input(shape=(None,), dtype="int32", name="ids")
        window_ids = self.model.get_layer(f"{scope}_window")(ids)
        bias = LogitBias.sharing(self.head.logits.bias, name=f"{scope}_bias")
        folded = [self.composed.towers[i].folded(k, name=f"{scope}_folded_{n}") for n, (i, k) in
                  enumerate(zip(read, kernels))]
        terms = [layer(window_ids) for layer in folded]
        if self.ngram_logits is not None:
            terms.append(self.ngram_logits(ids))
        terms[0] = bias(terms[0])
        logits = keras.layers.Add(name=f"{scope}_logits")(terms) if len(terms) > 1 else terms[0]
        models[key] = (keras.Model(ids, logits, name=scope), kernels, versions)
        return models[key][0]

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
