"""`LogitBias`: adds one offset per label to a batch of logits."""

from __future__ import annotations

from typing import Any

import keras


@keras.saving.register_keras_serializable(package="cclm")
class LogitBias(keras.layers.Layer):
    """Logits (batch, units) -> logits + bias, one bias per unit.

    A model that reads only part of a head (a `TextClassifier` whose head
    gave its composition weight 0 reads the n-gram logits alone) still adds
    the head's bias. `LogitBias.sharing(variable)` adds that very variable
    (e.g. a `Dense` layer's bias), not a copy, so the two never disagree;
    saved and loaded, the layer holds its own copy.

    Args:
        units: the number of logits.

    Example:
    >>> import numpy as np
    >>> dense = keras.layers.Dense(2, bias_initializer="ones")
    >>> dense.build((None, 3))
    >>> np.asarray(LogitBias.sharing(dense.bias)(np.zeros((1, 2), "float32"))).tolist()
    [[1.0, 1.0]]
    """

    def __init__(self, units: int, **kwargs: Any):
        if not isinstance(units, int) or isinstance(units, bool) or units < 1:
            raise ValueError(f"units={units!r}; use an int >= 1.")
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.units = units

    @classmethod
    def sharing(cls, variable: keras.Variable, **kwargs: Any) -> "LogitBias":
        """A layer that adds `variable`, a (units,) Keras variable, itself."""
        layer = cls(int(variable.shape[0]), **kwargs)
        layer.bias = variable
        layer.built = True
        return layer

    def build(self, input_shape: tuple) -> None:
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", trainable=False, name="bias")

    def call(self, logits: Any) -> Any:
        return logits + keras.ops.cast(self.bias, logits.dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"units": self.units})
        return config
