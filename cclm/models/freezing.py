"""`set_trainable`: freezing and unfreezing that always reaches every weight.

Two behaviours of Keras 3 on TensorFlow (3.15) together let a frozen
component train:
- a functional model built with `trainable=False` (as `from_config` does when
  a frozen component is loaded) sets the flag before it tracks its layers, so
  its layers stay trainable;
- `layer.trainable = value` does nothing at all when `layer.trainable` already
  equals `value` (the TensorFlow backend's `__setattr__` skips `x.a = x.a`), so
  freezing such a model again does not reach its layers either.

A model that, like `ComposedModel`, reuses the layers of a nested functional
model trains those layers by their own flags, so such a component's weights
changed although it said `trainable=False`. `set_trainable` assigns the
opposite value first, so Keras' setter always runs and passes the value on.
"""

from __future__ import annotations

import keras


def set_trainable(layer: keras.layers.Layer, trainable: bool) -> None:
    """Sets `layer.trainable` and, every time, that of all its sublayers.

    Example:
    >>> import keras
    >>> inputs = keras.Input(shape=(3,))
    >>> model = keras.Model(inputs, keras.layers.Dense(2)(inputs), trainable=False)
    >>> set_trainable(model, False)
    >>> [layer.trainable for layer in model.layers]
    [False, False]
    """
    trainable = bool(trainable)
    layer.trainable = not trainable
    layer.trainable = trainable
