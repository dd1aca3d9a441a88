"""`fit_ridge`: a linear classifier on fixed features, in closed form, its strength chosen by leave-one-out.

The few-shot head of a frozen composition. Features are computed once per
text; the classifier is ridge regression on one-hot targets over
standardized features, solved through one SVD for every strength at once.
Leave-one-out predictions have a closed form for ridge (the hat matrix), so
choosing the strength by leave-one-out accuracy is exact cross-validation at
the cost of a single fit. `fit_ridge` takes the strongest penalty whose
accuracy is within one standard error of the best (the one-standard-error
rule, the text-by-text error of the difference, as
`cclm.classification.weight_choice` does for a tower's weight): a few dozen
labels per class cannot tell nearby strengths apart, and the smoother fit
holds up better on new and misspelt text. A softmax temperature for the
scores is chosen the same way (best leave-one-out log-likelihood), so probabilities are
calibrated on held-out predictions rather than on the texts they fit.
Given the features' blocks (each tower's), it weighs them apart as the
n-gram head does (`choose_feature_blocks`): a tower that adds nothing to the
best one gets weight 0, and the classifier then does not compute it.

Nothing here trains by gradient, so there is no learning rate, no number of
steps and no batch statistic that could differ between training and use.

Example:
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> features = np.concatenate([rng.normal(0, 1, (20, 5)), rng.normal(2, 1, (20, 5))])
>>> labels = np.array([0] * 20 + [1] * 20)
>>> head = fit_ridge(features, labels, num_labels=2)
>>> logits = features @ head.kernel + head.bias
>>> float((logits.argmax(axis=1) == labels).mean()) > 0.9, head.loo_accuracy > 0.9
(True, True)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cclm.classification.weight_choice import (
    BLOCK_WEIGHTS,
    choose_block_weights,
    simplest_within_one_error,
)

STRENGTHS = np.logspace(-4, 2, 13)  # relative to the mean squared singular value
TEMPERATURES = np.array([1, 2, 3, 5, 8, 12, 20, 30, 50, 80, 120], "float64")


@dataclass
class RidgeFit:
    """The fitted head: logits = features @ kernel + bias (standardization folded in)."""

    kernel: np.ndarray  # (dim, labels), float32
    bias: np.ndarray  # (labels,), float32
    strength: float  # the chosen ridge penalty, relative to the mean squared singular value
    loo_accuracy: float  # leave-one-out accuracy at that strength
    temperature: float  # the softmax scale folded into kernel and bias
    block_weights: tuple[float, ...] | None = None  # each block's weight, where the features came in blocks


def _log_likelihood(scores: np.ndarray, labels: np.ndarray, shares: np.ndarray | None = None) -> float:
    """The mean (or, with `shares` summing to 1, the weighted mean) log-likelihood of `labels`."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    picked = log_probabilities[np.arange(len(labels)), labels]
    return float(picked.mean() if shares is None else shares @ picked)


def text_shares(sample_weights: np.ndarray | None, texts: int) -> tuple[np.ndarray, np.ndarray]:
    """Each text's share of the loss (summing to 1) and the square roots of its weight relative to the mean.

    Weighted ridge is ridge on rows scaled by those roots, after centering by
    the shares: the functions here take both, and all ones are plain ridge.
    """
    weights = np.ones(texts) if sample_weights is None else np.asarray(sample_weights, "float64")
    if weights.shape != (texts,) or not np.all(np.isfinite(weights) & (weights > 0)):
        raise ValueError(f"sample weights of shape {weights.shape}; give one positive weight per text ({texts}).")
    return weights / weights.sum(), np.sqrt(weights / weights.mean())


def choose_strength(
    basis: np.ndarray, spectrum: np.ndarray, reference: float, targets: np.ndarray, labels: np.ndarray,
    strengths: Sequence[float], sample_weights: np.ndarray | None = None, within_one_error: bool = False,
) -> tuple[tuple[float, float], float, np.ndarray]:
    """The strength with the best leave-one-out (accuracy, -squared error), and its leave-one-out scores.

    With `within_one_error`, the strongest of `strengths` whose accuracy is
    within one standard error of the best's (the error of their text-by-text
    difference: `simplest_within_one_error`).

    `basis` (texts, rank) and `spectrum` (rank,) diagonalize the centered
    Gram matrix of the features (left singular vectors and squared singular
    values, or eigenvectors and eigenvalues); a strength is a penalty
    relative to `reference`. Leave-one-out scores come from the hat matrix.
    With `sample_weights`, the features must have been centered by the
    texts' shares and scaled by their roots (`text_shares`), and accuracy
    and error are weighted means.
    """
    shares, roots = text_shares(sample_weights, len(labels))
    target_mean = shares @ targets
    projected = basis.T @ (roots[:, None] * (targets - target_mean))
    tried = []  # ((score, strength, leave-one-out scores), each text's leave-one-out hit) per strength
    for strength in strengths:
        shrink = spectrum / (spectrum + strength * reference)
        fitted = (basis @ (shrink[:, None] * projected)) / roots[:, None] + target_mean
        leverage = np.minimum((basis**2) @ shrink + shares, 1 - 1e-6)  # the hat matrix's diagonal
        loo = targets - (targets - fitted) / (1 - leverage)[:, None]  # each text's prediction without it
        correct, errors = loo.argmax(axis=1) == labels, ((targets - loo) ** 2).mean(axis=1)
        if sample_weights is None:  # plain means: exact fractions of the texts
            score = (float(correct.mean()), -float(errors.mean()))
        else:
            score = (float(shares @ correct), -float(shares @ errors))
        tried.append(((score, strength, loo), correct))
    if not within_one_error:
        return max(tried, key=lambda found: found[0][0])[0]  # the first of equals, as `strengths` are ordered
    tried.sort(key=lambda found: -found[0][1])  # the strongest penalty first: the simplest fit
    simplest = simplest_within_one_error([found[0][0] for found, _ in tried], shares, [hits for _, hits in tried])
    return tried[simplest][0]


def fit_ridge(
    features: np.ndarray, labels: np.ndarray, num_labels: int,
    strengths: Sequence[float] = STRENGTHS, temperatures: Sequence[float] = TEMPERATURES,
    sample_weights: np.ndarray | None = None, blocks: Sequence[int] | None = None,
    light_blocks: Sequence[bool] | None = None, block_weights: Sequence[float] | None = None,
    subset: int = 2000, seed: int = 0,
) -> RidgeFit:
    """Ridge classification of `labels` (ints in [0, num_labels)) from `features` (texts, dim).

    Args:
        features: one row per text.
        labels: each text's label index.
        num_labels: the number of labels (some may have no text).
        strengths: the ridge penalties tried, relative to the mean squared
            singular value of the standardized features; the strongest whose
            leave-one-out accuracy is within one standard error of the best is taken.
        temperatures: the softmax scales tried.
        sample_weights: each text's weight in the squared error (and in the
            leave-one-out scores that choose strength and temperature); None: equal.
        blocks: the widths of the features' blocks (e.g. each tower's),
            weighed apart: each block scaled to one mean squared norm, then
            weighted by one of `BLOCK_WEIGHTS` chosen by leave-one-out
            (`choose_feature_blocks`). None or one block: every standardized
            column alike.
        light_blocks: for each block, whether it costs about what the
            cheapest features do (see `fit_wide_ridge`); None: none light.
        block_weights: each block's weight, instead of choosing them.
        subset, seed: the block weights are chosen on at most `subset`
            texts, drawn at random with `seed`.

    Raises:
        ValueError: with fewer than two texts, rows, labels and weights that
            differ in number, or blocks that do not add up to the features.
    """
    features = np.asarray(features, "float64")
    labels = np.asarray(labels, "int64")
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(f"features of shape {features.shape} and {len(labels)} labels; give one row per label.")
    if len(labels) < 2:
        raise ValueError(f"{len(labels)} labelled text(s); the head needs at least two.")
    shares, roots = text_shares(sample_weights, len(labels))
    mean = shares @ features
    scale = features.std(axis=0)
    scale[scale < 1e-8] = 1.0
    columns, weighted = np.ones(features.shape[1]), None
    if blocks is not None and (len(blocks) > 1 or block_weights is not None):
        if block_weights is None:
            block_weights = choose_feature_blocks((features - mean) / scale, labels, num_labels, blocks, strengths,
                                                  sample_weights, light_blocks, subset, seed)
        columns = block_columns(blocks, block_weights, features.shape[1])
        weighted = tuple(float(w) for w in block_weights)
    used = columns > 0  # a block of weight 0 is left out, not kept as columns of zeros
    standardized = roots[:, None] * (features[:, used] - mean[used]) / scale[used] * columns[used]
    targets = np.eye(num_labels)[labels]
    target_mean = shares @ targets
    u, s, vt = np.linalg.svd(standardized, full_matrices=False)
    reference = float(np.mean(s**2)) or 1.0
    (accuracy, _), strength, loo = choose_strength(u, s**2, reference, targets, labels, strengths, sample_weights,
                                                   within_one_error=True)
    projected = u.T @ (roots[:, None] * (targets - target_mean))  # (rank, labels)
    weighed = None if sample_weights is None else shares
    temperature = max(temperatures, key=lambda t: _log_likelihood(t * loo, labels, weighed))
    weights = np.zeros((features.shape[1], num_labels))
    weights[used] = columns[used, None] * (vt.T @ ((s / (s**2 + strength * reference))[:, None] * projected))
    kernel = temperature * weights / scale[:, None]  # standardized, weighted features -> scores, folded
    bias = temperature * (target_mean - (mean / scale) @ weights)
    return RidgeFit(kernel.astype("float32"), bias.astype("float32"), float(strength), accuracy, float(temperature),
                    weighted)


def block_columns(blocks: Sequence[int], block_weights: Sequence[float], width: int) -> np.ndarray:
    """Each standardized column's factor: its block scaled to one mean squared norm, times the root of its weight."""
    blocks = [int(b) for b in blocks]
    if sum(blocks) != width or min(blocks, default=0) < 1:
        raise ValueError(f"blocks {blocks} for {width} feature columns; give each block's width, adding up to the "
                         "features' (e.g. each tower's output_dim).")
    if len(block_weights) != len(blocks) or min(block_weights) < 0 or max(block_weights) <= 0:
        raise ValueError(f"block weights {list(block_weights)} for {len(blocks)} blocks; give one weight of 0 or "
                         "more per block, one of them above 0.")
    return np.repeat(np.sqrt(np.asarray(block_weights, "float64") / blocks), blocks)


def choose_feature_blocks(
    standardized: np.ndarray, labels: np.ndarray, num_labels: int, blocks: Sequence[int],
    strengths: Sequence[float] = STRENGTHS, sample_weights: np.ndarray | None = None,
    light_blocks: Sequence[bool] | None = None, subset: int = 2000, seed: int = 0,
) -> tuple[float, ...]:
    """Each block's weight for `fit_ridge`: one block at 1, the others weighed against it by leave-one-out.

    The block held at 1 is the one with the best leave-one-out accuracy
    alone, or the best light block where it is within the error of two
    separate accuracies of that (the cheaper features, for the same
    accuracy). Each other block's weight is then the smallest of
    `BLOCK_WEIGHTS` within one standard error of the best, each weighing
    scored at its best strength (`choose_block_weights`), as the n-gram head
    weighs towers against its n-grams: a block that adds nothing is left
    out, and with it its cost.
    """
    if light_blocks is not None and len(light_blocks) != len(blocks):
        raise ValueError(f"light_blocks {list(light_blocks)} for {len(blocks)} blocks; give one flag per block.")
    texts = len(labels)
    chosen = np.arange(texts) if texts <= subset else np.sort(np.random.default_rng(seed).permutation(texts)[:subset])
    weights = None if sample_weights is None else np.asarray(sample_weights, "float64")[chosen]
    shares, roots = text_shares(weights, len(chosen))
    rows = roots[:, None] * (standardized[chosen] - shares @ standardized[chosen])
    targets = np.eye(num_labels)[labels[chosen]]

    @functools.cache
    def solved(block_weights: tuple[float, ...]) -> tuple[tuple, None]:
        columns = block_columns(blocks, block_weights, standardized.shape[1])
        used = columns > 0
        u, s, _ = np.linalg.svd(rows[:, used] * columns[used], full_matrices=False)
        found = choose_strength(u, s**2, float(np.mean(s**2)) or 1.0, targets, labels[chosen], strengths, weights)
        return (*found, found[2].argmax(axis=1) == labels[chosen]), None

    def alone(block: int) -> tuple[float, ...]:
        return tuple(float(b == block) for b in range(len(blocks)))

    accuracy = [solved(alone(b))[0][0][0] for b in range(len(blocks))]
    anchor = int(np.argmax(accuracy))
    light = [b for b in range(len(blocks)) if light_blocks is not None and light_blocks[b]]
    if light and anchor not in light:
        best_light = max(light, key=lambda b: accuracy[b])
        if simplest_within_one_error([accuracy[best_light], accuracy[anchor]], shares) == 0:
            anchor = best_light
    others = [b for b in range(len(blocks)) if b != anchor]

    def joined(other_weights: tuple[float, ...]) -> tuple[float, ...]:
        full = {**dict(zip(others, other_weights)), anchor: 1.0}
        return tuple(full[b] for b in range(len(blocks)))

    found, _ = choose_block_weights(lambda w: solved(joined(w)), len(others), BLOCK_WEIGHTS, shares,
                                    paired=None if light_blocks is None else [light_blocks[b] for b in others])
    return joined(found)
