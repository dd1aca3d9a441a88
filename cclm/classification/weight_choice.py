"""How the closed-form head chooses the weight of each block of features: the one-standard-error rule.

`fit_wide_ridge` (`cclm.classification.wide_ridge`) weighs each tower's
features against the n-grams by leave-one-out. A heavier weight is kept
only where its leave-one-out accuracy beats a lighter one's by more than the
standard error of their difference (`simplest_within_one_error`); `choose_block_weights` applies
the rule block by block, sweeping the blocks in turn from all zeros.

Example:
>>> import numpy as np
>>> shares = np.full(256, 1 / 256)  # 256 texts alike
>>> simplest_within_one_error([0.80, 0.81, 0.82], shares)  # +0.02 is inside the difference's error (0.035)
0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

SWEEPS = 2  # passes over the blocks when choosing their weights
BLOCK_WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)  # a block's weight against the others' (each of unit scale)


def simplest_within_one_error(
    accuracies: Sequence[float], shares: np.ndarray, correct: Sequence[np.ndarray] | None = None,
) -> int:
    """The first index whose accuracy is within one standard error of the best (the one-standard-error rule).

    `accuracies` are leave-one-out accuracies of ever more complex fits (the
    composition weighed ever more); `shares` each text's share of them. A
    fit that beats a simpler one by less than a standard error is not
    trusted: the composition's features of texts its towers were pretrained
    on can look more telling to leave-one-out than they are on new text.
    The error is that of each fit's difference from the best. Without
    `correct`, the two accuracies are taken as separate estimates (over the
    effective number of texts), so their errors add. With `correct` (each
    fit's leave-one-out hits, one boolean per text), the difference is taken
    text by text: fits of the same texts err together, so a gain hidden by
    the separate errors can be real.
    """
    best = int(np.argmax(accuracies))
    if correct is None:
        texts = 1.0 / float(np.sum(np.square(shares)))
        variances = [accuracy * (1.0 - accuracy) / texts for accuracy in accuracies]
        margins = [np.sqrt(variance + variances[best]) for variance in variances]
    else:
        differences = [np.asarray(hits, "float64") - np.asarray(correct[best], "float64") for hits in correct]
        margins = [np.sqrt(np.sum(np.square(shares) * np.square(d - shares @ d))) for d in differences]
    return next(i for i, accuracy in enumerate(accuracies) if accuracy >= accuracies[best] - margins[i] - 1e-12)


def choose_block_weights(
    solved: Callable[[tuple[float, ...]], tuple], blocks: int, grid: Sequence[float], shares: np.ndarray,
    sweeps: int = SWEEPS, paired: Sequence[bool] | None = None,
) -> tuple[tuple[float, ...], tuple]:
    """Each block's weight, by coordinate ascent from all zeros; returns the weights and `solved(weights)`.

    `solved(weights)` gives `((leave-one-out accuracy, ...), strength, scores,
    hits), ...` for a tuple of block weights (`choose_strength`'s result
    first, then each text's leave-one-out hit). Sweeping the blocks in turn,
    each block's weight is the smallest of `grid` within one standard error
    of the best with the other blocks' weights held
    (`simplest_within_one_error`): for the blocks `paired` marks, the error
    of each fit's text-by-text difference from the best; for the others, the
    error of the difference of two separate accuracies, which asks more of
    them. The sweeps stop when one changes nothing. Each weight tuple is
    solved once.
    """
    memo: dict[tuple[float, ...], tuple] = {}

    def solution(weights: tuple[float, ...]) -> tuple:
        if weights not in memo:
            memo[weights] = solved(weights)
        return memo[weights]

    grid, current = sorted(grid), (0.0,) * blocks
    if 0.0 not in grid:  # no weight may be 0: start at the smallest
        current = (grid[0],) * blocks
    for _ in range(sweeps if blocks > 1 else 1):
        start = current
        for block in range(blocks):
            tried = [current[:block] + (float(w),) + current[block + 1:] for w in grid]
            found = [solution(w)[0] for w in tried]
            hits = [f[3] for f in found] if paired is not None and paired[block] else None
            current = tried[simplest_within_one_error([f[0][0] for f in found], shares, hits)]
        if current == start:
            break
    return current, solution(current)
