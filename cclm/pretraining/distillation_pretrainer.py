"""`DistillationPretrainer`: a (smaller, faster) student tower learns from a teacher."""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

import keras
import tensorflow as tf
from keras import ops

from cclm.components import register_component
from cclm.data.texts import TextData
from cclm.models.freezing import frozen_while
from cclm.pipelines.augmentation import Augmentor, length_keeping_noise
from cclm.pipelines.sharding import Shard
from cclm.pipelines.windows import corrupt_windows
from cclm.pretraining.pretrainer import Pretrainer
from cclm.training.distribution import TrainingModel

OBJECTIVES = ("representations", "soft_targets", "both")


class DistillationLoss(keras.losses.Loss):
    """Per-character distance between the student's half of `y_pred` and the teacher's half.

    The training model outputs the student's projected vectors and the
    teacher's vectors side by side; `y_true` is unused.

    Args:
        teacher_dim: the width of the teacher's output (the second half).
        objective: `"representations"` (mean squared error), `"soft_targets"`
            (KL divergence of softened distributions, scaled by T², as in
            Hinton et al.), or `"both"` (their sum).
        temperature: softens both distributions for `"soft_targets"`.
    """

    def __init__(self, teacher_dim: int, objective: str = "representations", temperature: float = 2.0, **kwargs: Any):
        kwargs.setdefault("reduction", "mean_with_sample_weight")
        super().__init__(name="distillation", **kwargs)
        self.teacher_dim = teacher_dim
        self.objective = objective
        self.temperature = temperature

    def call(self, y_true: Any, y_pred: Any) -> Any:
        student, teacher = y_pred[..., : self.teacher_dim], y_pred[..., self.teacher_dim :]
        loss = 0.0
        if self.objective in ("representations", "both"):
            loss = loss + ops.mean(ops.square(student - teacher), axis=-1)
        if self.objective in ("soft_targets", "both"):
            t = self.temperature
            targets = ops.softmax(teacher / t, axis=-1)
            log_student = ops.log_softmax(student / t, axis=-1)
            log_targets = ops.log_softmax(teacher / t, axis=-1)
            loss = loss + ops.sum(targets * (log_targets - log_student), axis=-1) * t * t
        return loss


@register_component("distillation_pretrainer")
class DistillationPretrainer(Pretrainer):
    """A student tower learns to give what a teacher gives, on unlabelled text.

    The teacher is a trained pretrainer (its embedder and tower), a
    `ComposedModel`, or any Keras model mapping ids (batch, length) to
    per-character vectors or logits (batch, length, d). It is frozen. The
    student's output goes through a learned projection to the teacher's
    width and is matched per character (padding excluded): by mean squared
    error, by soft targets with a `temperature`, or both.

    When the teacher has an embedder and none is given, the student shares
    it (and its preprocessor) and leaves it fixed, so the student composes
    with the teacher's other towers.

    With `denoising`, an `Augmentor` that keeps lengths (e.g.
    `Augmentor.typos(0.1, keep_length=True)`), the student reads each window
    with its typos and the teacher reads it clean: the student learns to give
    on misspelt text what the teacher gives on the right spelling, as in
    noisy-student training. Its noise is drawn afresh each pass; `distance`
    measures the student on fixed noisy windows. The `Augmentor`s among
    `transforms` apply before, to what both read.

    Args:
        teacher: what to learn from (see above). May be omitted when loading
            a saved student to compose it; `fit` needs one.
        objective: `"representations"`, `"soft_targets"` or `"both"`.
        temperature: for soft targets.
        denoising: an `Augmentor` that keeps lengths: typos only the student
            reads (see above); None: both read the same text.
        teacher_dim: the teacher's output width (found from the teacher).
        **kwargs: the common `Pretrainer` arguments (embedder, preprocessor,
            train_embedder, tower_options, optimizer, batch_size, ...).

    Example:
    >>> from cclm.pretraining.masked_language_pretrainer import MaskedLanguagePretrainer
    >>> from cclm.data.sample_text import python_docs_paragraphs
    >>> texts = python_docs_paragraphs()[:32]
    >>> teacher = MaskedLanguagePretrainer(tower_options={"hidden_dim": 32, "num_layers": 1, "num_heads": 2})
    >>> _ = teacher.fit(texts, verbose=0)
    >>> student = DistillationPretrainer(teacher, tower_options={"hidden_dim": 8, "num_layers": 1, "num_heads": 2})
    >>> history = student.fit(texts, verbose=0)
    >>> student.embedder is teacher.embedder, student.tower.output_dim, student.teacher_dim
    (True, 8, 32)
    """

    def __init__(
        self,
        teacher: Any = None,
        objective: str = "representations",
        temperature: float = 2.0,
        denoising: Augmentor | dict[str, Any] | None = None,
        teacher_dim: int | None = None,
        **kwargs: Any,
    ):
        if objective not in OBJECTIVES:
            raise ValueError(f"objective={objective!r}; use one of {OBJECTIVES}.")
        if temperature <= 0:
            raise ValueError(f"temperature={temperature!r}; use a positive number, e.g. 2.0.")
        self.objective = objective
        self.temperature = temperature
        self.denoising = length_keeping_noise(
            denoising, "denoising", "the student is matched to the teacher character by character"
        )
        self.teacher = teacher
        self.teacher_model = None
        teacher_embedder = getattr(teacher, "embedder", None)
        if teacher_embedder is not None and kwargs.get("embedder") is None:
            kwargs["embedder"] = teacher_embedder
            kwargs.setdefault("train_embedder", False)
            if getattr(teacher, "preprocessor", None) is not None:
                kwargs.setdefault("preprocessor", teacher.preprocessor)
        if teacher is not None:
            self.teacher_model = self._teacher_model(teacher)
            teacher_dim = int(self.teacher_model.output.shape[-1])
        if teacher_dim is None:
            raise ValueError("Give a teacher (or, when loading a saved student, its teacher_dim).")
        self.teacher_dim = teacher_dim
        super().__init__(**kwargs)
        if self.teacher_model is not None and self.train_embedder and self._shares_embedder():
            raise ValueError(
                "The student shares the teacher's embedder; training it would change the teacher too. "
                "Use train_embedder=False, or give the student an embedder of its own."
            )

    @staticmethod
    def _teacher_model(teacher: Any) -> keras.Model:
        from cclm.models.composed_model import ComposedModel

        if isinstance(teacher, Pretrainer):
            if not teacher.is_built:
                raise ValueError(f"The teacher {teacher.name!r} is not built yet; fit it (or load it) first.")
            ids = keras.Input(shape=(None,), dtype="int32", name="ids")
            return keras.Model(ids, teacher.tower(teacher.embedder(ids)), name=f"{teacher.name}_teacher")
        if isinstance(teacher, ComposedModel):
            return teacher.id_model
        if isinstance(teacher, keras.Model):
            if len(teacher.outputs) != 1 or len(teacher.output.shape) != 3:
                raise ValueError(
                    f"The teacher model {teacher.name!r} gives {[o.shape for o in teacher.outputs]}; a teacher "
                    "maps ids (batch, length) to one output (batch, length, d)."
                )
            return teacher
        raise TypeError(
            f"teacher is {type(teacher).__name__}; give a Pretrainer, a ComposedModel or a keras.Model "
            "mapping ids to per-character vectors or logits."
        )

    def _shares_embedder(self) -> bool:
        return any(layer is self.embedder for layer in self.teacher_model.layers)

    def task_config(self) -> dict[str, Any]:
        return {
            "objective": self.objective, "temperature": self.temperature, "teacher_dim": self.teacher_dim,
            "denoising": self.denoising.get_config() if self.denoising is not None else None,
        }

    def _build_head(self) -> keras.Model:
        features = keras.Input(shape=(None, self.tower.output_dim), name="features")
        projected = keras.layers.Dense(self.teacher_dim, name="projection")(features)
        return keras.Model(features, projected, name=f"{self.name}_head")

    def _build(self) -> None:
        super()._build()
        if self.teacher_model is None:
            return  # a loaded student: its tower composes; training needs a teacher
        ids = self.training_model.input  # what the student reads
        # With denoising the teacher reads the clean window, the student the same window with typos.
        teacher_ids = keras.Input(shape=(None,), dtype="int32", name="clean_ids") if self.denoising else ids
        pair = keras.layers.Concatenate(axis=-1, name="student_and_teacher")(
            [self.training_model.output, self.teacher_model(teacher_ids)]
        )
        inputs = (ids, teacher_ids) if self.denoising else ids
        self.training_model = TrainingModel(inputs, pair, name=f"{self.name}_training_model")

    def _while_fitting(self) -> contextlib.AbstractContextManager:
        """The teacher only teaches: frozen while the student trains, its own flags back after (`frozen_while`)."""
        teacher = self.teacher_model.layers if self.teacher_model is not None else []
        frozen = [layer for layer in teacher if layer is not self.embedder]
        return frozen_while(frozen if self.train_embedder else [*frozen, self.embedder])

    def _loss_and_metrics(self) -> tuple[keras.losses.Loss, list]:
        return DistillationLoss(self.teacher_dim, self.objective, self.temperature), []

    def _dataset(self, data: TextData, batch_size: int, training: bool, shard: Shard | None = None) -> tf.data.Dataset:
        if self.teacher_model is None:
            raise ValueError("This student has no teacher; create it with DistillationPretrainer(teacher, ...) to train it.")
        windows = self._windows(data, batch_size, training, shard)
        if self.denoising is not None:
            windows = corrupt_windows(windows, self.preprocessor.as_layer(), self.denoising)

        def with_weights(batch: dict[str, Any]) -> tuple[Any, tf.Tensor, tf.Tensor]:
            # The model reads ids, or with denoising (corrupted ids for the student, clean ones for the teacher).
            real = tf.cast(batch["ids"] != 0, tf.float32)
            inputs = (batch["corrupted_ids"], batch["ids"]) if self.denoising else batch["ids"]
            return inputs, tf.zeros_like(real), real  # y_true is unused: the teacher runs in the model

        return windows.map(with_weights).prefetch(tf.data.AUTOTUNE)

    def distance(self, data: TextData, batch_size: int | None = None) -> float:
        """The distillation loss on `data` (fixed windows): how far the student is from the teacher.

        With `denoising`, the student reads the windows with typos (the same ones in every call) and the
        teacher reads them clean.
        """
        self._compile()
        dataset = self._dataset(data, batch_size or self.batch_size, training=False)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Your input ran out of data", category=UserWarning)
            return float(self.training_model.evaluate(dataset, verbose=0))
