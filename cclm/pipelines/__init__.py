"""Ids -> `tf.data` batches: windows, masking, typo augmentation, and each worker's shard."""

from cclm.pipelines.augmentation import Augmentor
from cclm.pipelines.masking import SpanMasking, WholeTokenMasking
from cclm.pipelines.sharding import Shard

__all__ = ["Augmentor", "Shard", "SpanMasking", "WholeTokenMasking"]
