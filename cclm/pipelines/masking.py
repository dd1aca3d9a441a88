"""`SpanMasking`: character-span masking for masked language modelling, in graph.

Runs on whole batches of ids inside `tf.data` (no Python per example), with
stateless random ops: the same ids and seed always give the same masks.

Example:
>>> import tensorflow as tf
>>> masking = SpanMasking(vocab_size=100, rate=0.5)
>>> ids = tf.constant([[5, 6, 7, 8, 9, 10, 0, 0]])
>>> inputs, targets, weights = masking(ids, seed=tf.constant([1, 2]))
>>> bool(tf.reduce_all(weights[:, 6:] == 0.0))  # padding is never a target
True
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

import cclm.preprocessing.special_ids as special_ids


def _check_options(vocab_size: int, rate: float, mask_fraction: float, random_fraction: float) -> None:
    if not 0 < rate < 1:
        raise ValueError(f"rate={rate!r}; use a share between 0 and 1, e.g. 0.15.")
    if mask_fraction < 0 or random_fraction < 0 or mask_fraction + random_fraction > 1:
        raise ValueError(
            f"mask_fraction={mask_fraction!r} and random_fraction={random_fraction!r} "
            "must be >= 0 and add up to at most 1."
        )
    if vocab_size <= special_ids.FIRST_CHARACTER_ID:
        raise ValueError(f"vocab_size={vocab_size!r} leaves no characters to mask; fit the preprocessor first.")


def _hide(
    ids: tf.Tensor, hidden: tf.Tensor, choice: tf.Tensor, seed: tf.Tensor,
    vocab_size: int, mask_fraction: float, random_fraction: float,
) -> tf.Tensor:
    """`ids` with the `hidden` positions shown as the mask id, a random character, or
    unchanged, as `choice` (uniform in [0, 1) per position) falls (BERT's 80/10/10)."""
    random_ids = tf.random.stateless_uniform(
        tf.shape(ids), seed, minval=special_ids.FIRST_CHARACTER_ID, maxval=vocab_size, dtype=tf.int32
    )
    shown = tf.where(choice < mask_fraction, special_ids.MASK_ID, ids)
    randomized = tf.logical_and(choice >= mask_fraction, choice < mask_fraction + random_fraction)
    shown = tf.where(randomized, random_ids, shown)
    return tf.where(hidden, shown, ids)


class SpanMasking:
    """Hides random spans of characters; the model predicts the originals.

    Each character starts a span with a probability chosen so that about
    `rate` of all characters end up inside a span; span lengths are uniform
    in [`min_span`, `max_span`]. Of the hidden positions, `mask_fraction` show
    the mask id, `random_fraction` a random character, and the rest stay as
    they were (BERT's 80/10/10). Only character ids are ever hidden: padding,
    unknown, cls and sep are never targets.

    Args:
        vocab_size: the preprocessor's `vocab_size` (random replacements are
            drawn from its characters).
        rate: the share of characters to hide.
        min_span: the shortest span.
        max_span: the longest span.
        mask_fraction: share of hidden positions that show the mask id.
        random_fraction: share that show a random character.

    Call returns `(inputs, targets, weights)`: `inputs` with the spans hidden,
    `targets` the original ids, and `weights` 1.0 where a loss applies.
    """

    def __init__(
        self,
        vocab_size: int,
        rate: float = 0.15,
        min_span: int = 1,
        max_span: int = 5,
        mask_fraction: float = 0.8,
        random_fraction: float = 0.1,
    ):
        _check_options(vocab_size, rate, mask_fraction, random_fraction)
        if not 1 <= min_span <= max_span:
            raise ValueError(f"min_span={min_span!r}, max_span={max_span!r}; need 1 <= min_span <= max_span.")
        self.vocab_size = vocab_size
        self.rate = rate
        self.min_span = min_span
        self.max_span = max_span
        self.mask_fraction = mask_fraction
        self.random_fraction = random_fraction
        # Coverage with independent starts is 1 - (1 - p) ** mean_span; solve for p.
        mean_span = (min_span + max_span) / 2
        self.start_probability = 1.0 - (1.0 - rate) ** (1.0 / mean_span)

    def hidden_positions(self, ids: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """Boolean (batch, length): which character positions are hidden."""
        shape = tf.shape(ids)
        starts = tf.random.stateless_uniform(shape, seed) < self.start_probability
        lengths = tf.random.stateless_uniform(
            shape, seed + 1, minval=self.min_span, maxval=self.max_span + 1, dtype=tf.int32
        )
        # A position is hidden if a span starting up to max_span - 1 steps
        # earlier is long enough to reach it: max_span shifted comparisons.
        hidden = tf.zeros_like(starts)
        for shift in range(self.max_span):
            reaches = tf.logical_and(starts, lengths > shift)
            shifted = tf.pad(reaches, [[0, 0], [shift, 0]])[:, : shape[1]]
            hidden = tf.logical_or(hidden, shifted)
        return tf.logical_and(hidden, ids >= special_ids.FIRST_CHARACTER_ID)

    def __call__(self, ids: tf.Tensor, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        ids = tf.convert_to_tensor(ids, tf.int32)
        seed = tf.cast(seed, tf.int64)
        hidden = self.hidden_positions(ids, seed)
        choice = tf.random.stateless_uniform(tf.shape(ids), seed + 2)
        inputs = _hide(ids, hidden, choice, seed + 3, self.vocab_size, self.mask_fraction, self.random_fraction)
        return inputs, ids, tf.cast(hidden, tf.float32)

    def get_config(self) -> dict[str, Any]:
        return {
            "vocab_size": self.vocab_size,
            "rate": self.rate,
            "min_span": self.min_span,
            "max_span": self.max_span,
            "mask_fraction": self.mask_fraction,
            "random_fraction": self.random_fraction,
        }


class WholeTokenMasking:
    """Hides whole subword tokens; the model predicts each token's subword id.

    A token (all the characters one subword covers, found through the
    preprocessor's tokenizer) is hidden with probability `rate`, all of its
    characters together, so no part of a hidden word gives the rest away.
    Of the hidden tokens, `mask_fraction` show the mask id on every
    character, `random_fraction` random characters, and the rest stay as
    they were. Characters no token covers (spaces, padding, cls) are never
    hidden.

    Every character of a hidden token has the token's subword id as its
    target, weighted 1 / (the token's characters in the window), so each
    hidden token counts once in the loss and the accuracy, whatever its length.

    Args:
        vocab_size: the preprocessor's `vocab_size` (random replacements are
            drawn from its characters).
        rate: the share of tokens to hide.
        mask_fraction: share of hidden tokens that show the mask id.
        random_fraction: share that show random characters.

    Call with `(ids, token_ids, token_index, seed)`, as made by
    `cclm.pipelines.windows.character_windows(..., subwords=True)`; returns
    `(inputs, targets, weights)`.

    Example:
    >>> import tensorflow as tf
    >>> masking = WholeTokenMasking(vocab_size=100, rate=0.5, mask_fraction=1.0, random_fraction=0.0)
    >>> ids = tf.constant([[5, 6, 7, 8, 9, 0]])
    >>> token_ids = tf.constant([[40, 40, -1, 41, 41, -1]])
    >>> token_index = tf.constant([[0, 0, -1, 1, 1, -1]])
    >>> inputs, targets, weights = masking(ids, token_ids, token_index, seed=tf.constant([0, 0]))
    >>> inputs.numpy().tolist(), weights.numpy().tolist()
    ([[2, 2, 7, 8, 9, 0]], [[0.5, 0.5, 0.0, 0.0, 0.0, 0.0]])
    """

    def __init__(
        self,
        vocab_size: int,
        rate: float = 0.15,
        mask_fraction: float = 0.8,
        random_fraction: float = 0.1,
    ):
        _check_options(vocab_size, rate, mask_fraction, random_fraction)
        self.vocab_size = vocab_size
        self.rate = rate
        self.mask_fraction = mask_fraction
        self.random_fraction = random_fraction

    def __call__(
        self, ids: tf.Tensor, token_ids: tf.Tensor, token_index: tf.Tensor, seed: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        ids = tf.convert_to_tensor(ids, tf.int32)
        token_index = tf.cast(token_index, tf.int64)
        seed = tf.cast(seed, tf.int64)
        covered = token_index >= 0
        # One key per (row, token): every character of a token shares it.
        rows = tf.range(tf.shape(ids, out_type=tf.int64)[0])[:, None]
        keys = rows * (tf.reduce_max(token_index) + 2) + token_index + 1
        unique_keys, token_of = tf.unique(tf.reshape(keys, [-1]))
        num_tokens = tf.shape(unique_keys)[0]
        token_of = tf.reshape(token_of, tf.shape(ids))
        hidden = tf.logical_and(
            tf.gather(tf.random.stateless_uniform([num_tokens], seed) < self.rate, token_of), covered
        )
        # One draw per token: a hidden token shows the mask, random characters or itself throughout.
        choice = tf.gather(tf.random.stateless_uniform([num_tokens], seed + 1), token_of)
        inputs = _hide(ids, hidden, choice, seed + 2, self.vocab_size, self.mask_fraction, self.random_fraction)
        hidden = tf.cast(hidden, tf.float32)
        characters = tf.gather(tf.math.unsorted_segment_sum(tf.reshape(hidden, [-1]), tf.reshape(token_of, [-1]), num_tokens), token_of)
        weights = tf.math.divide_no_nan(hidden, characters)
        targets = tf.maximum(tf.cast(token_ids, tf.int32), 0)
        return inputs, targets, weights

    def get_config(self) -> dict[str, Any]:
        return {
            "vocab_size": self.vocab_size,
            "rate": self.rate,
            "mask_fraction": self.mask_fraction,
            "random_fraction": self.random_fraction,
        }
