"""`fit_wide_ridge`: one ridge classifier over a text's TF-IDF n-grams and a composition's pooled features.

The closed-form head of a frozen composition with n-gram features ("wide
and deep"): the wide part is the sparse TF-IDF vector of the text's hashed
character n-grams (`cclm.layers.NgramLogits` computes it in the graph), the
deep part the composition's pooled features, standardized. Ridge regression
on one-hot targets is solved in its dual form, where the two parts simply
add their kernels: `K = K_ngrams + sum_t weight_t * K_t`, one kernel per
block of features (a composition's towers, `blocks`). Each block's weight,
the ridge strength and the softmax temperature are chosen by exact
leave-one-out on the training labels, so nothing is tuned on held-out data
and a tower that does not help is weighed down rather than trusted: each
weight is the smallest whose leave-one-out accuracy is within one standard
error of the best, block by block, sweeping the blocks in turn
(`cclm.classification.weight_choice`). A tower of weight 0 is not
computed at prediction (`cclm.classification.prediction`), so the error
asked of a tower follows its cost: a light one (reading ids, as the n-grams
do) is compared with the fit without it text by text; one that runs the
embedder is compared as two separate accuracies, whose larger error asks more.
The exact leave-one-out costs the cube of the number of texts: with more
than `subset`, the weight, strength and temperature are chosen on a random
`subset` of them, and the head is then fitted to every text at those
values by conjugate gradients, which only multiplies by the sparse n-gram
matrix and the features (linear in the number of texts).

Example:
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> rows = np.sort(rng.permuted(np.tile(np.arange(50), (40, 1)), axis=1)[:, :6], axis=1)
>>> rows[:20, -1], rows[20:, -1] = 60, 61  # one n-gram tells the label
>>> counts = np.ones((40, 6), "float32")
>>> dense = rng.normal(size=(40, 3))
>>> labels = np.array([0] * 20 + [1] * 20)
>>> fit = fit_wide_ridge(rows, counts, dense, labels, num_labels=2, buckets=64)
>>> fit.ngram_kernel.shape, fit.kernel.shape, fit.loo_accuracy
((64, 2), (3, 2), 1.0)
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from cclm.classification.ridge import (
    STRENGTHS,
    TEMPERATURES,
    RidgeFit,
    _log_likelihood,
    choose_strength,
    fit_ridge,
    text_shares,
)
from cclm.classification.weight_choice import BLOCK_WEIGHTS, choose_block_weights
from cclm.models.bucketed_prediction import used_lengths

COMPOSITION_WEIGHTS = BLOCK_WEIGHTS  # a block's kernel against the n-grams' (both unit scale)
_TEXTS = 128  # texts whose n-gram vectors are made dense at a time when forming the kernel


@dataclass
class WideRidgeFit:
    """logits = temperature-scaled n-gram scores (`idf`, `ngram_kernel`) + features @ kernel + bias."""

    idf: np.ndarray  # (buckets,), float32
    ngram_kernel: np.ndarray  # (buckets, labels), float32
    kernel: np.ndarray  # (dim, labels), float32
    bias: np.ndarray  # (labels,), float32
    strength: float  # the ridge penalty, relative to the mean of the kernel's diagonal
    block_weights: tuple[float, ...]  # each block of features' kernel against the n-grams'
    loo_accuracy: float
    temperature: float

    @property
    def composition_weight(self) -> float:
        """The blocks' weights summed: 0 when the head reads the n-grams alone."""
        return float(sum(self.block_weights))


def tfidf_weights(rows: np.ndarray, counts: np.ndarray, idf: np.ndarray) -> np.ndarray:
    """(texts, slots) weights of each text's unit-length sublinear TF-IDF vector, as `NgramLogits` computes them."""
    weights = np.where(counts > 0, 1.0 + np.log(np.maximum(counts, 1.0)), 0.0) * idf[rows]
    return weights / np.maximum(np.sqrt((weights**2).sum(axis=1, keepdims=True)), 1e-12)


def _sparse_matrix(rows: np.ndarray, weights: np.ndarray, dtype: str = "float32") -> tf.SparseTensor:
    """The (texts, n-grams present) sparse matrix of the n-gram vectors."""
    present = weights != 0
    columns, column = np.unique(rows[present], return_inverse=True)
    indices = np.stack([np.nonzero(present)[0], column], axis=1)  # row-major, as SparseTensor wants
    return tf.sparse.reorder(tf.sparse.SparseTensor(indices, weights[present].astype(dtype), (len(rows), len(columns))))


def _ngram_kernel(rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The (texts, texts) inner products of the sparse n-gram vectors (a sparse product, in TensorFlow)."""
    matrix = _sparse_matrix(rows, weights)
    blocks = []
    for start in range(0, len(rows), _TEXTS):
        block = tf.sparse.to_dense(tf.sparse.slice(matrix, [start, 0], [_TEXTS, matrix.shape[1]]))
        blocks.append(tf.sparse.sparse_dense_matmul(matrix, block, adjoint_b=True).numpy())
    return np.concatenate(blocks, axis=1).astype("float64")


def _dual_by_conjugate_gradients(
    rows: np.ndarray, weights: np.ndarray, dense: np.ndarray, column_weights: np.ndarray, penalty: float,
    targets: np.ndarray, shares: np.ndarray, roots: np.ndarray, tolerance: float = 1e-2, max_steps: int = 1000,
) -> np.ndarray:
    """The dual coefficients A = R B of `(R centered K R + penalty * I) B = R centered targets`, K never formed.

    K = N N^T + dense W dense^T, with N the sparse n-gram matrix, W the
    diagonal of `column_weights` (each feature's block weight),
    centered by the texts' `shares`; R scales each text by its weight's root
    (`roots`; all ones without sample weights). Every label's column is
    solved at once (conjugate gradients per column), to a residual under
    `tolerance` times the targets' or for `max_steps`.
    """
    matrix = _sparse_matrix(rows, weights)
    transposed = tf.sparse.reorder(tf.sparse.transpose(matrix))  # faster than multiplying by the adjoint

    def product(v: np.ndarray) -> np.ndarray:
        u = roots[:, None] * v
        u = u - shares[:, None] * u.sum(axis=0)
        ngrams = tf.sparse.sparse_dense_matmul(matrix, tf.sparse.sparse_dense_matmul(transposed, u.astype("float32")))
        kernel_u = ngrams.numpy().astype("float64") + dense @ (column_weights[:, None] * (dense.T @ u))
        return roots[:, None] * (kernel_u - shares @ kernel_u) + penalty * v

    right = roots[:, None] * (targets - shares @ targets)
    solution = np.zeros_like(right)
    residual = right.copy()
    direction = residual.copy()
    squared = (residual**2).sum(axis=0)
    goal = tolerance**2 * np.maximum((right**2).sum(axis=0), 1e-30)
    for _ in range(max_steps):
        if np.all(squared <= goal):
            break
        moved = product(direction)
        step = squared / np.maximum((direction * moved).sum(axis=0), 1e-30)
        solution += step * direction
        residual -= step * moved
        squared, previous = (residual**2).sum(axis=0), squared
        direction = residual + (squared / np.maximum(previous, 1e-30)) * direction
    dual = roots[:, None] * solution
    return dual - dual.mean(axis=0)


def _centered(kernel: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """The kernel of the same vectors less their mean weighted by `shares` (without the matrix products)."""
    by_shares = kernel @ shares
    return kernel - by_shares[None, :] - by_shares[:, None] + shares @ by_shares


def fit_wide_ridge(
    rows: np.ndarray, counts: np.ndarray, features: np.ndarray, labels: np.ndarray, num_labels: int, buckets: int,
    strengths: Sequence[float] = STRENGTHS, composition_weights: Sequence[float] = COMPOSITION_WEIGHTS,
    temperatures: Sequence[float] = TEMPERATURES, subset: int = 2000, seed: int = 0, tolerance: float = 1e-2,
    sample_weights: np.ndarray | None = None, blocks: Sequence[int] | None = None,
    block_weights: Sequence[float] | None = None, light_blocks: Sequence[bool] | None = None,
) -> WideRidgeFit:
    """Ridge classification of `labels` from n-gram bags (`NgramLogits.bag`) and pooled features.

    Args:
        rows, counts: each text's n-gram rows and counts, (texts, slots).
        features: each text's pooled composition features, (texts, dim).
        labels: each text's label index in [0, num_labels).
        num_labels: the number of labels.
        buckets: the n-gram rows of the layer (`NgramLogits.buckets`).
        strengths, composition_weights, temperatures: the values tried
            (`composition_weights` for each block).
        subset: the weight, strength and temperature are chosen on at most
            this many texts, drawn at random; the head is fitted to all.
        seed: the draw of that subset.
        tolerance: fitting all texts, conjugate gradients stop at this
            residual relative to the targets'.
        sample_weights: each text's weight in the squared error and in the
            leave-one-out scores (`cclm.classification.ridge.text_shares`).
        blocks: the widths of the features' blocks (e.g. each tower's),
            weighed apart; None: one block.
        block_weights: each block's weight, instead of choosing them.
        light_blocks: for each block, whether its features cost about what
            the n-grams do (a tower that reads ids alone): its weight is
            then kept where it beats the fit without it by more than the
            error of their text-by-text difference. Other blocks (towers that
            run the embedder, many times the n-grams' cost) must beat it by
            the error of the difference of two separate accuracies, which
            asks more. None: none light.

    Raises:
        ValueError: with fewer than two texts, arrays that differ in rows, or
            blocks that do not add up to the features.
    """
    rows, counts = np.asarray(rows, "int64"), np.asarray(counts, "float64")
    features, labels = np.asarray(features, "float64"), np.asarray(labels, "int64")
    if not len(rows) == len(counts) == len(features) == len(labels) or rows.shape != counts.shape:
        raise ValueError(f"n-gram rows {rows.shape}, counts {counts.shape}, features {features.shape} and "
                         f"{len(labels)} labels; give one row of each per label.")
    if len(labels) < 2:
        raise ValueError(f"{len(labels)} labelled text(s); the head needs at least two.")
    texts = len(labels)
    frequency = np.bincount(rows[counts > 0], minlength=buckets)
    idf = np.log((1.0 + texts) / (1.0 + frequency)) + 1.0
    weights = tfidf_weights(rows, counts, idf)
    blocks = [features.shape[1]] if blocks is None else [int(width) for width in blocks]
    if sum(blocks) != features.shape[1] or min(blocks, default=0) < 1:
        raise ValueError(f"blocks {blocks} for {features.shape[1]} feature columns; give each block's width, "
                         "adding up to the features' (e.g. each tower's output_dim).")
    if light_blocks is not None and len(light_blocks) != len(blocks):
        raise ValueError(f"light_blocks {list(light_blocks)} for {len(blocks)} blocks; give one flag per block.")
    starts = np.cumsum([0, *blocks])
    columns = [slice(starts[b], starts[b + 1]) for b in range(len(blocks))]
    mean, scale = features.mean(axis=0), features.std(axis=0)
    scale[scale < 1e-8] = 1.0
    scale = scale * np.sqrt(np.repeat(blocks, blocks))  # each block of unit mean squared norm, as the n-gram vectors
    dense = (features - mean) / scale
    targets = np.eye(num_labels)[labels]
    shares, roots = text_shares(sample_weights, texts)

    chosen = np.arange(texts) if texts <= subset else np.sort(np.random.default_rng(seed).permutation(texts)[:subset])
    chosen_shares = shares[chosen] / shares[chosen].sum()
    scaled = np.outer(roots[chosen], roots[chosen])  # weighted ridge: rows scaled by their weight's root
    ngram_kernel = scaled * _centered(_ngram_kernel(rows[chosen], weights[chosen]), chosen_shares)
    block_kernels = [scaled * _centered(dense[chosen, part] @ dense[chosen, part].T, chosen_shares) for part in columns]
    chosen_weights = None if sample_weights is None else np.asarray(sample_weights, "float64")[chosen]

    def solved(block_weights: tuple[float, ...]) -> tuple[tuple, tuple]:
        kernel = ngram_kernel + sum(w * k for w, k in zip(block_weights, block_kernels) if w)
        eigenvalues, vectors = np.linalg.eigh(kernel)
        eigenvalues = np.maximum(eigenvalues, 0.0)
        reference = float(np.mean(np.diag(kernel))) or 1.0
        found = choose_strength(vectors, eigenvalues, reference, targets[chosen], labels[chosen], strengths,
                                chosen_weights)
        return (*found, found[2].argmax(axis=1) == labels[chosen]), (eigenvalues, vectors, reference)

    if block_weights is None:
        block_weights, solution = choose_block_weights(solved, len(blocks), composition_weights, chosen_shares,
                                                       paired=light_blocks)
    else:
        block_weights = tuple(float(w) for w in block_weights)
        if len(block_weights) != len(blocks):
            raise ValueError(f"{len(block_weights)} block weights for {len(blocks)} blocks; give one per block.")
        solution = solved(block_weights)
    (score, strength, loo, _), (eigenvalues, vectors, reference) = solution
    column_weights = np.repeat(block_weights, blocks).astype("float64")
    weighed = None if sample_weights is None else chosen_shares
    temperature = max(temperatures, key=lambda t: _log_likelihood(t * loo, labels[chosen], weighed))

    present = weights != 0
    text, row, value = np.nonzero(present)[0], rows[present], weights[present]
    if len(chosen) == texts:  # the exact solution, from the eigendecomposition at hand
        projected = vectors.T @ (roots[:, None] * (targets - shares @ targets))
        dual = roots[:, None] * (vectors @ ((1.0 / (eigenvalues + strength * reference))[:, None] * projected))
        dual = dual - dual.mean(axis=0)  # centered features: the intercept is the target mean
    else:  # every text, at the values chosen on the subset (the strength relative to all texts' kernel)
        mean_ngrams = np.bincount(row, shares[text] * value, minlength=buckets)
        mean_dense = shares @ dense
        reference = (shares @ (weights**2).sum(axis=1) - (mean_ngrams**2).sum()
                     + shares @ (dense**2 @ column_weights) - mean_dense**2 @ column_weights)
        dual = _dual_by_conjugate_gradients(rows, weights, dense, column_weights, strength * (reference or 1.0),
                                            targets, shares, roots, tolerance)
    ngram_kernel_ = np.stack([np.bincount(row, value * dual[text, k], minlength=buckets)
                              for k in range(num_labels)], axis=1)
    dense_kernel = column_weights[:, None] * (dense.T @ dual)
    # The intercept: the (weighted) target mean less the (weighted) mean score of the uncentered fitted texts.
    mean_score = ((shares[text] * value)[:, None] * ngram_kernel_[row]).sum(axis=0) + (shares @ dense) @ dense_kernel
    bias = shares @ targets - mean_score - (mean / scale) @ dense_kernel
    return WideRidgeFit(
        idf=idf.astype("float32"),
        ngram_kernel=(temperature * ngram_kernel_).astype("float32"),
        kernel=(temperature * dense_kernel / scale[:, None]).astype("float32"),
        bias=(temperature * bias).astype("float32"),
        strength=float(strength), block_weights=block_weights, loo_accuracy=score[0], temperature=float(temperature),
    )


def fit_head(
    parts: list[tuple[np.ndarray, ...]], labels: np.ndarray, num_labels: int, buckets: int, seed: int = 0,
    chosen: RidgeFit | WideRidgeFit | None = None, sample_weights: np.ndarray | None = None,
    blocks: Sequence[int] | None = None, light_blocks: Sequence[bool] | None = None,
) -> RidgeFit | WideRidgeFit:
    """A `TextClassifier`'s closed-form head from its readings of the texts, at `chosen`'s values when given.

    `parts` holds one `(features,)` or `(features, rows, counts)` tuple per
    reading of the same texts (the clean ones, then noisy copies); with
    n-gram rows and counts the head is `fit_wide_ridge`, else `fit_ridge`.
    `sample_weights` weigh each text (every reading of it alike); `blocks`
    are the widths of the features' blocks weighed apart (each tower's),
    `light_blocks` which of them cost about what the n-grams do.
    """
    features = np.concatenate([part[0] for part in parts])
    bags = concatenate_bags([part[1:] for part in parts]) if len(parts[0]) > 1 else ()
    labels = np.tile(labels, len(parts))
    kept = {} if chosen is None else {"strengths": [chosen.strength], "temperatures": [chosen.temperature]}
    if sample_weights is not None:
        kept["sample_weights"] = np.tile(sample_weights, len(parts))
    kept.update({} if chosen is None else {"block_weights": chosen.block_weights})
    if not bags:
        return fit_ridge(features, labels, num_labels, blocks=blocks, light_blocks=light_blocks, seed=seed, **kept)
    return fit_wide_ridge(*bags, features, labels, num_labels, buckets, seed=seed, blocks=blocks,
                          light_blocks=light_blocks, **kept)


_BAGS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def compact_bags(rows: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same bags with each text's n-grams first and the slots no text uses dropped: (rows, counts).

    `NgramLogits.bag` gives every position of the ids `max_n` slots, most
    of them repeats or padding (count 0); a long reach would keep them all.
    """
    order = np.argsort(counts <= 0, axis=1, kind="stable")
    rows, counts = np.take_along_axis(rows, order, axis=1), np.take_along_axis(counts, order, axis=1)
    width = max(int((counts > 0).sum(axis=1).max(initial=0)), 1)
    return rows[:, :width], counts[:, :width]


def concatenate_bags(bags: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """(rows, counts) pairs of several batches of texts as one, the narrower padded with empty slots."""
    width = max(rows.shape[1] for rows, _ in bags)
    padded = [(np.pad(rows, ((0, 0), (0, width - rows.shape[1]))), np.pad(counts, ((0, 0), (0, width - counts.shape[1]))))
              for rows, counts in bags]
    return np.concatenate([rows for rows, _ in padded]), np.concatenate([counts for _, counts in padded])


def ngram_bags(layer: Any, ids: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """`layer.bag` (a `cclm.layers.NgramLogits`) of every row of `ids`, in batches, compacted: (rows, counts).

    Each text's distinct n-grams come first (`compact_bags`), so the arrays
    are as wide as the richest text's bag, not `max_n` times the ids. Texts
    are batched with others of their length (each batch costs what its
    longest text does) and come back in their order. The graph is traced
    once per layer, for any batch size and length, and never retraced.
    """
    if layer not in _BAGS:
        bag = tf.function(layer.bag, autograph=False)
        _BAGS[layer] = bag.get_concrete_function(tf.TensorSpec((None, None), tf.int32))
    bag = _BAGS[layer]
    ids = np.asarray(ids, "int32")
    if not len(ids):
        return np.zeros((0, 1), "int32"), np.zeros((0, 1), "float32")
    order = np.argsort(used_lengths(ids), kind="stable")
    parts = [compact_bags(*(part.numpy() for part in bag(tf.constant(ids[order[start:start + batch_size]]))))
             for start in range(0, len(ids), batch_size)]
    rows, counts = concatenate_bags(parts)
    unsorted = np.empty_like(order)
    unsorted[order] = np.arange(len(order))
    return rows[unsorted], counts[unsorted]
