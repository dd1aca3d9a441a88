"""Ids -> `tf.data` batches: windows, masking, typo augmentation, and each worker's shard."""

from cclm.pipelines.augmentation import Augmentor
from cclm.pipelines.masking import SpanMasking, WholeTokenMasking
from cclm.pipelines.sharding import Shard
import cclm.keras_objects as keras_objects

__all__ = ["Augmentor", "Shard", "SpanMasking", "WholeTokenMasking"]


keras_objects.ready(__name__)  # last: registers cclm's Keras classes once this import is done
