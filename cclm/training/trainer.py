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

import contextlib
from typing import Any

import keras
import tensorflow as tf

from cclm.data.fit_inputs import fit_data
from cclm.pipelines.augmentation import is_graph_augmentor
from cclm.pipelines.documents import DocumentSource, TextStats
from cclm.pipelines.sharding import Shard
from cclm.pipelines.windows import Sampling, character_windows
from cclm.training.distribution import fit_pipelines
from cclm.training.fit import (
    check_fit_options,
    class_weights,
    compute_precision,
    record_fit,
    restored_epoch,
    run_fit,
)


class Trainer:
    """The shared `fit` of every cclm task; subclasses supply the hooks below."""

    # The model card's Intended uses and Limitations after a fit, unless the card already has its own.
    card_intended_uses = ("Reading texts like those it was trained on (see Trained on), as a part of a cclm "
                          "composition; written by the person who trained it, who should say more here.")
    card_limitations = ("Trained by a cclm user on their own texts, not reviewed. It knows what its training texts "
                        "hold (see Trained on and Metrics); expect less on texts unlike them (other languages, "
                        "topics, lengths or spelling). Check it on your own data before relying on it.")

    batch_size: int
    labelled: bool = False  # whether the task learns from labels (`y`, `class_weight`)
    _fit_class_weights: Any = None  # each label index's loss weight during a fit with `class_weight`
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
        sequence_length: int | None = None,
    ) -> tf.data.Dataset:
        """Dict batches of windows of `data` (`cclm.pipelines.windows`), read, sampled and noised this task's way.

        `sequence_length`: the windows' length (default: the preprocessor's).
        """
        transforms = getattr(self, "transforms", ())
        source = DocumentSource(
            data, self.text_column, [t for t in transforms if not is_graph_augmentor(t)], getattr(self, "filters", ()),
            labels, getattr(self, "label_column", "label"), shard, self.stats if training else TextStats(),
        )
        return character_windows(
            data, self.preprocessor, batch_size, source=source, sampling=Sampling.for_fit(self.seed, training, random_crop),
            augmentors=[t for t in transforms if is_graph_augmentor(t)], subwords=subwords, pack=pack,
            sequence_length=sequence_length,
        )

    @staticmethod
    def _weigh_labels(batches: tf.data.Dataset, weights: Any) -> tf.data.Dataset:
        """`(ids, labels)` batches with each label's weight as a third element (Keras' sample weights); as they are
        when `weights` is None."""
        if weights is None:
            return batches
        table = tf.constant(weights, tf.float32)
        return batches.map(lambda ids, labels: (ids, labels, tf.gather(table, labels)))

    def _record_training(
        self, history: keras.callbacks.History, seconds: float, restored: int | None = None,
    ) -> dict[str, Any]:
        """Writes the fit into the model card; returns its "training" section for subclasses to extend.

        `restored`: the epoch whose weights a callback restored (its metrics are the card's).
        """
        training = record_fit(self.card, history, seconds, restored)
        self.card.pop("evaluations", None)  # `evaluate(..., dataset_name=...)` results: of the weights this fit changed
        self.card.setdefault("intended_uses", self.card_intended_uses)
        self.card.setdefault("limitations", self.card_limitations)
        if self.precision_policy:
            training["mixed precision"] = self.precision_policy
        replicas = self._fit_model.distribute_strategy.num_replicas_in_sync
        if replicas > 1:
            training["replicas"] = replicas
        return training

    # ------------------------------------------------------------ the fit
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        epochs: int = 1,
        steps_per_epoch: int | None = None,
        batch_size: int | None = None,
        validation_data: Any = None,
        validation_split: float = 0.0,
        class_weight: dict[Any, float] | None = None,
        callbacks: list[keras.callbacks.Callback] | None = None,
        verbose: str | int = 0,
    ) -> keras.callbacks.History:
        """Trains on `x` (and `y`); returns the Keras `History`.

        Args:
            x: `list[str]` (labelled tasks: `(texts, labels)`, or texts with
                `y`), a `datasets.Dataset` / `IterableDataset`, a
                `pandas.DataFrame`, a `tf.data.Dataset`, or text file paths.
            y: the labels of the texts `x` (labelled tasks only).
            epochs: passes over the data (or over `steps_per_epoch` batches).
            steps_per_epoch: batches per epoch; the data repeats as needed,
                so unbounded streams work.
            batch_size: documents per batch (default: the constructor's).
            validation_data: held-out data (any form `x` takes), evaluated
                with fixed windows.
            validation_split: instead, hold out this fraction of the
                examples, the last ones, as Keras does.
            class_weight: labelled tasks: `{label: weight}` for the loss
                (labels missing from it weigh 1).
            callbacks: Keras callbacks (EarlyStopping, TensorBoard,
                ModelCheckpoint, BackupAndRestore, ...). A NaN or infinite
                loss raises `cclm.errors.NonFiniteLossError` at once, before
                these callbacks save anything. With
                `EarlyStopping(restore_best_weights=True)` the model card
                records the restored epoch's metrics.
            verbose: Keras' verbosity: 0 (the default) prints nothing, 1 or
                "auto" a progress bar, 2 a line per epoch.
        """
        check_fit_options(epochs, batch_size, steps_per_epoch)
        data, validation_data = fit_data(x, y, self.labelled, validation_data, validation_split, type(self).__name__)
        self._prepare(data)
        self._fit_class_weights = self._weights_of(class_weight)  # read by `_dataset`, for this fit only
        try:
            with self._while_fitting():  # what a subclass holds still while it trains
                self._compile()
                self.stats = TextStats()  # counts for this fit only
                model = self._fit_model
                train, validation = fit_pipelines(
                    model.distribute_strategy, self._dataset, data, validation_data, batch_size or self.batch_size,
                    steps_per_epoch,
                )
                with compute_precision(self._precision_parts(), self.precision_policy):
                    history, seconds = run_fit(model, train, epochs, steps_per_epoch, validation, callbacks, verbose)
        finally:
            self._fit_class_weights = None
        self._record_training(history, seconds, restored_epoch(callbacks))
        return history

    def _while_fitting(self) -> contextlib.AbstractContextManager:
        """A context held around each fit: a subclass freezes what it reads but others train (a teacher)."""
        return contextlib.nullcontext()

    def _weights_of(self, class_weight: dict[Any, float] | None) -> Any:
        """Each label index's loss weight (None: all 1), from `{label: weight}`."""
        if class_weight is None:
            return None
        if not self.labelled:
            raise ValueError(f"class_weight is for labelled tasks; {type(self).__name__} learns from unlabelled text.")
        return class_weights(class_weight, self.labels)
