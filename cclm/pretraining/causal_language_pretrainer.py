"""`CausalLanguagePretrainer`: a tower learns to predict the next character, and generates text."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from cclm.components import register_component
from cclm.data.texts import TextData, check_batch
from cclm.models.embedder import Embedder
from cclm.pipelines.sharding import Shard
from cclm.preprocessing import special_ids
from cclm.pretraining.generation import generate_ids
from cclm.pretraining.masked_language_pretrainer import character_head
from cclm.pretraining.pretrainer import DEFAULT_EMBEDDER_OPTIONS, Pretrainer

# Ids a model never generates; the separator is the end of a text, so it stays.
_NEVER_GENERATED = [special_ids.PAD_ID, special_ids.UNKNOWN_ID, special_ids.MASK_ID, special_ids.CLS_ID]


@register_component("causal_language_pretrainer")
class CausalLanguagePretrainer(Pretrainer):
    """Next-character prediction on a causal embedder and tower; `generate` writes text.

    Training packs documents end to end into windows, each followed by the
    separator id (`special_ids.SEP_ID`), which so becomes the end-of-text id
    the model learns to predict. The input is the window shifted right by one
    behind a separator, so position t predicts character t from characters
    before it. Everything is causal (`Embedder(causal=True)`,
    `Tower(causal=True)`): no vector at a position depends on a later
    character, so `model`'s vectors compose as features like any tower's, and
    also serve a left-to-right reader.

    Args:
        pack: fill windows with several documents (`cclm.pipelines.windows.pack_windows`);
            False gives each document its own window.
        **kwargs: the common `Pretrainer` arguments; a given `embedder` or
            `tower` must be causal (built with `causal=True`).

    Example:
    >>> from cclm.data.sample_text import python_docs_paragraphs
    >>> pretrainer = CausalLanguagePretrainer(
    ...     tower_options={"hidden_dim": 32, "num_layers": 1, "num_heads": 2}, seed=0)
    >>> history = pretrainer.fit(python_docs_paragraphs()[:32], epochs=1, batch_size=8, verbose=0)
    >>> text = pretrainer.generate("The ", max_new_chars=10)
    >>> text.startswith("The "), len(text) <= 14
    (True, True)
    >>> pretrainer.generate(["a", "b"], max_new_chars=3, do_sample=True, seed=1) == \\
    ...     pretrainer.generate(["a", "b"], max_new_chars=3, do_sample=True, seed=1)
    True
    """

    def __init__(self, pack: bool = True, **kwargs: Any):
        embedder, tower = kwargs.get("embedder"), kwargs.get("tower")
        for part, label in ((embedder, "embedder"), (tower, "tower")):
            if part is not None and not getattr(part, "causal", False):
                raise ValueError(
                    f"The {label} {part.name!r} is not causal: its vectors see later characters, which a "
                    f"next-character model must not. Build it with causal=True, or leave {label} out."
                )
        options = dict(kwargs.pop("tower_options", None) or {})
        if options.get("causal", True) is not True:
            raise ValueError("tower_options causal=False: a next-character model needs a causal tower; drop it.")
        kwargs["tower_options"] = {**options, "causal": True}
        self.pack = pack
        self._next_logits: Any = None
        super().__init__(**kwargs)

    def task_config(self) -> dict[str, Any]:
        return {"pack": self.pack}

    def _build(self) -> None:
        if self.embedder is None:
            prep = self.preprocessor
            self.embedder = Embedder(
                vocab_size=prep.vocab_size, max_length=max(2048, prep.sequence_length or 0),
                causal=True, **DEFAULT_EMBEDDER_OPTIONS,
            )
        super()._build()

    def _build_head(self) -> keras.Model:
        vocab_size = self.preprocessor.vocab_size
        return character_head(self.tower.output_dim, vocab_size, f"{self.name}_head", "next_character_logits")

    def _loss_and_metrics(self) -> tuple[keras.losses.Loss, list]:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight")
        return loss, [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def _dataset(self, data: TextData, batch_size: int, training: bool, shard: Shard | None = None) -> tf.data.Dataset:
        windows = self._windows(data, batch_size, training, shard, pack=self.pack)

        def shift(batch: dict[str, Any]) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
            targets = batch["ids"]
            starts = tf.fill([tf.shape(targets)[0], 1], tf.constant(special_ids.SEP_ID, targets.dtype))
            inputs = tf.concat([starts, targets[:, :-1]], axis=1)
            # Keep the input's padding where the target is padding, so the mask covers both.
            inputs = tf.where(targets == special_ids.PAD_ID, tf.zeros_like(inputs), inputs)
            return inputs, targets, tf.cast(targets != special_ids.PAD_ID, tf.float32)

        return windows.map(shift, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    # ------------------------------------------------------------ reading
    @property
    def context_length(self) -> int:
        """The most ids the model reads at once: generation recomputes over the last this many."""
        return int(self.preprocessor.sequence_length or self.embedder.max_length)

    def prompt_ids(self, text: str) -> list[int]:
        """The separator, then `text`'s ids (unknown characters as the unknown id)."""
        normalized = self.preprocessor.normalize(text)
        if not normalized:
            return [special_ids.SEP_ID]
        ids = self.preprocessor.encode([normalized], length=self._padded(len(normalized)))[0]
        return [special_ids.SEP_ID, *ids[: len(normalized)].tolist()]

    def _padded(self, length: int) -> int:
        factor = self.preprocessor.downsample_factor
        return max(factor, -(-length // factor) * factor)

    def _logits_at(self, rows: list[list[int]], positions: list[int]) -> np.ndarray:
        """The head's logits at `positions` of `rows` (each at most `context_length` ids)."""
        if not self.is_built:
            raise ValueError("The pretrainer is not built yet; fit it (or load a saved one) first.")
        if self._next_logits is None:
            spec = [tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None,), tf.int32)]
            self._next_logits = tf.function(
                lambda ids, at: tf.gather(self.training_model(ids, training=False), at, batch_dims=1),
                input_signature=spec, reduce_retracing=True,
            )
        ids = np.zeros((len(rows), self._padded(max(map(len, rows)))), np.int32)
        for index, row in enumerate(rows):
            ids[index, : len(row)] = row
        return np.asarray(self._next_logits(ids, np.asarray(positions, np.int32)), np.float64)

    def next_log_probs(self, contexts: list[list[int]]) -> np.ndarray:
        """Log-probabilities (len(contexts), vocab_size) of the id after each context, reserved ids other than
        the separator excluded; only the last `context_length` ids are read, so each costs the same."""
        window = self.context_length
        rows = [list(context[-window:]) for context in contexts]
        logits = self._logits_at(rows, [len(row) - 1 for row in rows])
        logits[:, _NEVER_GENERATED] = -np.inf
        top = logits.max(axis=-1, keepdims=True)
        return logits - top - np.log(np.exp(logits - top).sum(axis=-1, keepdims=True))

    def generate(
        self, prompts: str | Sequence[str], max_new_chars: int = 64, do_sample: bool = False,
        temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, num_beams: int = 1,
        seed: int | None = None, stop_at_end: bool = True, length_penalty: float = 1.0,
        return_full_text: bool = True,
    ) -> str | list[str]:
        """Continues each prompt by up to `max_new_chars` characters; a `str` gives a `str`, a list a list.

        The arguments mean what they mean in Hugging Face's `generate`:
        greedy by default; `do_sample` draws with `temperature`, `top_k` (0:
        off) and `top_p` (1.0: off); `num_beams > 1` is beam search (never
        scoring below greedy; see `cclm.pretraining.generation`); `seed`
        makes a draw repeatable. Generation stops at the end-of-text id
        unless `stop_at_end` is False. `return_full_text=False` gives only
        the new characters. Each new character costs one pass over at most
        `context_length` ids, however long the prompt.
        """
        return self._decoded(prompts, return_full_text, lambda streams: generate_ids(
            self.next_log_probs, streams, max_new_chars, special_ids.SEP_ID if stop_at_end else None,
            do_sample, temperature, top_k, top_p, num_beams, seed, length_penalty,
        ))

    def _decoded(self, prompts: str | Sequence[str], full: bool, run: Any) -> str | list[str]:
        single = isinstance(prompts, str)
        texts = [prompts] if single else list(prompts)
        bad = [i for i, text in enumerate(texts) if not isinstance(text, str)]
        if bad:
            raise TypeError(f"prompts[{bad[0]}] is a {type(texts[bad[0]]).__name__}; give a str or a list of str.")
        continuations = run([self.prompt_ids(text) for text in texts])
        outputs = [
            (text if full else "") + self.preprocessor.decode([i for i in c.ids if i != special_ids.SEP_ID])
            for text, c in zip(texts, continuations)
        ]
        return outputs[0] if single else outputs

    def bits_per_character(self, texts: Sequence[str], batch_size: int = 32) -> float:
        """The model's cross-entropy on `texts` in bits per predicted id: each text's characters, then its end.

        Texts are read as one stream, each after a separator, in windows of
        `context_length` that overlap by half, so every id but the first few
        is predicted with at least half a window of context. An unknown
        character is predicted as the unknown id.
        """
        texts = check_batch(texts)  # a bare str is refused: it would be read as one text per character
        if not texts:
            raise ValueError("texts is empty; give at least one text to score.")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r}; give the windows run at once as an int >= 1 (e.g. 32).")
        stream = [i for text in texts for i in self.prompt_ids(text)] + [special_ids.SEP_ID]
        window = self.context_length
        stride = max(window // 2, 1)
        rows, positions, targets = [], [], []
        scored = 0  # ids of the stream predicted so far (the first, a separator, is never predicted)
        for start in range(0, max(len(stream) - 1, 1), stride):
            row = stream[start: start + window + 1]
            first = scored - start  # the first position of this window not predicted yet
            rows.append(row[:-1])
            positions.append(list(range(max(first, 0), len(row) - 1)))
            targets.append(row[max(first, 0) + 1:])
            scored = start + len(row) - 1
            if start + window + 1 >= len(stream):
                break
        total, count = 0.0, 0
        for begin in range(0, len(rows), batch_size):
            chunk = range(begin, min(begin + batch_size, len(rows)))
            flat_targets = np.array([t for i in chunk for t in targets[i]])
            logits = self._window_logits([rows[i] for i in chunk], [positions[i] for i in chunk])
            log_probs = logits - _logsumexp(logits)
            total -= float(log_probs[np.arange(len(flat_targets)), flat_targets].sum())
            count += len(flat_targets)
        return total / max(count, 1) / math.log(2)

    def _window_logits(self, rows: list[list[int]], positions: list[list[int]]) -> np.ndarray:
        """Logits at every listed position of every row, concatenated in order."""
        ids = np.zeros((len(rows), self._padded(max(map(len, rows)))), np.int32)
        for index, row in enumerate(rows):
            ids[index, : len(row)] = row
        logits = np.asarray(self.training_model(ids, training=False), np.float64)
        return np.concatenate([logits[index, at] for index, at in enumerate(positions)])


def _logsumexp(logits: np.ndarray) -> np.ndarray:
    top = logits.max(axis=-1, keepdims=True)
    return top + np.log(np.exp(logits - top).sum(axis=-1, keepdims=True))
