"""`Pretrainer`: one training API for every task tower.

A pretrainer owns a `Tower` (the composable part, `pretrainer.model`), a
task head (used only while pretraining, as keras-hub keeps Backbone and Task
apart), and a Keras `training_model`: ids -> shared embedder -> tower ->
head. Subclasses say what the head is, how batches are made, and which loss
and metrics apply; `fit` is `cclm.training.Trainer`'s and save / load are
`cclm.components.Component`'s.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import keras
import tensorflow as tf

from cclm.components import Component, ComponentError, built_from, load_weights_checked
from cclm.components.files import (
    EMBEDDER_DIR,
    HEAD_WEIGHTS,
    PREPROCESSOR_DIR,
    TOWER_WEIGHTS,
)
from cclm.components.model_like import ModelLike
from cclm.data.texts import TextData
from cclm.keras_objects import unique_name
from cclm.models.embedder import Embedder
from cclm.models.freezing import frozen_while, set_trainable
from cclm.models.tower import Tower
from cclm.pipelines.augmentation import is_graph_augmentor
from cclm.pipelines.documents import TextStats
from cclm.pipelines.sharding import Shard
from cclm.preprocessing.preprocessor import (
    DEFAULT_DOWNSAMPLE_FACTOR,
    DEFAULT_SEQUENCE_LENGTH,
    Preprocessor,
)
from cclm.training.distribution import TrainingModel, is_chief
from cclm.training.fit import (
    check_training_options,
    make_optimizer,
    resolve_mixed_precision,
)
from cclm.training.trainer import Trainer

# Sized to learn within minutes on a CPU (examples/pretrain_mlm.py measures it);
# pass larger ones for more data and time.
DEFAULT_EMBEDDER_OPTIONS = {"hidden_dim": 64, "num_blocks": 2, "dropout": 0.0}
DEFAULT_TOWER_OPTIONS = {"hidden_dim": 128, "num_layers": 2, "num_heads": 4, "intermediate_dim": 256, "dropout": 0.0}


class Pretrainer(ModelLike, Component, Trainer):
    """The shared API of every task pretrainer.

    Args:
        embedder: the shared `Embedder`. Created with `DEFAULT_EMBEDDER_OPTIONS`
            when omitted, once the preprocessor knows its vocabulary.
        preprocessor: a `Preprocessor`. When omitted, or not yet fitted, the
            first `fit` fits it on the training data.
        train_embedder: whether the embedder's weights change while this
            tower trains. Set False to keep an embedder other towers share.
        tower: the `Tower` to train; built from `tower_options` when omitted.
        tower_options: keyword arguments for the `Tower`, over `DEFAULT_TOWER_OPTIONS`.
        optimizer: a Keras optimizer name (e.g. "adamw", "adafactor") or object.
        learning_rate: used when `optimizer` is a name: the peak of the schedule.
        warmup_steps: with a named optimizer, the learning rate rises
            linearly over this many steps, then decays as 1/sqrt(step)
            (`cclm.training.schedules.WarmupInverseSquareRoot`); 0 keeps it constant.
        batch_size: documents per batch.
        transforms: `str -> str` functions applied to every training text, and
            `cclm.pipelines.augmentation.Augmentor`s, which add noise (typos, case
            changes) inside the `tf.data` pipeline, to training batches only.
        filters: `str -> bool` functions; texts for which any says False are skipped.
        text_column: the text column of `datasets` data.
        seed: makes shuffling, windows and masks reproducible.
        name: a name for saved components and model cards; by default the kind,
            made unique as Keras names layers (`masked_language_pretrainer_1`, ...).
        mixed_precision: None (float32, the default), "mixed_float16" (GPUs),
            "mixed_bfloat16" (CPUs with bfloat16 units, TPUs) or "auto" (the
            one for this machine). The embedder and tower compute in 16 bits
            while training; weights stay float32, so saved components are the
            same either way. `benchmarks/train.py` measures the effect.
        jit_compile: XLA for the training step: True, False, or "auto"
            (Keras' choice: on where a GPU or TPU is visible, off on CPUs).

    Training on several devices or machines needs no option: build the
    pretrainer inside a `tf.distribute` strategy's `scope()` and call `fit`.
    `batch_size` is then the global batch; each worker reads its own shard
    of the data, and only the chief writes `save`'s directory
    (`cclm.training.distribution`).

    As for a Keras model, `summary()`, `count_params()` and
    `pretrainer(texts)` go to the model from raw strings to the tower's
    vectors on the embedder (`CategoricalPretrainer`: to label probabilities).
    """

    component_kind: ClassVar[str]
    provides_tower: ClassVar[bool] = True  # a saved one gives `ComposedModel` a tower
    # Whether the metrics count sample weights (masked positions) like the loss does.
    metrics_use_sample_weights: ClassVar[bool] = True

    def __init__(
        self,
        embedder: Embedder | None = None,
        preprocessor: Preprocessor | None = None,
        train_embedder: bool = True,
        tower: Tower | None = None,
        tower_options: dict[str, Any] | None = None,
        optimizer: str | keras.optimizers.Optimizer = "adamw",
        learning_rate: float = 2e-3,
        batch_size: int = 32,
        transforms: Sequence[Callable[[str], str]] = (),
        filters: Sequence[Callable[[str], bool]] = (),
        text_column: str = "text",
        seed: int | None = None,
        name: str | None = None,
        mixed_precision: str | None = None,
        jit_compile: bool | str = "auto",
        warmup_steps: int = 0,
    ):
        if jit_compile not in (True, False, "auto"):
            raise ValueError(f"jit_compile={jit_compile!r}; use True, False or 'auto'.")
        self.mixed_precision = mixed_precision
        self.precision_policy = resolve_mixed_precision(mixed_precision)
        self.jit_compile = jit_compile
        self.embedder = embedder
        self.preprocessor = preprocessor or Preprocessor(
            sequence_length=DEFAULT_SEQUENCE_LENGTH, downsample_factor=DEFAULT_DOWNSAMPLE_FACTOR
        )
        self.train_embedder = train_embedder
        self.tower = tower
        self.tower_options = dict(tower_options or {})
        check_training_options(batch_size, learning_rate)
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.warmup_steps = warmup_steps
        self.batch_size = batch_size
        self.transforms = tuple(transforms)
        self.filters = tuple(filters)
        self.text_column = text_column
        self.seed = seed
        self.name = name or unique_name(self.component_kind)  # Keras-style: two unnamed ones compose
        self.head: keras.Model | None = None
        self.training_model: keras.Model | None = None
        self.card: dict[str, Any] = {}
        self.stats = TextStats()
        self._compiled_for: tuple | None = None
        if self.preprocessor.characters:
            self._build()

    # ------------------------------------------------------------ subclasses
    def _build_head(self) -> keras.Model:
        raise NotImplementedError

    def _dataset(self, data: TextData, batch_size: int, training: bool, shard: Shard | None = None) -> tf.data.Dataset:
        raise NotImplementedError

    def _loss_and_metrics(self) -> tuple[keras.losses.Loss, list]:
        raise NotImplementedError

    def task_config(self) -> dict[str, Any]:
        """The task-specific constructor arguments."""
        return {}

    def _jit_compile(self) -> bool | str:
        """Keras' `jit_compile` for the training model; "auto" uses XLA where Keras would."""
        return self.jit_compile

    # ------------------------------------------------------------- building
    @property
    def is_built(self) -> bool:
        return self.training_model is not None

    @property
    def model(self) -> Tower | None:
        """The composable tower, as in the original cclm: `ComposedModel(embedder, [a.model, b.model])`.

        The model that trains it (embedder, tower and task head) is `training_model`.
        """
        return self.tower

    def _keras_model(self) -> keras.Model:
        """Raw strings -> the tower's vectors on the embedder: what `summary`, `count_params` and calls use."""
        if not self.is_built:
            raise ValueError("The pretrainer is not built yet; fit it (or load a saved one) first.")
        texts = keras.Input(shape=(), dtype="string", name="texts")
        length = self.preprocessor.sequence_length or self.embedder.max_length
        vectors = self.tower(self.embedder(self.preprocessor.as_layer(length)(texts)))
        return keras.Model(texts, vectors, name=f"{self.name}_vectors")

    def _build(self) -> None:
        prep = self.preprocessor
        if self.embedder is None:
            self.embedder = Embedder(
                vocab_size=prep.vocab_size, max_length=max(2048, prep.sequence_length or 0),
                **DEFAULT_EMBEDDER_OPTIONS,
            )
        if self.embedder.vocab_size != prep.vocab_size:
            raise ValueError(
                f"The embedder takes {self.embedder.vocab_size} ids but the preprocessor makes "
                f"{prep.vocab_size}; build the embedder with vocab_size=preprocessor.vocab_size."
            )
        if self.tower is None:
            options = {"downsample_factor": prep.downsample_factor, **DEFAULT_TOWER_OPTIONS, **self.tower_options}
            self.tower = Tower(input_dim=self.embedder.hidden_dim, name=f"{self.name}_tower", **options)
        if self.tower.input_dim != self.embedder.hidden_dim:
            raise ValueError(
                f"The tower takes vectors of width {self.tower.input_dim} but the embedder gives "
                f"{self.embedder.hidden_dim}; build the tower with input_dim=embedder.hidden_dim."
            )
        if prep.downsample_factor % self.tower.downsample_factor:
            raise ValueError(
                f"The tower downsamples by {self.tower.downsample_factor} but the preprocessor pads "
                f"to multiples of {prep.downsample_factor}; create the preprocessor with "
                f"downsample_factor={self.tower.downsample_factor}."
            )
        length = prep.sequence_length
        for part in (self.embedder, self.tower):
            if length is not None and length > part.max_length:
                raise ValueError(
                    f"The preprocessor makes sequences of {length} but the {part.name} takes at "
                    f"most {part.max_length}; build it with max_length >= {length}."
                )
        self.head = self._build_head()
        self.head.supports_masking = True  # padding stays masked through the head
        ids = keras.Input(shape=(None,), dtype="int32", name="ids")
        outputs = self.head(self.tower(self.embedder(ids)))
        self.training_model = TrainingModel(ids, outputs, name=f"{self.name}_training_model")

    def _texts(self, data: Any) -> TextData:
        """The texts in `data`, for fitting the preprocessor (labelled tasks override this)."""
        return data

    def _prepare(self, data: Any) -> None:
        if not self.preprocessor.characters:
            self.preprocessor.fit(self._texts(data), text_column=self.text_column)
        if not self.is_built:
            self._build()

    def _compile(self) -> None:
        if self.train_embedder:  # else frozen only while this pretrainer trains (`_while_fitting`)
            set_trainable(self.embedder, True)
        state = (self.train_embedder, self.tower.trainable)
        if self._compiled_for == state:
            return
        # A new set of trainable weights needs a fresh optimizer state.
        loss, metrics = self._loss_and_metrics()
        self.training_model.compile(
            optimizer=make_optimizer(self.optimizer, self.learning_rate, self.precision_policy, self.warmup_steps),
            loss=loss, jit_compile=self._jit_compile(),
            **{"weighted_metrics" if self.metrics_use_sample_weights else "metrics": metrics},
        )
        self._compiled_for = state

    # ------------------------------------------------------------- training
    @property
    def _fit_model(self) -> keras.Model:
        return self.training_model

    def _precision_parts(self) -> list[keras.Model]:
        # The head keeps float32, so losses and their gradients are computed at full precision.
        return [self.embedder, self.tower]

    def fit(self, x: TextData = None, *args: Any, **kwargs: Any) -> keras.callbacks.History:
        """Trains the tower (and the embedder if `train_embedder`) on `x`; returns the Keras `History`.

        Takes `Trainer.fit`'s arguments (`y` for labelled tasks, `epochs`,
        `steps_per_epoch`, `batch_size`, `validation_data`,
        `validation_split`, `class_weight`, `callbacks`, `verbose`). Long
        documents give a random window of the preprocessor's length per
        pass; short ones are padded; validation uses fixed masks.
        """
        history = super().fit(x, *args, **kwargs)
        # Compositions check that the tower meets the embedder it was trained on.
        self.tower.embedder_fingerprint = self.embedder.fingerprint
        return history

    def _record_training(self, history: keras.callbacks.History, seconds: float, restored: int | None = None) -> dict[str, Any]:
        training = super()._record_training(history, seconds, restored)
        passes = max(self.stats.passes, 1)
        training["documents per pass"] = self.stats.used // passes
        training["empty documents skipped per pass"] = self.stats.empty // passes
        self.card["trained_on"] = f"{self.stats.used // passes:,} documents"
        return training

    @property
    def trained_on_fingerprint(self) -> str:
        """The fingerprint of the embedder the tower was last trained on (the current one if never trained)."""
        return getattr(self.tower, "embedder_fingerprint", None) or self.embedder.fingerprint

    def _while_fitting(self) -> contextlib.AbstractContextManager:
        """With `train_embedder=False`, the shared embedder is frozen while this tower trains; its flags come back."""
        return frozen_while([] if self.train_embedder else [self.embedder])

    def freeze(self) -> None:
        """Stops the tower's weights from changing (in this pretrainer and in compositions)."""
        set_trainable(self.tower, False)

    def unfreeze(self) -> None:
        """Lets the tower's weights change again."""
        set_trainable(self.tower, True)

    # ------------------------------------------------------- saving & loading
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments that are plain values (components are saved beside them)."""
        return {
            "train_embedder": self.train_embedder,
            "tower_options": self.tower.get_config() if self.tower is not None else self.tower_options,
            "optimizer": self.optimizer if isinstance(self.optimizer, str) else keras.optimizers.serialize(self.optimizer)["class_name"],
            "learning_rate": self.learning_rate,
            "warmup_steps": self.warmup_steps,
            "batch_size": self.batch_size,
            "text_column": self.text_column,
            "seed": self.seed,
            "name": self.name,
            "mixed_precision": self.mixed_precision,
            "jit_compile": self.jit_compile,
            **self.task_config(),
        }

    def manifest(self) -> dict:
        """The manifest `save` writes; refuses a tower whose embedder changed after it was trained."""
        if not self.is_built:
            raise ValueError("Nothing to save yet: fit the pretrainer (or give it a fitted preprocessor).")
        if self.trained_on_fingerprint != self.embedder.fingerprint:
            raise ValueError(
                f"{self.name}: the embedder changed after this tower was trained (another pretrainer "
                "trained it), so they no longer belong together. Fit this pretrainer again, or train "
                "the others with train_embedder=False."
            )
        augmentors = [t for t in self.transforms if is_graph_augmentor(t)]
        if augmentors:
            self.card.setdefault("training", {})["augmentation"] = [repr(a) for a in augmentors]
        others = len(self.transforms) - len(augmentors) + len(self.filters)
        if others:
            self.card.setdefault("training", {})["transforms and filters (not saved)"] = others
        return super().manifest()

    def _interface(self) -> tuple[dict, dict]:
        return (
            {"vectors": {"dtype": "float32", "shape": [None, None, self.tower.input_dim]}},
            {"vectors": {"dtype": "float32", "shape": [None, None, self.tower.output_dim]}},
        )

    def _manifest_fields(self) -> dict[str, Any]:
        return {
            "embedder_fingerprint": self.trained_on_fingerprint,
            "parameters": {"tower": self.tower.count_params(), "head": self.head.count_params()},
        }

    def _save_payload(self, directory: Path) -> None:
        self.tower.save_weights(directory / TOWER_WEIGHTS)
        self.head.save_weights(directory / HEAD_WEIGHTS)
        self.embedder.save(directory / EMBEDDER_DIR)
        self.preprocessor.save(directory / PREPROCESSOR_DIR)

    def _writes_files(self) -> bool:
        return is_chief(self.training_model.distribute_strategy)

    @classmethod
    def _from_saved(cls, directory: Path, manifest: dict) -> Pretrainer:
        preprocessor = Preprocessor.load(directory / PREPROCESSOR_DIR)
        embedder = Embedder.load(directory / EMBEDDER_DIR)
        if embedder.fingerprint != manifest.get("embedder_fingerprint"):
            raise ComponentError(
                f"{directory}: the embedder saved beside the tower is not the one it was trained on "
                "(fingerprints differ). Save the pretrainer again."
            )
        config = dict(manifest["config"])
        with built_from(directory):
            tower = Tower.from_config(config.pop("tower_options"))
            pretrainer = cls(embedder=embedder, preprocessor=preprocessor, tower=tower, **config)
        load_weights_checked(pretrainer.tower, directory / TOWER_WEIGHTS)
        load_weights_checked(pretrainer.head, directory / HEAD_WEIGHTS)
        pretrainer.tower.embedder_fingerprint = manifest["embedder_fingerprint"]
        return pretrainer
