"""`Trainer`: the one `fit` that every pretrainer and `TextClassifier` runs.

Read top to bottom, a fit is: make sure the model exists (`_prepare`),
compile it for what is trainable (`_compile`), build the `tf.data`
pipelines for the current `tf.distribute` strategy, run Keras' `fit` (in
mixed precision where asked), and record what happened in the model card.
A task supplies the hooks; nothing else differs between tasks.

Example:
>>> from cclm.pretraining import MaskedLanguagePretrainer
>>> from cclm.classification import TextClassifier
>>> issubclass(MaskedLanguagePretrainer, Trainer) and issubclass(TextClassifier, Trainer)
True
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from cclm.pipelines.sharding import Shard
from cclm.pipelines.augmentation import is_graph_augmentor
from cclm.pipelines.documents import DocumentSource, TextStats
from cclm.pipelines.windows import Sampling, character_windows
from cclm.training.distribution import fit_pipelines
from cclm.training.fit import compute_precision, record_fit, run_fit


class Trainer:
    """The shared `fit` of every cclm task; subclasses supply the hooks below."""

    batch_size: int
    precision_policy: str | None = None
    stats: TextStats
    card: dict[str, Any]

    # ----------------------------------------------------------- the hooks
    @property
    def _fit_model(self) -> keras.Model:
        """The Keras model `fit` trains."""
        raise NotImplementedError

    def _prepare(self, data: Any) -> None:
        """Builds what the first fit needs (vocabulary, labels, the model) from `data`."""

    def _compile(self) -> None:
        """Compiles `_fit_model` for what is trainable now."""
        raise NotImplementedError

    def _dataset(self, data: Any, batch_size: int, training: bool, shard: Shard | None = None) -> tf.data.Dataset:
        """Batches for Keras from `data`: training ones, or fixed ones for validation."""
        raise NotImplementedError

    def _precision_parts(self) -> list[keras.Model]:
        """The models that compute in `precision_policy` while training (the head stays float32)."""
        return []

    def _windows(
        self, data: Any, batch_size: int, training: bool, shard: Shard | None,
        labels: dict[Any, int] | None = None, random_crop: bool = True, subwords: bool = False, pack: bool = False,
    ) -> tf.data.Dataset:
        """Dict batches of windows of `data` (`cclm.pipelines.windows`), read, sampled and noised this task's way."""
        transforms = getattr(self, "transforms", ())
        source = DocumentSource(
            data, self.text_column, [t for t in transforms if not is_graph_augmentor(t)], getattr(self, "filters", ()),
            labels, getattr(self, "label_column", "label"), shard, self.stats if training else TextStats(),
        )
        return character_windows(
            data, self.preprocessor, batch_size, source=source, sampling=Sampling.for_fit(self.seed, training, random_crop),
            augmentors=[t for t in transforms if is_graph_augmentor(t)], subwords=subwords, pack=pack,
        )

    def _record_training(self, history: keras.callbacks.History, seconds: float) -> dict[str, Any]:
        """Writes the fit into the model card; returns its "training" section for subclasses to extend."""
        training = record_fit(self.card, history, seconds)
        if self.precision_policy:
            training["mixed precision"] = self.precision_policy
        replicas = self._fit_model.distribute_strategy.num_replicas_in_sync
        if replicas > 1:
            training["replicas"] = replicas
        return training

    # ------------------------------------------------------------ the fit
    def fit(
        self,
        data: Any,
        epochs: int = 1,
        steps_per_epoch: int | None = None,
        batch_size: int | None = None,
        validation_data: Any = None,
        callbacks: list[keras.callbacks.Callback] | None = None,
        verbose: str | int = "auto",
    ) -> keras.callbacks.History:
        """Trains on `data`; returns the Keras `History`.

        Args:
            data: `list[str]` (labelled tasks: `(texts, labels)`), a
                `datasets.Dataset` / `IterableDataset`, or text file paths.
            epochs: passes over the data (or over `steps_per_epoch` batches).
            steps_per_epoch: batches per epoch; the data repeats as needed,
                so unbounded streams work.
            batch_size: documents per batch (default: the constructor's).
            validation_data: held-out data, evaluated with fixed windows.
            callbacks: Keras callbacks (TensorBoard, ModelCheckpoint,
                BackupAndRestore, ...). A NaN or infinite loss raises
                `cclm.errors.NonFiniteLossError` at once, before these
                callbacks save anything.
            verbose: Keras' verbosity ("auto", 0, 1, 2).
        """
        self._prepare(data)
        self._compile()
        self.stats = TextStats()  # counts for this fit only
        model = self._fit_model
        train, validation = fit_pipelines(
            model.distribute_strategy, self._dataset, data, validation_data, batch_size or self.batch_size,
            steps_per_epoch,
        )
        with compute_precision(self._precision_parts(), self.precision_policy):
            history, seconds = run_fit(model, train, epochs, steps_per_epoch, validation, callbacks, verbose)
        self._record_training(history, seconds)
        return history
