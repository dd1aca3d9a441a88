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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cclm.classification.weight_choice import simplest_within_one_error

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
    sample_weights: np.ndarray | None = None,
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

    Raises:
        ValueError: with fewer than two texts, or rows, labels and weights that differ in number.
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
    standardized = roots[:, None] * (features - mean) / scale
    targets = np.eye(num_labels)[labels]
    target_mean = shares @ targets
    u, s, vt = np.linalg.svd(standardized, full_matrices=False)
    reference = float(np.mean(s**2)) or 1.0
    (accuracy, _), strength, loo = choose_strength(u, s**2, reference, targets, labels, strengths, sample_weights,
                                                   within_one_error=True)
    projected = u.T @ (roots[:, None] * (targets - target_mean))  # (rank, labels)
    weighed = None if sample_weights is None else shares
    temperature = max(temperatures, key=lambda t: _log_likelihood(t * loo, labels, weighed))
    weights = vt.T @ ((s / (s**2 + strength * reference))[:, None] * projected)  # standardized features -> scores
    kernel = temperature * weights / scale[:, None]
    bias = temperature * (target_mean - (mean / scale) @ weights)
    return RidgeFit(kernel.astype("float32"), bias.astype("float32"), float(strength), accuracy, float(temperature))
