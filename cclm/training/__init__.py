"""What every `fit` shares: the fit loop, optimizers and mixed precision, `tf.distribute`, callbacks."""

from cclm.training.callbacks import StopOnNonFiniteLoss
from cclm.training.distribution import TrainingModel, is_chief, worker_path
import cclm.keras_objects as keras_objects

__all__ = ["StopOnNonFiniteLoss", "TrainingModel", "is_chief", "worker_path"]


keras_objects.ready(__name__)  # last: registers cclm's Keras classes once this import is done
