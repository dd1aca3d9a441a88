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

import contextlib
from collections.abc import Iterator, Sequence

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


@contextlib.contextmanager
def frozen_while(layers: Sequence[keras.layers.Layer]) -> Iterator[None]:
    """Freezes `layers` inside the block and gives every one of their sublayers its own flag back after it.

    For training a head on parts that others hold too (a pretrainer's tower
    in a `TextClassifier`): they train again, as before, once the block ends.

    Example:
    >>> import keras
    >>> dense = keras.layers.Dense(2)
    >>> with frozen_while([dense]):
    ...     dense.trainable
    False
    >>> dense.trainable
    True
    """
    flags = [(layer, layer.trainable) for part in layers for layer in part._flatten_layers(include_self=True)]
    for part in layers:
        set_trainable(part, False)
    try:
        yield
    finally:
        for layer, trainable in flags:  # parents before their sublayers: each ends with its own flag
            set_trainable(layer, trainable)
