"""What every `fit` in cclm shares: the optimizer by name, mixed precision, the Keras fit call, the model card's training record.

Pretrainers and `TextClassifier` build their own `tf.data` pipelines and
models; these helpers make them train, stop on a bad loss, and report alike.

Example:
>>> make_optimizer("adam", 1e-3).learning_rate.numpy().round(4)
np.float32(0.001)
>>> resolve_mixed_precision("mixed_bfloat16"), resolve_mixed_precision(None)
('mixed_bfloat16', None)
"""

from __future__ import annotations

import contextlib
import math
import numbers
import re
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from cclm.errors import NoUsableTextError
from cclm.training.callbacks import StopOnNonFiniteLoss
from cclm.training.schedules import WarmupInverseSquareRoot

MIXED_PRECISION_POLICIES = ("mixed_float16", "mixed_bfloat16")


def resolve_mixed_precision(mixed_precision: str | bool | None) -> str | None:
    """The Keras dtype policy to train with, or None for float32.

    `"auto"` (or True) picks `mixed_float16` where a GPU is visible and
    `mixed_bfloat16` elsewhere (CPUs with bfloat16 units, TPUs).
    """
    if mixed_precision in (None, False):
        return None
    if mixed_precision in (True, "auto"):
        return "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"
    if mixed_precision in MIXED_PRECISION_POLICIES:
        return mixed_precision
    raise ValueError(
        f"mixed_precision={mixed_precision!r} is not a mixed precision policy; use None (float32), "
        "'auto', 'mixed_float16' (GPUs) or 'mixed_bfloat16' (CPUs, TPUs)."
    )


@contextlib.contextmanager
def compute_precision(models: Sequence[keras.Layer], policy: str | None) -> Iterator[None]:
    """Runs every layer inside `models` under the dtype `policy` for the duration; float32 again after.

    Variables stay float32 under mixed policies, so weights, saved files and
    fingerprints are the same as without; only the arithmetic is cheaper.
    """
    if policy is None:
        yield
        return
    layers = [layer for model in models for layer in model._flatten_layers(include_self=True, recursive=True)]
    previous = [layer.dtype_policy for layer in layers]
    for layer in layers:
        layer.dtype_policy = policy
    try:
        yield
    finally:
        for layer, old in zip(layers, previous):
            layer.dtype_policy = old


def make_optimizer(
    optimizer: str | keras.optimizers.Optimizer, learning_rate: float, mixed_precision: str | None = None,
    warmup_steps: int = 0,
) -> keras.optimizers.Optimizer:
    """`optimizer` itself, or the Keras optimizer it names with `learning_rate`.

    With `warmup_steps`, a named optimizer's rate follows
    `WarmupInverseSquareRoot(learning_rate, warmup_steps)`.

    Under `mixed_float16` it is wrapped in a `LossScaleOptimizer`, which
    keeps small float16 gradients from vanishing.
    """
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        try:
            rate = WarmupInverseSquareRoot(learning_rate, warmup_steps) if warmup_steps else learning_rate
            optimizer = keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": rate}})
        except ValueError:
            raise ValueError(
                f"optimizer={optimizer!r} is not a Keras optimizer name; use e.g. 'adamw', "
                "'adam', 'adafactor', 'sgd', or pass a keras.optimizers.Optimizer."
            ) from None
    if mixed_precision == "mixed_float16" and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def build_optimizer(model: keras.Model) -> None:
    """Creates the compiled optimizer's variables now, under the model's strategy.

    With no `tf.distribute` strategy set, Keras leaves this to the first
    traced training step; a `tf.function` that creates variables is traced a
    second time, so every `fit` paid for two traces of its training step.
    """
    optimizer = model.optimizer
    if optimizer is not None and not optimizer.built:
        with model.distribute_strategy.scope():
            optimizer.build(model.trainable_variables)


def run_fit(
    model: keras.Model,
    train: tf.data.Dataset,
    epochs: int,
    steps_per_epoch: int | None,
    validation: tf.data.Dataset | None,
    callbacks: list[keras.callbacks.Callback] | None,
    verbose: str | int,
) -> tuple[keras.callbacks.History, float]:
    """`model.fit` on a pipeline that shuffles itself; returns the `History` and the seconds it took.

    `train` comes from `cclm.training.distribution.input_pipeline` (repeated when
    training by `steps_per_epoch`). `StopOnNonFiniteLoss` runs before the
    user's callbacks, so a NaN loss stops training before any of them saves.

    Raises:
        NoUsableTextError: the data gave no usable text; TypeError,
            ValueError, FileNotFoundError: a bad text, label or file. Each
            is raised inside `tf.data` and re-raised here as itself.
    """
    started = time.perf_counter()
    build_optimizer(model)
    with warnings.catch_warnings():
        # A stream's length is unknown until it ends, and Keras warns when it does; with
        # `steps_per_epoch` the training data repeats, so only validation data ends, as it should.
        warnings.filterwarnings("ignore", message="Your input ran out of data", category=UserWarning)
        try:
            history = model.fit(
                train, epochs=epochs, steps_per_epoch=steps_per_epoch, validation_data=validation,
                callbacks=[StopOnNonFiniteLoss(), *(callbacks or [])], verbose=verbose, shuffle=False,
            )
        except tf.errors.OpError as error:
            found = data_error(error)
            if found is None:
                raise
            raise found from None
    return history, time.perf_counter() - started


_DATA_ERRORS = {"NoUsableTextError": NoUsableTextError, "TypeError": TypeError, "ValueError": ValueError,
                "FileNotFoundError": FileNotFoundError}


def data_error(error: tf.errors.OpError) -> Exception | None:
    """The error that reading the data raised inside `tf.data` (a bad text, label or file), as itself; else None.

    `tf.data` wraps what a generator raises in an `InvalidArgumentError`
    whose message holds the original's last line, `TypeError: data[10] is ...`.
    """
    message = str(error)
    if "NoUsableTextError: " not in message and "generator_py_func" not in message:
        return None  # not raised while reading the data
    found = re.search(rf"^(?:\S+\.)?({'|'.join(_DATA_ERRORS)}): (.+)$", message, re.MULTILINE)
    return _DATA_ERRORS[found.group(1)](found.group(2).strip()) if found else None


def restored_epoch(callbacks: list[keras.callbacks.Callback] | None) -> int | None:
    """The epoch of this fit whose weights an `EarlyStopping(restore_best_weights=True)` restored, if any."""
    for callback in callbacks or []:
        if (isinstance(callback, keras.callbacks.EarlyStopping) and callback.restore_best_weights
                and callback.best_weights is not None):
            return int(callback.best_epoch)
    return None


def check_fit_options(epochs: Any, batch_size: Any, steps_per_epoch: Any) -> None:
    """Raises ValueError naming a `fit` count that is not a whole number in range, and what to give.

    >>> check_fit_options(1, None, None)
    >>> check_fit_options(-1, None, None)
    Traceback (most recent call last):
    ...
    ValueError: epochs=-1; give an int >= 0 (passes over the data).
    """
    def whole(value: Any, least: int) -> bool:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= least

    for name, value, least, meaning, optional in (("epochs", epochs, 0, "passes over the data", False),
                                                  ("batch_size", batch_size, 1, "texts per step", True),
                                                  ("steps_per_epoch", steps_per_epoch, 1, "steps per epoch", True)):
        if not (optional and value is None) and not whole(value, least):
            raise ValueError(f"{name}={value!r}; give {'None or ' if optional else ''}an int >= {least} ({meaning}).")


def check_training_options(batch_size: Any, learning_rate: Any) -> None:
    """Raises ValueError for a `batch_size` that is not an int >= 1 or a `learning_rate` that is not finite and > 0."""
    check_fit_options(0, batch_size, None)
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real) or not (
            0 < learning_rate < math.inf):
        raise ValueError(f"learning_rate={learning_rate!r}; give a finite float > 0 (e.g. 2e-3).")


def class_weights(class_weight: dict[Any, float], labels: list[Any]) -> np.ndarray:
    """Each label index's weight from `{label: weight}` (labels missing from it weigh 1).

    Raises:
        ValueError: a key that is not a label, or a weight that is not a positive finite number.
    """
    unknown = [key for key in class_weight if key not in labels]
    if unknown:
        raise ValueError(f"class_weight has keys {unknown[:5]} that are not labels; the labels are {labels[:20]}.")
    weights = np.array([class_weight.get(label, 1.0) for label in labels], "float64")
    if not np.all(np.isfinite(weights) & (weights > 0)):
        raise ValueError(f"class_weight={class_weight!r}; every weight must be a positive number.")
    return weights


def record_fit(
    card: dict[str, Any], history: keras.callbacks.History, seconds: float, restored: int | None = None,
) -> dict[str, Any]:
    """Adds a fit's epochs, time, metrics and per-epoch history to a model card; returns its "training" section.

    The card's metrics are the last epoch's, or those of epoch `restored`
    (0-based, of this fit) when a callback restored that epoch's weights.
    """
    training = card.setdefault("training", {})
    training["epochs"] = training.get("epochs", 0) + len(history.epoch)
    training["seconds"] = round(training.get("seconds", 0.0) + seconds, 1)
    position = -1
    if restored is not None and restored in history.epoch:
        position = history.epoch.index(restored)
        training["restored epoch"] = restored + 1
    else:
        training.pop("restored epoch", None)
    card["metrics"] = {key: round(float(values[position]), 5) for key, values in history.history.items()}
    # Every epoch's metrics, over all fits: the training curves of `cclm evaluate --plot`.
    curves = card.setdefault("history", {})
    for key, values in history.history.items():
        curves.setdefault(key, []).extend(round(float(value), 5) for value in values)
    return training
