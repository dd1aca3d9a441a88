"""`StopOnNonFiniteLoss`: training stops at the first NaN or infinite loss, before anything is saved.

Keras' `TerminateOnNaN` only asks training to stop, and the epoch still
ends: a `ModelCheckpoint` would then overwrite the last good checkpoint
with broken weights. This callback raises instead, at the batch where the
loss went bad, so no later callback runs. Every `fit` in cclm puts it first.

Example:
>>> import keras, numpy as np
>>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
>>> model.compile("sgd", "mse")
>>> x = np.array([[1.0], [np.nan]], "float32")
>>> try:
...     model.fit(x, x, batch_size=1, shuffle=False, verbose=0, callbacks=[StopOnNonFiniteLoss()])
... except NonFiniteLossError as error:
...     print(str(error)[:44])
The loss became nan at epoch 1, batch 2 (ste
"""

from __future__ import annotations

import math
from typing import Any

import keras
from cclm.errors import NonFiniteLossError  # noqa: F401  (re-exported)


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Raises `NonFiniteLossError` at the first batch whose loss is NaN or infinite."""

    def __init__(self) -> None:
        super().__init__()
        self._epoch = 0
        self._step = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._step += 1
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if not math.isfinite(loss):
            raise NonFiniteLossError(
                f"The loss became {loss} at epoch {self._epoch + 1}, batch {batch + 1} (step {self._step}); "
                "training stopped there, before any callback saved these weights, so checkpoints written "
                "earlier are intact. The model's weights in memory are not: reload the last checkpoint or "
                "saved component, then lower the learning rate or look for bad values in the data."
            )
