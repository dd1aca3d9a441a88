"""Smaller components that compute (nearly) the same: `trim_vocabulary` and `prune`.

`trim_vocabulary(component, texts)` keeps only the characters of `texts`
(predictions unchanged on them); `prune(component, fraction)` zeroes a
fraction of the chosen weights and saves them compressed; `sparsity` reports
the share of zeros per weight tensor.
"""

import cclm.keras_objects as keras_objects
from cclm.compression.pruning import prunable_weights, prune, sparsity
from cclm.compression.vocabulary_trimming import trim_vocabulary

__all__ = ["prunable_weights", "prune", "sparsity", "trim_vocabulary"]


keras_objects.ready(__name__)  # last: registers cclm's Keras classes once this import is done
