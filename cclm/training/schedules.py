"""`WarmupInverseSquareRoot`: a learning rate that rises linearly, then decays as 1 / sqrt(step).

Pretraining runs are often stopped by a time budget or resumed by another
`fit`, so the schedule needs no total number of steps (as T5's does not):
after `warmup_steps` at a linearly rising rate, the rate is
`peak * sqrt(warmup_steps / step)`.

Example:
>>> schedule = WarmupInverseSquareRoot(1e-3, warmup_steps=100)
>>> [round(float(schedule(step)), 6) for step in (0, 49, 99, 399)]
[1e-05, 0.0005, 0.001, 0.0005]
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="cclm")
class WarmupInverseSquareRoot(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup to `peak` over `warmup_steps`, then `peak * sqrt(warmup_steps / step)`.

    Args:
        peak: the highest learning rate, reached at the end of warmup.
        warmup_steps: optimizer steps of linear warmup (1 or more).
    """

    def __init__(self, peak: float, warmup_steps: int):
        if warmup_steps < 1:
            raise ValueError(f"warmup_steps={warmup_steps}; use 1 or more (or no schedule).")
        self.peak = float(peak)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step: Any) -> Any:
        step = ops.cast(step, "float32") + 1.0
        warmup = ops.cast(self.warmup_steps, "float32")
        return self.peak * ops.minimum(step / warmup, ops.sqrt(warmup / ops.maximum(step, warmup)))

    def get_config(self) -> dict[str, Any]:
        return {"peak": self.peak, "warmup_steps": self.warmup_steps}
