"""`kmeans`: Lloyd's k-means with seeded k-means++ starts, vectorized in NumPy.

What `select_diverse` clusters pooled features with: k-means++ (Arthur &
Vassilvitskii) picks each start with probability proportional to its squared
distance from the starts so far, then Lloyd's iterations move every centre
to the mean of its points until no point changes cluster. Distances are one
matrix product per iteration (`|x|^2 - 2 x.c + |c|^2`); a centre left with no
point restarts at the point farthest from its centre. The same seed gives
the same centres, as scikit-learn's `KMeans(init="k-means++", n_init=1)`.

Example:
>>> points = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
>>> centres, assignment = kmeans(points, 2, seed=0)
>>> sorted(np.round(centres, 2).tolist())
[[0.05, 0.0], [5.05, 5.0]]
>>> bool(assignment[0] == assignment[1] != assignment[2] == assignment[3])
True
"""

from __future__ import annotations

import numpy as np


def squared_distances(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(points, centres) squared Euclidean distances, clipped at 0 against rounding."""
    product = points @ centres.T
    return np.maximum((points**2).sum(1)[:, None] - 2 * product + (centres**2).sum(1)[None, :], 0.0)


def kmeans_plus_plus(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """The indices of `k` distinct starting points, each drawn in proportion to its squared distance to those before."""
    chosen = [int(rng.integers(len(points)))]
    nearest = squared_distances(points, points[chosen])[:, 0]
    for _ in range(1, k):
        total = nearest.sum()
        if total > 0:
            index = int(rng.choice(len(points), p=nearest / total))
        else:  # every point sits on a start already (duplicates): any point not yet chosen
            index = int(rng.choice(np.setdiff1d(np.arange(len(points)), chosen)))
        chosen.append(index)
        nearest = np.minimum(nearest, squared_distances(points, points[[index]])[:, 0])
    return np.array(chosen)


def kmeans(points: np.ndarray, k: int, seed: int = 0, max_iterations: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """(centres (k, dim), each point's cluster (n,)) of `points` (n, dim), started by seeded k-means++.

    Raises:
        ValueError: `k` outside 1..n.
    """
    points = np.asarray(points, np.float64)
    if not 1 <= k <= len(points):
        raise ValueError(f"k={k!r}; use 1 <= k <= {len(points)} (the number of points).")
    rng = np.random.default_rng(seed)
    centres = points[kmeans_plus_plus(points, k, rng)].copy()
    assignment = np.full(len(points), -1)
    for _ in range(max_iterations):
        distances = squared_distances(points, centres)
        updated = distances.argmin(1)
        if np.array_equal(updated, assignment):
            break
        assignment = updated
        counts = np.bincount(assignment, minlength=k)
        sums = np.zeros_like(centres)
        np.add.at(sums, assignment, points)
        empty = counts == 0
        centres[~empty] = sums[~empty] / counts[~empty, None]
        if empty.any():  # restart each empty centre at the point farthest from its own centre
            far = np.argsort(-distances[np.arange(len(points)), assignment])[: int(empty.sum())]
            centres[empty] = points[far]
    return centres, assignment
