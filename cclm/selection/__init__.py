"""Which texts to label first: `select_diverse` (k-means on a composition's pooled features) and its `kmeans`."""

import cclm.keras_objects as keras_objects
from cclm.selection.diverse_selection import (
    diverse_indices,
    pooled_features,
    select_diverse,
)
from cclm.selection.kmeans import kmeans

__all__ = ["diverse_indices", "kmeans", "pooled_features", "select_diverse"]


keras_objects.ready(__name__)  # last: registers cclm's Keras classes once this import is done
