"""What every `fit` shares: the fit loop, optimizers and mixed precision, `tf.distribute`, callbacks."""

from cclm.training.callbacks import StopOnNonFiniteLoss
from cclm.training.distribution import TrainingModel, is_chief, worker_path

__all__ = ["StopOnNonFiniteLoss", "TrainingModel", "is_chief", "worker_path"]
