"""`Embedder`: the shared base model, character ids -> a sequence of vectors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras

from cclm.component import (
    built_from,
    WEIGHTS_NAME,
    ComponentError,
    build_manifest,
    component_path,
    fingerprint,
    from_shelf,
    read_manifest,
    register_component,
    write_component,
)
from cclm.freezing import set_trainable
from cclm.layers.global_broadcast import GlobalBroadcast
from cclm.layers.position_embedding import PositionEmbedding
from cclm.layers.residual_conv_block import ResidualConvBlock


@keras.saving.register_keras_serializable(package="cclm")
@register_component("embedder")
class Embedder(keras.Model):
    """Character embeddings -> (batch, length, hidden_dim), shared by all towers.

    Character embedding + learned position embedding, then residual
    convolution blocks, then the original cclm "broadcast" feature (a masked
    max-pool over the text, projected and added to every position). Id 0 is
    padding: it carries a Keras mask through the model, never enters the pool,
    and its output vectors are zero, so towers and heads (e.g.
    `keras.layers.GlobalAveragePooling1D`) ignore it.

    Args:
        vocab_size: number of ids, `Preprocessor.vocab_size`.
        hidden_dim: width of every output vector.
        num_blocks: number of residual convolution blocks.
        kernel_size: convolution width in characters.
        max_length: the longest sequence accepted (size of the position table).
        dropout: dropout rate inside the blocks.

    Example:
    >>> from cclm import Preprocessor
    >>> prep = Preprocessor(sequence_length=16).fit(["some text", "more text"])
    >>> embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=32)
    >>> embedder(prep.encode(["text"])).shape
    TensorShape([1, 16, 32])
    """

    component_kind = "embedder"

    def __init__(
        self,
        vocab_size: int,
        hidden_dim: int = 128,
        num_blocks: int = 3,
        kernel_size: int = 5,
        max_length: int = 2048,
        dropout: float = 0.1,
        **kwargs: Any,
    ):
        trainable = kwargs.pop("trainable", True)
        kwargs.setdefault("name", "embedder")
        ids = keras.Input(shape=(None,), dtype="int32", name="ids")
        vectors = keras.layers.Embedding(
            vocab_size, hidden_dim, mask_zero=True, name="character_embedding"
        )(ids)
        vectors = PositionEmbedding(max_length, name="position_embedding")(vectors)
        for index in range(num_blocks):
            vectors = ResidualConvBlock(
                hidden_dim, kernel_size, dropout, name=f"conv_block_{index}"
            )(vectors)
        vectors = GlobalBroadcast(hidden_dim, name="global_broadcast")(vectors)
        super().__init__(inputs=ids, outputs=vectors, **kwargs)
        set_trainable(self, trainable)  # Keras alone leaves the layers trainable (cclm.freezing)
        self.vocab_size = vocab_size
        self.hidden_dim = hidden_dim
        self.num_blocks = num_blocks
        self.kernel_size = kernel_size
        self.max_length = max_length
        self.dropout = dropout
        self.card: dict[str, Any] = {}

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (keras-hub style), plain JSON values."""
        return {
            "name": self.name,
            "trainable": self.trainable,
            "vocab_size": self.vocab_size,
            "hidden_dim": self.hidden_dim,
            "num_blocks": self.num_blocks,
            "kernel_size": self.kernel_size,
            "max_length": self.max_length,
            "dropout": self.dropout,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Embedder":
        return cls(**config)

    @property
    def fingerprint(self) -> str:
        """sha256 of config and weights; changes whenever a weight changes."""
        config = {k: v for k, v in self.get_config().items() if k != "trainable"}
        return fingerprint(config, self.get_weights())

    def save(self, filepath: str | os.PathLike, overwrite: bool = True, **kwargs: Any) -> Any:
        """Saves as a component directory; a path ending in `.keras` or `.h5`
        uses Keras' own `Model.save` instead (as `ModelCheckpoint` does)."""
        if str(filepath).endswith((".keras", ".h5")):
            return super().save(filepath, overwrite=overwrite, **kwargs)
        manifest = build_manifest(
            kind=self.component_kind,
            name=self.name,
            config=self.get_config(),
            inputs={"ids": {"dtype": "int32", "shape": [None, None]}},
            outputs={"vectors": {"dtype": self.compute_dtype, "shape": [None, None, self.hidden_dim]}},
            card=self.card,
            fingerprint=self.fingerprint,
            parameters=self.count_params(),
        )
        return write_component(
            filepath, manifest, lambda d: self.save_weights(d / WEIGHTS_NAME), overwrite
        )

    from_shelf = classmethod(from_shelf)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "Embedder":
        """Loads an embedder saved with `save(directory)`; outputs are identical."""
        directory = component_path(directory)
        manifest = read_manifest(directory, kind=cls.component_kind)
        with built_from(directory):
            embedder = cls.from_config(manifest["config"])
        load_weights_checked(embedder, Path(directory) / WEIGHTS_NAME)
        embedder.card = manifest.get("card", {})
        if manifest.get("fingerprint") not in (None, embedder.fingerprint):
            raise ComponentError(
                f"{directory}: the weights do not match the manifest's fingerprint; the "
                "component was modified or damaged. Save or fetch it again."
            )
        return embedder


def load_weights_checked(model: keras.Model, path: Path) -> None:
    """`model.load_weights(path)`, with a clear error for missing or damaged files."""
    if not path.is_file():
        raise ComponentError(f"{path} is missing; the component directory is incomplete.")
    try:
        model.load_weights(path)
    except (OSError, ValueError, KeyError) as error:
        raise ComponentError(
            f"{path} could not be read as Keras weights ({type(error).__name__}: {error}). "
            "The file is damaged or truncated; save or fetch the component again."
        ) from None
