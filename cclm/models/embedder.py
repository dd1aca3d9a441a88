"""`Embedder`: the shared base model, character ids -> a sequence of vectors."""

from __future__ import annotations

import numbers
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras

from cclm.components import Component, ComponentError, WEIGHTS_NAME, built_from, fingerprint, load_weights_checked, register_component
from cclm.models.freezing import set_trainable
from cclm.layers.global_broadcast import GlobalBroadcast
from cclm.layers.hashed_ngram_embedding import HashedNgramEmbedding
from cclm.layers.position_embedding import PositionEmbedding
from cclm.layers.residual_conv_block import ResidualConvBlock


# Bounds that no real embedder comes near, so that a damaged or hostile manifest fails with a
# ComponentError instead of asking TensorFlow for terabytes (Unicode has 1,114,112 code points).
MAX_VOCAB_SIZE = 2**21
MAX_LENGTH = 2**20
MAX_WIDTH = 2**14
MAX_NGRAM_BUCKETS = 2**24

@keras.saving.register_keras_serializable(package="cclm")
@register_component("embedder")
class Embedder(keras.Model, Component):
    """Character embeddings -> (batch, length, hidden_dim), shared by all towers.

    Character embedding, plus hashed embeddings of the character n-grams
    ending at each position (`cclm.layers.HashedNgramEmbedding`, n = 2 to
    `max_ngram`), + learned position embedding, then residual
    convolution blocks, then the original cclm "broadcast" feature (a masked
    max-pool over the text, projected and added to every position). Id 0 is
    padding: it carries a Keras mask through the model, never enters the pool,
    and its output vectors are zero, so towers and heads (e.g.
    `keras.layers.GlobalAveragePooling1D`) ignore it.

    Args:
        max_length: the longest sequence accepted (size of the position
            table): `Preprocessor.max_example_len` or longer.
        vocab_size: number of ids, `Preprocessor.vocab_size` (`n_chars`).
            The two come first, in the original cclm's order; every other
            argument is keyword-only.
        hidden_dim: width of every output vector.
        num_blocks: number of residual convolution blocks.
        kernel_size: convolution width in characters.
        dropout: dropout rate inside the blocks.
        max_ngram: the longest hashed n-gram embedded (1, the default:
            characters only; 4 adds the 2-, 3- and 4-grams).
        ngram_buckets: rows of the hashed n-gram table.
        ngram_hash_ids: the id each id's n-grams are hashed as (default:
            itself); set by `cclm.compression.trim_vocabulary`, so that a
            trimmed vocabulary's n-grams keep their rows.
        causal: no output vector sees a later character (convolutions pad on
            the left; the broadcast feature summarizes each position's
            prefix), as a next-character model
            (`cclm.pretraining.CausalLanguagePretrainer`) needs.

    Example:
    >>> from cclm import Preprocessor
    >>> prep = Preprocessor(sequence_length=16).fit(["some text", "more text"])
    >>> embedder = Embedder(prep.max_example_len, prep.n_chars, hidden_dim=32)
    >>> embedder(prep.encode(["text"])).shape
    TensorShape([1, 16, 32])
    """

    component_kind = "embedder"

    def __init__(
        self,
        max_length: int = 2048,
        vocab_size: int | None = None,
        *,
        hidden_dim: int = 128,
        num_blocks: int = 3,
        kernel_size: int = 5,
        dropout: float = 0.1,
        max_ngram: int = 1,
        ngram_buckets: int = 2048,
        causal: bool = False,
        ngram_hash_ids: Sequence[int] | None = None,
        **kwargs: Any,
    ):
        if vocab_size is None:
            raise TypeError(
                f"Embedder needs vocab_size (the preprocessor's vocab_size); got only max_length="
                f"{max_length!r}. The positional order is the original cclm's, Embedder(max_length, "
                "vocab_size), e.g. Embedder(prep.max_example_len, prep.n_chars); or pass keywords."
            )
        limits = (("max_length", max_length, MAX_LENGTH), ("vocab_size", vocab_size, MAX_VOCAB_SIZE),
                  ("hidden_dim", hidden_dim, MAX_WIDTH), ("ngram_buckets", ngram_buckets, MAX_NGRAM_BUCKETS))
        for argument, value, limit in limits:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= limit:
                raise ValueError(f"Embedder {argument}={value!r}; use a positive int of at most {limit:,}.")
        max_length, vocab_size = int(max_length), int(vocab_size)
        trainable = kwargs.pop("trainable", True)
        kwargs.setdefault("name", "embedder")
        ids = keras.Input(shape=(None,), dtype="int32", name="ids")
        vectors = keras.layers.Embedding(
            vocab_size, hidden_dim, mask_zero=True, name="character_embedding"
        )(ids)
        if max_ngram > 1:
            ngrams = HashedNgramEmbedding(ngram_buckets, hidden_dim, max_ngram, hash_ids=ngram_hash_ids,
                                          name="ngram_embedding")(ids)
            vectors = keras.layers.Add(name="characters_and_ngrams")([vectors, ngrams])
        vectors = PositionEmbedding(max_length, name="position_embedding")(vectors)
        for index in range(num_blocks):
            vectors = ResidualConvBlock(
                hidden_dim, kernel_size, dropout, causal, name=f"conv_block_{index}"
            )(vectors)
        vectors = GlobalBroadcast(hidden_dim, causal, name="global_broadcast")(vectors)
        super().__init__(inputs=ids, outputs=vectors, **kwargs)
        set_trainable(self, trainable)  # Keras alone leaves the layers trainable (cclm.models.freezing)
        self.vocab_size = vocab_size
        self.hidden_dim = hidden_dim
        self.num_blocks = num_blocks
        self.kernel_size = kernel_size
        self.max_length = max_length
        self.dropout = dropout
        self.max_ngram = max_ngram
        self.ngram_buckets = ngram_buckets
        self.causal = causal
        self.ngram_hash_ids = None if ngram_hash_ids is None else [int(i) for i in ngram_hash_ids]
        self.card: dict[str, Any] = {}

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (keras-hub style), plain JSON values."""
        # `ngram_hash_ids` only where set: the configs (and fingerprints) of every other embedder stay as they were.
        hashed = {} if self.ngram_hash_ids is None else {"ngram_hash_ids": self.ngram_hash_ids}
        return {
            "name": self.name,
            "trainable": self.trainable,
            "vocab_size": self.vocab_size,
            "hidden_dim": self.hidden_dim,
            "num_blocks": self.num_blocks,
            "kernel_size": self.kernel_size,
            "max_length": self.max_length,
            "dropout": self.dropout,
            "max_ngram": self.max_ngram,
            "ngram_buckets": self.ngram_buckets,
            **({"causal": True} if self.causal else {}),  # absent when False: older manifests stay as they were
            **hashed,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Embedder":
        return cls(**{"max_ngram": 1, **config})  # saved before n-grams existed: characters only

    @property
    def fingerprint(self) -> str:
        """sha256 of config and weights; changes whenever a weight changes."""
        config = {k: v for k, v in self.get_config().items() if k != "trainable"}
        if self.max_ngram == 1:  # characters only: the config embedders had before n-grams, same fingerprint
            del config["max_ngram"], config["ngram_buckets"]
        return fingerprint(config, self.get_weights())

    def save(self, filepath: str | os.PathLike, overwrite: bool = True, **kwargs: Any) -> Path:
        """Saves as a component directory; a path ending in `.keras` or `.h5`
        uses Keras' own `Model.save` instead (as `ModelCheckpoint` does).
        Returns the absolute path written."""
        if str(filepath).endswith((".keras", ".h5")):
            keras.Model.save(self, filepath, overwrite=overwrite, **kwargs)
            return Path(filepath).expanduser().absolute()
        return Component.save(self, filepath, overwrite=overwrite)

    def _interface(self) -> tuple[dict, dict]:
        return (
            {"ids": {"dtype": "int32", "shape": [None, None]}},
            {"vectors": {"dtype": self.compute_dtype, "shape": [None, None, self.hidden_dim]}},
        )

    def _manifest_fields(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "parameters": self.count_params()}

    def _save_payload(self, directory: Path) -> None:
        self.save_weights(directory / WEIGHTS_NAME)

    @classmethod
    def _from_saved(cls, directory: Path, manifest: dict) -> "Embedder":
        with built_from(directory):
            embedder = cls.from_config(manifest["config"])
        load_weights_checked(embedder, directory / WEIGHTS_NAME)
        if manifest.get("fingerprint") is None:  # every save writes one: it was removed, or never checked
            warnings.warn(f"{directory}: its manifest has no fingerprint, so nothing checks that these weights "
                          "are the ones it was saved with, nor towers against them; save it again.", stacklevel=3)
        elif manifest["fingerprint"] != embedder.fingerprint:
            raise ComponentError(
                f"{directory}: the weights do not match the manifest's fingerprint; the "
                "component was modified or damaged. Save or fetch it again."
            )
        return embedder
