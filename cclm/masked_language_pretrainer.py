"""`MaskedLanguagePretrainer`: a tower learns to restore hidden character spans."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from cclm.component import register_component
from cclm.masking import SpanMasking
from cclm.pipeline import character_windows
from cclm.pretrainer import Pretrainer
from cclm.texts import TextData


@register_component("masked_language_pretrainer")
class MaskedLanguagePretrainer(Pretrainer):
    """Masked language modelling over characters.

    Random character spans are hidden (`SpanMasking`: about `mask_rate` of
    the characters, spans of `min_span` to `max_span`, 80/10/10 mask / random
    / keep) and the head predicts the original characters. Loss and accuracy
    count hidden positions only; padding never counts.

    Args:
        mask_rate, min_span, max_span, mask_fraction, random_fraction: as in
            `cclm.masking.SpanMasking`.
        **kwargs: the common `Pretrainer` arguments (embedder, preprocessor,
            train_embedder, tower_options, optimizer, batch_size, ...).

    Example:
    >>> from cclm.sample_text import python_docs_paragraphs
    >>> texts = python_docs_paragraphs()[:64]
    >>> pretrainer = MaskedLanguagePretrainer(
    ...     tower_options={"hidden_dim": 32, "num_layers": 1, "num_heads": 2}, seed=0)
    >>> history = pretrainer.fit(texts, epochs=1, batch_size=16, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'loss']
    """

    def __init__(
        self,
        mask_rate: float = 0.15,
        min_span: int = 1,
        max_span: int = 5,
        mask_fraction: float = 0.8,
        random_fraction: float = 0.1,
        **kwargs: Any,
    ):
        self.mask_rate = mask_rate
        self.min_span = min_span
        self.max_span = max_span
        self.mask_fraction = mask_fraction
        self.random_fraction = random_fraction
        super().__init__(**kwargs)

    def task_config(self) -> dict[str, Any]:
        return {
            "mask_rate": self.mask_rate,
            "min_span": self.min_span,
            "max_span": self.max_span,
            "mask_fraction": self.mask_fraction,
            "random_fraction": self.random_fraction,
        }

    @property
    def masking(self) -> SpanMasking:
        """The masking applied to every training batch."""
        return SpanMasking(
            self.preprocessor.vocab_size, self.mask_rate, self.min_span, self.max_span,
            self.mask_fraction, self.random_fraction,
        )

    def _build_head(self) -> keras.Model:
        features = keras.Input(shape=(None, self.tower.output_dim), name="features")
        hidden = keras.layers.Dense(self.tower.output_dim, activation="gelu", name="transform")(features)
        hidden = keras.layers.LayerNormalization(epsilon=1e-6, name="norm")(hidden)
        logits = keras.layers.Dense(self.preprocessor.vocab_size, name="character_logits")(hidden)
        return keras.Model(features, logits, name=f"{self.name}_head")

    def _loss_and_metrics(self) -> tuple[keras.losses.Loss, list]:
        loss = keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"
        )
        return loss, [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def _dataset(self, data: TextData, batch_size: int, training: bool) -> tf.data.Dataset:
        seed = self.seed if training else 0
        windows = character_windows(
            data, self.preprocessor, batch_size, text_column=self.text_column,
            transforms=self.transforms, filters=self.filters,
            shuffle_buffer=10_000 if training else 0, seed=seed,
            stats=self.stats if training else None, rerandomize=training,
        )
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=training).batch(2)
        masking = self.masking
        batches = tf.data.Dataset.zip(windows, seeds).map(
            lambda ids, mask_seed: masking(ids, mask_seed), num_parallel_calls=tf.data.AUTOTUNE
        )
        return batches.prefetch(tf.data.AUTOTUNE)
