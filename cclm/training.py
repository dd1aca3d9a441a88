"""What every `fit` in cclm shares: the optimizer by name, the Keras fit call, the model card's training record.

Pretrainers and `TextClassifier` build their own `tf.data` pipelines and
models; these helpers make them train, stop on a bad loss, and report alike.

Example:
>>> make_optimizer("adam", 1e-3).learning_rate.numpy().round(4)
np.float32(0.001)
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import keras
import tensorflow as tf

from cclm.callbacks import StopOnNonFiniteLoss


def make_optimizer(optimizer: str | keras.optimizers.Optimizer, learning_rate: float) -> keras.optimizers.Optimizer:
    """`optimizer` itself, or the Keras optimizer it names with `learning_rate`."""
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return optimizer
    try:
        return keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}})
    except ValueError:
        raise ValueError(
            f"optimizer={optimizer!r} is not a Keras optimizer name; use e.g. 'adamw', "
            "'adam', 'adafactor', 'sgd', or pass a keras.optimizers.Optimizer."
        ) from None


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

    With `steps_per_epoch` the data repeats as needed. `StopOnNonFiniteLoss`
    runs before the user's callbacks, so a NaN loss stops training before
    any of them saves.
    """
    if steps_per_epoch is not None:
        train = train.repeat()
    started = time.perf_counter()
    with warnings.catch_warnings():
        if steps_per_epoch is None:
            # A stream's length is unknown until it ends; Keras warns when it does.
            warnings.filterwarnings("ignore", message="Your input ran out of data", category=UserWarning)
        history = model.fit(
            train, epochs=epochs, steps_per_epoch=steps_per_epoch, validation_data=validation,
            callbacks=[StopOnNonFiniteLoss(), *(callbacks or [])], verbose=verbose, shuffle=False,
        )
    return history, time.perf_counter() - started


def record_fit(card: dict[str, Any], history: keras.callbacks.History, seconds: float) -> dict[str, Any]:
    """Adds a fit's epochs, time and last metrics to a model card; returns its "training" section."""
    training = card.setdefault("training", {})
    training["epochs"] = training.get("epochs", 0) + len(history.epoch)
    training["seconds"] = round(training.get("seconds", 0.0) + seconds, 1)
    card["metrics"] = {key: round(float(values[-1]), 5) for key, values in history.history.items()}
    return training
