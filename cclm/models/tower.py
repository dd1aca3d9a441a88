"""`Tower`: the composable part of a pretrainer, embedder vectors -> vectors."""

from __future__ import annotations

from typing import Any

import keras

from cclm.errors import ComponentError
from cclm.layers.downsampling_transformer import DownsamplingTransformer
from cclm.models.freezing import set_trainable


@keras.saving.register_keras_serializable(package="cclm")
class Tower(keras.Model):
    """A Keras model from the embedder's output (batch, length, input_dim) to
    (batch, length, output_dim): same length, padding mask kept.

    The body is a CANINE-style `DownsamplingTransformer`: local convolution,
    strided downsampling, transformer blocks at the reduced rate, upsampling,
    and a final convolution that realigns every vector with its character.

    Args:
        input_dim: the embedder's `hidden_dim`.
        hidden_dim, output_dim, num_layers, num_heads, intermediate_dim,
        downsample_factor, kernel_size, max_length, dropout, causal: as in
            `cclm.layers.DownsamplingTransformer` (`causal`: no output sees a
            later character, as a next-character model needs).

    Example:
    >>> import numpy as np
    >>> tower = Tower(input_dim=16, hidden_dim=32, num_layers=1, num_heads=2, max_length=64)
    >>> tuple(tower(np.zeros((2, 8, 16), "float32")).shape)
    (2, 8, 32)
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int = 256,
        output_dim: int | None = None,
        num_layers: int = 4,
        num_heads: int = 4,
        intermediate_dim: int | None = None,
        downsample_factor: int = 4,
        kernel_size: int = 4,
        max_length: int = 2048,
        dropout: float = 0.1,
        causal: bool = False,
        **kwargs: Any,
    ):
        trainable = kwargs.pop("trainable", True)
        kwargs.setdefault("name", "tower")
        vectors = keras.Input(shape=(None, input_dim), name="vectors")
        body = DownsamplingTransformer(
            hidden_dim=hidden_dim,
            output_dim=output_dim,
            num_layers=num_layers,
            num_heads=num_heads,
            intermediate_dim=intermediate_dim,
            downsample_factor=downsample_factor,
            kernel_size=kernel_size,
            max_length=max_length,
            dropout=dropout,
            causal=causal,
            name="body",
        )
        super().__init__(inputs=vectors, outputs=body(vectors), **kwargs)
        set_trainable(self, trainable)  # Keras alone leaves the layers trainable (cclm.models.freezing)
        # Padding is masked all the way through; say so, so Keras passes masks on.
        self.supports_masking = True
        self.input_dim = input_dim
        self.hidden_dim = hidden_dim
        self.output_dim = body.output_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = body.intermediate_dim
        self.downsample_factor = downsample_factor
        self.kernel_size = kernel_size
        self.max_length = max_length
        self.dropout = dropout
        self.causal = causal

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, plain JSON values."""
        causal = {"causal": True} if self.causal else {}  # absent when False: older manifests stay as they were
        return {
            **causal,
            "name": self.name,
            "trainable": self.trainable,
            "input_dim": self.input_dim,
            "hidden_dim": self.hidden_dim,
            "output_dim": self.output_dim,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim,
            "downsample_factor": self.downsample_factor,
            "kernel_size": self.kernel_size,
            "max_length": self.max_length,
            "dropout": self.dropout,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Tower":
        return cls(**config)


def tower_config(tower: keras.Model) -> dict[str, Any]:
    """A tower's config as saved in manifests: a `Tower`'s as it is, another kind's with its Keras class name."""
    config = tower.get_config()
    if type(tower) is Tower:
        return config
    return {"class_name": keras.saving.get_registered_name(type(tower)), **config}


def tower_from_config(config: dict[str, Any]) -> keras.Model:
    """The tower `tower_config` saved: a `Tower`, or a registered cclm tower class that reads ids (`MeaningTower`)."""
    config = dict(config)
    name = config.pop("class_name", None)
    cls = Tower if name is None else keras.saving.get_registered_object(name)
    if name is not None and not (str(name).startswith("cclm>") and isinstance(cls, type)
                                 and issubclass(cls, keras.Model) and getattr(cls, "reads_ids", False)):
        raise ComponentError(f"A tower of class {name!r}: not a tower class of this cclm version; "
                             "upgrade cclm, or load a component saved by this version.")
    return cls.from_config(config)
