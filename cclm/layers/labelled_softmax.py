"""`LabelledSoftmax`: a softmax whose output columns carry their label names, saved with the model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras


@keras.saving.register_keras_serializable(package="cclm")
class LabelledSoftmax(keras.layers.Softmax):
    """Logits (batch, labels) -> probabilities, column i the probability of `labels[i]`.

    The last layer of a classifier's `.keras` file: `labels` is saved in the
    layer's config, so a model loaded with `keras.saving.load_model` still
    names its classes (`model.get_layer("probabilities").labels`).

    Args:
        labels: every label (ints or strings), in the order of the columns.

    Example:
    >>> import numpy as np
    >>> layer = LabelledSoftmax(["no", "yes"], name="probabilities")
    >>> probabilities = np.asarray(layer(np.array([[0.0, 2.0]], "float32")))
    >>> layer.labels[int(probabilities.argmax())], LabelledSoftmax.from_config(layer.get_config()).labels
    ('yes', ['no', 'yes'])
    """

    def __init__(self, labels: Sequence[int | str], **kwargs: Any):
        super().__init__(**kwargs)
        self.labels = list(labels)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"labels": self.labels})
        return config
