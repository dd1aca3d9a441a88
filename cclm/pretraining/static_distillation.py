"""The solver behind `MeaningPretrainer`: a table of n-gram vectors fitted to a teacher's vectors, in closed form.

A `MeaningTower` is linear in its table: a text's vector is `A @ table`,
where row i of the sparse matrix `A` holds the weights of text i's n-gram
rows (`bag_matrix`). Fitting the table to targets `T` is ridge regression,
`min |A table - T|^2 + strength |table - start|^2`, solved for every
column at once by conjugate gradients (`solve_table`), which only multiplies
by `A` and its transpose: seconds for tens of thousands of texts.
Stage one fits single words (and misspelt copies of them, `one_edit_typos`)
to their teacher vectors, reduced by `principal_axes` and weighed by how
rare the word is (`sif_weights`); stage two fits whole sentences, starting
from the stage-one table and staying near it.

Example:
>>> import numpy as np
>>> rows = np.array([[0, 1], [1, 2], [0, 2]]); weights = np.full((3, 2), 0.5, "float32")
>>> matrix = bag_matrix_from(rows, weights, buckets=3)
>>> table = solve_table(matrix, np.eye(3, dtype="float32"), strength=1e-6)
>>> np.round(matrix_product(matrix, table), 2).tolist()
[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

_WORD = re.compile(r"[^\W_]+")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def words_of(text: str) -> list[str]:
    """The words of `text` as a `MeaningTower` reads them: runs of letters and digits, lowercased."""
    return _WORD.findall(text.lower())


def count_words(texts: Iterable[str]) -> Counter:
    """How often each word occurs in `texts`."""
    counts: Counter = Counter()
    for text in texts:
        counts.update(words_of(text))
    return counts


def sif_weights(counts: Sequence[int], total: int, coefficient: float = 1e-3) -> np.ndarray:
    """`coefficient / (coefficient + p(word))`: frequent words (the, of) weigh little, rare ones about 1."""
    return coefficient / (coefficient + np.asarray(counts, "float64") / max(total, 1))


def one_edit_typos(words: Sequence[str], seed: int = 0) -> list[str]:
    """Each word with one random edit: a letter deleted, inserted, replaced, or two swapped."""
    rng = np.random.default_rng(seed)
    edits = rng.integers(0, 4, len(words))
    typos = []
    for word, edit in zip(words, edits):
        if len(word) < 3:
            typos.append(word)
            continue
        at = int(rng.integers(0, len(word) - 1))
        letter = _LETTERS[int(rng.integers(0, 26))]
        typos.append(
            word[:at] + word[at + 1:] if edit == 0 else word[:at] + letter + word[at:] if edit == 1
            else word[:at] + letter + word[at + 1:] if edit == 2 else word[:at] + word[at + 1] + word[at] + word[at + 2:]
        )
    return typos


def principal_axes(vectors: np.ndarray, dimensions: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, axes (d, dimensions)): project with `(x - mean) @ axes`, as Model2Vec reduces a teacher's vectors."""
    vectors = np.asarray(vectors, "float64")
    mean = vectors.mean(axis=0)
    _, _, right = np.linalg.svd(vectors - mean, full_matrices=False)
    if dimensions > right.shape[0]:
        raise ValueError(f"output_dim={dimensions} needs at least {dimensions} teacher vectors of at least "
                         f"{dimensions} dimensions; there are {len(vectors)} of {vectors.shape[1]}. Fit on more text "
                         f"(words seen min_count times or more, and texts), or use output_dim <= {right.shape[0]}.")
    return mean.astype("float32"), right[:dimensions].T.astype("float32")


def bag_matrix_from(rows: np.ndarray, weights: np.ndarray, buckets: int) -> tf.SparseTensor:
    """The (texts, buckets) sparse matrix of each text's row weights, repeated rows added up."""
    text, slot = np.nonzero(weights > 0)
    keys = text.astype("int64") * buckets + rows[text, slot]
    unique, inverse = np.unique(keys, return_inverse=True)
    values = np.bincount(inverse, weights[text, slot]).astype("float32")
    indices = np.stack([unique // buckets, unique % buckets], axis=1)
    return tf.SparseTensor(indices, values, (len(rows), buckets))


def bag_matrix(tower: Any, ids: np.ndarray, batch_size: int = 512) -> tf.SparseTensor:
    """The sparse (texts, buckets) matrix of `tower.bag` on every row of `ids`."""
    bag = tf.function(tower.bag, input_signature=[tf.TensorSpec((None, None), tf.int32)])
    parts = []
    for start in range(0, len(ids), batch_size):
        rows, weights = bag(tf.constant(ids[start:start + batch_size], "int32"))
        rows, weights = rows.numpy(), weights.numpy()
        parts.append(bag_matrix_from(rows.reshape(len(rows), -1), weights.reshape(len(rows), -1), tower.bag.buckets))
    return tf.sparse.concat(0, parts) if len(parts) > 1 else parts[0]


def compressed_rows(matrix: tf.SparseTensor) -> tf.Tensor:
    """`matrix` in TensorFlow's compressed sparse row form, which multiplies on every core (`times`)."""
    matrix = tf.sparse.reorder(matrix)
    return tf.raw_ops.SparseTensorToCSRSparseMatrix(indices=matrix.indices, values=matrix.values,
                                                    dense_shape=matrix.dense_shape)


def times(compressed: tf.Tensor, dense: tf.Tensor) -> tf.Tensor:
    """`compressed @ dense` for a matrix from `compressed_rows`."""
    return tf.raw_ops.SparseMatrixMatMul(a=compressed, b=dense)


def matrix_product(matrix: tf.SparseTensor, dense: np.ndarray) -> np.ndarray:
    """`matrix @ dense` for a sparse matrix."""
    return times(compressed_rows(matrix), tf.constant(dense, "float32")).numpy()


def solve_table(
    matrix: tf.SparseTensor, targets: np.ndarray, strength: float, start: np.ndarray | None = None,
    tolerance: float = 1e-2, max_steps: int = 300,
) -> np.ndarray:
    """The table minimizing `|matrix table - targets|^2 + strength * m |table - start|^2`.

    `m` is the mean squared weight of a used bucket, so `strength` is
    relative to the data. Every column is solved at once by conjugate
    gradients on the normal equations, preconditioned by their diagonal (an
    n-gram shared by thousands of words would otherwise slow them down a
    hundredfold), to a residual under `tolerance` times the right side's,
    or for `max_steps`.
    """
    targets = np.asarray(targets, "float32")
    buckets = matrix.shape[1]
    start = np.zeros((buckets, targets.shape[1]), "float32") if start is None else np.asarray(start, "float32")
    indices, values = matrix.indices.numpy(), matrix.values.numpy()  # in any order: only summed per bucket
    matrix, transposed = compressed_rows(matrix), compressed_rows(tf.sparse.transpose(matrix))
    diagonal = np.bincount(indices[:, 1], values.astype("float64") ** 2, minlength=buckets)
    penalty = float(strength) * float(diagonal[diagonal > 0].mean() if (diagonal > 0).any() else 1.0)
    inverse = tf.constant((1.0 / (diagonal + penalty))[:, None], "float32")
    residual_targets = tf.constant(targets) - times(matrix, tf.constant(start))
    right = times(transposed, residual_targets)

    # Each step is two products over every text's n-grams (seconds on big corpora): eager steps cost nothing more.
    goal = tolerance**2 * tf.maximum(tf.reduce_sum(right**2, axis=0), 1e-30)
    solution, residual = tf.zeros_like(right), right
    direction = inverse * right
    product = tf.reduce_sum(right * direction, axis=0)
    for _ in range(max_steps):
        if not bool(tf.reduce_any(tf.reduce_sum(residual**2, axis=0) > goal)):
            break
        moved = times(transposed, times(matrix, direction)) + penalty * direction
        size = product / tf.maximum(tf.reduce_sum(direction * moved, axis=0), 1e-30)
        solution += size * direction
        residual -= size * moved
        preconditioned = inverse * residual
        new = tf.reduce_sum(residual * preconditioned, axis=0)
        direction = preconditioned + (new / tf.maximum(product, 1e-30)) * direction
        product = new
    return start + solution.numpy()
