"""`MaskedLanguagePretrainer`: a tower learns to restore hidden character spans."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from cclm import special_ids
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
    >>> candidates = pretrainer.fill_mask("The [MASK]ssert statement", top_k=3)
    >>> len(candidates), len(candidates[0][0])
    (3, 1)
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

    def fill_mask(self, text: str, top_k: int = 5, mask_token: str = "[MASK]") -> list[tuple[str, float]]:
        """The `top_k` most likely fillings of the hidden characters in `text`.

        Each `mask_token` hides one character: "pri[MASK][MASK]" asks for the
        two characters after "pri". Returns `(filling, probability)` pairs,
        most likely first; a filling has one character per `mask_token`
        (joint probability, treating positions as independent).
        """
        if not self.is_built:
            raise ValueError("The pretrainer is not built yet; fit it (or load a saved one) first.")
        parts = text.split(mask_token)
        if len(parts) == 1:
            raise ValueError(f"text has no {mask_token!r}; mark each hidden character with one.")
        prep = self.preprocessor
        offset = int(prep.add_cls)
        factor = prep.downsample_factor
        # Encode every part whole (no truncation), then join them around the masks.
        longest = max(len(prep.normalize(part)) for part in parts) + offset
        rows = prep.encode(parts, length=max(factor, -(-longest // factor) * factor))
        pieces: list[np.ndarray] = [rows[0, :offset]]
        for index, part in enumerate(parts):
            real = rows[index, offset:]
            pieces.append(real[: np.count_nonzero(real)])
            if index < len(parts) - 1:
                pieces.append(np.array([special_ids.MASK_ID], dtype=np.int32))
        ids = np.concatenate(pieces)
        length = -(-len(ids) // factor) * factor
        if prep.sequence_length is not None and length > prep.sequence_length:
            raise ValueError(
                f"text is {len(ids)} positions long; this pretrainer reads at most {prep.sequence_length}."
            )
        ids = np.pad(ids, (0, length - len(ids)))[None, :]
        logits = np.array(self.model(ids, training=False))[0]
        logits[:, : special_ids.FIRST_CHARACTER_ID] = -np.inf  # only characters are answers
        probabilities = np.exp(logits - logits.max(axis=-1, keepdims=True))
        probabilities /= probabilities.sum(axis=-1, keepdims=True)
        beams: list[tuple[str, float]] = [("", 1.0)]
        for position in np.flatnonzero(ids[0] == special_ids.MASK_ID):
            best = np.argsort(probabilities[position])[::-1][:top_k]
            choices = [(int(i), float(probabilities[position, i])) for i in best]
            expanded = [
                (prefix + prep.characters[i - special_ids.FIRST_CHARACTER_ID], p * q)
                for prefix, p in beams
                for i, q in choices
            ]
            beams = sorted(expanded, key=lambda beam: -beam[1])[:top_k]
        return beams
