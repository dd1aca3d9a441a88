"""`MaskedLanguagePretrainer`: a tower learns to restore hidden character spans."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

import cclm.preprocessing.special_ids as special_ids
from cclm.pipelines.augmentation import Augmentor, length_keeping_noise
from cclm.components import register_component
from cclm.pipelines.masking import SpanMasking, WholeTokenMasking
from cclm.pipelines.sharding import Shard, shard_seed
from cclm.pipelines.windows import corrupt_windows
from cclm.preprocessing.preprocessor import Preprocessor
from cclm.preprocessing.preprocessor import DEFAULT_DOWNSAMPLE_FACTOR, DEFAULT_SEQUENCE_LENGTH
from cclm.pretraining.pretrainer import Pretrainer
from cclm.pretraining.subword_head import SampledSoftmaxLoss, SubwordAccuracy, SubwordHead
from cclm.data.texts import TextData

TARGETS = ("characters", "subwords")


@register_component("masked_language_pretrainer")
class MaskedLanguagePretrainer(Pretrainer):
    """Masked language modelling over characters, or over whole subwords.

    With `target="characters"` (the default), random character spans are
    hidden (`SpanMasking`: about `mask_rate` of the characters, spans of
    `min_span` to `max_span`, 80/10/10 mask / random / keep) and the head
    predicts the original characters.

    With `target="subwords"` (the original cclm objective), whole subword
    tokens of the preprocessor's tokenizer are hidden (`WholeTokenMasking`:
    about `mask_rate` of the tokens) and the head predicts, at every hidden
    character, the id of the subword it belongs to. The loss is a sampled
    softmax over `num_sampled` subwords (`SampledSoftmaxLoss`), so a large
    subword vocabulary stays affordable; accuracy is exact, each hidden token
    counting once. The preprocessor needs `subword_model="bpe"` (the default
    one gets it) or `"wordpiece"`.

    Either way, loss and accuracy count hidden positions only; padding never counts.

    With `denoising`, an `Augmentor` that keeps lengths (e.g.
    `Augmentor.typos(0.1, keep_length=True)`), the objective is also
    denoising, as in BART or CharBERT: its typos corrupt the input
    characters of every batch, the targets stay the clean characters, and
    every corrupted character counts in the loss and accuracy as a hidden
    one does. The tower learns to read through typos, so its vectors move
    less when text is noisy.
    The `Augmentor`s among `transforms` are different: they change the text
    itself, targets included.

    Args:
        target: `"characters"` or `"subwords"`.
        mask_rate, min_span, max_span, mask_fraction, random_fraction: as in
            `cclm.pipelines.masking.SpanMasking` (spans are whole tokens for subwords).
        num_sampled: subwords sampled per batch by the sampled softmax.
        denoising: an `Augmentor` that keeps lengths, whose noise the tower
            learns to undo (characters only); None for plain masking.
        pack: fill each window with as many documents as fit, a separator
            after each (`cclm.pipelines.windows.pack_windows`), so short
            documents leave no padding (characters only; subword targets
            keep one document per window).
        **kwargs: the common `Pretrainer` arguments (embedder, preprocessor,
            train_embedder, tower_options, optimizer, batch_size, ...).

    Example:
    >>> from cclm.data.sample_text import python_docs_paragraphs
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
        target: str = "characters",
        mask_rate: float = 0.15,
        min_span: int = 1,
        max_span: int = 5,
        mask_fraction: float = 0.8,
        random_fraction: float = 0.1,
        num_sampled: int = 256,
        denoising: Augmentor | dict[str, Any] | None = None,
        pack: bool = True,
        **kwargs: Any,
    ):
        if target not in TARGETS:
            raise ValueError(f"target={target!r}; use one of {TARGETS}.")
        denoising = length_keeping_noise(
            denoising, "denoising", "the targets are the clean characters at the same positions"
        )
        if denoising is not None:
            if target != "characters":
                raise ValueError("denoising works with target='characters' only; subword targets cannot be denoised.")
        self.denoising = denoising
        if target == "subwords":
            preprocessor = kwargs.get("preprocessor")
            if preprocessor is None:
                kwargs["preprocessor"] = Preprocessor(
                    sequence_length=DEFAULT_SEQUENCE_LENGTH, downsample_factor=DEFAULT_DOWNSAMPLE_FACTOR,
                    subword_model="bpe",
                )
            elif preprocessor.subword_model is None and preprocessor.subword_tokenizer is None:
                raise ValueError(
                    "target='subwords' needs a preprocessor with a subword tokenizer; create it "
                    "with Preprocessor(subword_model='bpe', ...) (or 'wordpiece')."
                )
        self.target = target
        self.pack = pack and target == "characters"
        self.num_sampled = num_sampled
        self.mask_rate = mask_rate
        self.min_span = min_span
        self.max_span = max_span
        self.mask_fraction = mask_fraction
        self.random_fraction = random_fraction
        super().__init__(**kwargs)

    def task_config(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "num_sampled": self.num_sampled,
            "mask_rate": self.mask_rate,
            "min_span": self.min_span,
            "max_span": self.max_span,
            "mask_fraction": self.mask_fraction,
            "random_fraction": self.random_fraction,
            "denoising": self.denoising.get_config() if self.denoising is not None else None,
            "pack": self.pack,
        }

    @property
    def masking(self) -> SpanMasking | WholeTokenMasking:
        """The masking applied to every training batch."""
        if self.target == "subwords":
            return WholeTokenMasking(
                self.preprocessor.vocab_size, self.mask_rate, self.mask_fraction, self.random_fraction
            )
        return SpanMasking(
            self.preprocessor.vocab_size, self.mask_rate, self.min_span, self.max_span,
            self.mask_fraction, self.random_fraction,
        )

    def _build_head(self) -> keras.Model:
        if self.target == "subwords":
            tokenizer = self.preprocessor.subword_tokenizer
            if tokenizer is None:
                raise ValueError(
                    "target='subwords' needs the preprocessor's subword tokenizer, but it has none; "
                    "fit a preprocessor created with subword_model='bpe' (or 'wordpiece')."
                )
            return SubwordHead(self.tower.output_dim, tokenizer.vocab_size, name=f"{self.name}_head")
        return character_head(self.tower.output_dim, self.preprocessor.vocab_size, f"{self.name}_head")

    def _loss_and_metrics(self) -> tuple[keras.losses.Loss, list]:
        if self.target == "subwords":
            return SampledSoftmaxLoss(self.head, self.num_sampled), [SubwordAccuracy(self.head)]
        loss = keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"
        )
        return loss, [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def _jit_compile(self) -> bool | str:
        if self.target != "subwords":
            return self.jit_compile
        if self.jit_compile is True:
            raise ValueError(
                "XLA has no kernel for the sampled softmax of target='subwords'; use jit_compile='auto' "
                "or False with it, or target='characters' with XLA."
            )
        return False

    def _dataset(self, data: TextData, batch_size: int, training: bool, shard: Shard | None = None) -> tf.data.Dataset:
        subwords = self.target == "subwords"
        windows = self._windows(data, batch_size, training, shard, subwords=subwords, pack=self.pack)
        if self.denoising is not None:
            windows = corrupt_windows(windows, self.preprocessor.as_layer(), self.denoising)
        seed = self.seed if training else 0
        seeds = tf.data.Dataset.random(seed=shard_seed(seed, shard), rerandomize_each_iteration=training).batch(2)
        masking = self.masking

        def mask(batch: dict[str, Any], mask_seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
            if self.denoising is not None:
                corrupted, clean = batch["corrupted_ids"], batch["ids"]
                inputs, _, hidden = masking(corrupted, mask_seed)
                # Targets are the clean characters; corrupted ones count as hidden ones do.
                return inputs, clean, tf.maximum(hidden, tf.cast(corrupted != clean, tf.float32))
            if subwords:
                return masking(batch["ids"], batch["token_ids"], batch["token_index"], mask_seed)
            return masking(batch["ids"], mask_seed)

        batches = tf.data.Dataset.zip(windows, seeds).map(mask, num_parallel_calls=tf.data.AUTOTUNE)
        return batches.prefetch(tf.data.AUTOTUNE)

    def fill_mask(self, text: str, top_k: int = 5, mask_token: str = "[MASK]") -> list[tuple[str, float]]:
        """The `top_k` most likely fillings of the hidden characters in `text`.

        Each `mask_token` hides one character: "pri[MASK][MASK]" asks for the
        two characters after "pri". Returns `(filling, probability)` pairs,
        most likely first.

        With `target="characters"`, a filling has one character per
        `mask_token` (joint probability, treating positions as independent).
        With `target="subwords"`, the hidden characters are taken as one
        subword and a filling is a subword of the tokenizer's vocabulary (its
        probability averaged over the hidden characters); hide as many
        characters as the word you have in mind has.
        """
        ids = self._ids_with_masks(text, mask_token)
        positions = np.flatnonzero(ids[0] == special_ids.MASK_ID)
        outputs = self.training_model(ids, training=False)
        if self.target == "subwords":
            logits = np.array(self.head.logits(tf.gather(outputs[0], positions)), dtype=np.float64)
            probabilities = _softmax(logits).mean(axis=0)
            best = np.argsort(probabilities)[::-1][:top_k]
            tokenizer = self.preprocessor.subword_tokenizer.tokenizer
            return [(tokenizer.id_to_token(int(i)), float(probabilities[i])) for i in best]
        logits = np.array(outputs, dtype=np.float64)[0]
        logits[:, : special_ids.FIRST_CHARACTER_ID] = -np.inf  # only characters are answers
        probabilities = _softmax(logits)
        prep = self.preprocessor
        beams: list[tuple[str, float]] = [("", 1.0)]
        for position in positions:
            best = np.argsort(probabilities[position])[::-1][:top_k]
            choices = [(int(i), float(probabilities[position, i])) for i in best]
            expanded = [
                (prefix + prep.characters[i - special_ids.FIRST_CHARACTER_ID], p * q)
                for prefix, p in beams
                for i, q in choices
            ]
            beams = sorted(expanded, key=lambda beam: -beam[1])[:top_k]
        return beams

    def _ids_with_masks(self, text: str, mask_token: str) -> np.ndarray:
        """(1, length) ids of `text` with the mask id for each `mask_token`."""
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
        return np.pad(ids, (0, length - len(ids)))[None, :]


def character_head(width: int, vocab_size: int, name: str, logits_name: str = "character_logits") -> keras.Model:
    """Tower vectors (batch, length, width) -> logits over every id: Dense + GELU, LayerNorm, Dense."""
    features = keras.Input(shape=(None, width), name="features")
    hidden = keras.layers.Dense(width, activation="gelu", name="transform")(features)
    hidden = keras.layers.LayerNormalization(epsilon=1e-6, name="norm")(hidden)
    logits = keras.layers.Dense(vocab_size, name=logits_name)(hidden)
    return keras.Model(features, logits, name=name)


def _softmax(logits: np.ndarray) -> np.ndarray:
    exponentials = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exponentials / exponentials.sum(axis=-1, keepdims=True)
