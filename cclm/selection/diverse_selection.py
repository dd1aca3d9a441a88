"""`select_diverse`: which texts of an unlabelled pool to label first, so that the labels cover it.

Labelling a random sample spends labels on what is common; labelling one
text from each region of the pool spends them on what differs. Every text
is read by the composition (mean of its vectors over its characters, each
feature standardized over the pool), the features are clustered by k-means
with seeded k-means++ starts (`cclm.selection.kmeans`), and the text nearest
each centre is chosen: `k` distinct indices, those of the largest clusters
first, the same for the same seed.

Example:
>>> from cclm import ComposedModel, Embedder, Preprocessor
>>> from cclm.models.tower import Tower
>>> texts = ["the cat sat", "a cat sat down", "def f(x): return x", "import os", "bonjour le monde", "le chat"]
>>> prep = Preprocessor(sequence_length=32).fit(texts, progress=False)
>>> embedder = Embedder(32, prep.vocab_size, hidden_dim=8, num_blocks=1)
>>> tower = Tower(input_dim=8, hidden_dim=8, num_layers=1, num_heads=2, max_length=32)
>>> composed = ComposedModel(embedder, [tower], preprocessor=prep)
>>> chosen = select_diverse(texts, 3, composed, seed=0)
>>> len(set(chosen)), chosen == select_diverse(texts, 3, composed, seed=0)
(3, True)
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from cclm.data.texts import check_batch
from cclm.layers.sequence_pooling import SequencePooling
from cclm.models.bucketed_prediction import CompiledModel, run_bucketed
from cclm.models.composed_model import ComposedModel
from cclm.selection.kmeans import kmeans, squared_distances

_POOLING_MODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # composition -> its traced pooling


def _pooling_model(composed: ComposedModel) -> CompiledModel:
    """Ids -> mean-pooled composed vectors, traced once per composition (later calls reuse it)."""
    if composed not in _POOLING_MODELS:
        ids = keras.Input(shape=(None,), dtype="int32", name="ids")
        _POOLING_MODELS[composed] = CompiledModel(keras.Model(ids, SequencePooling("mean")(composed.id_model(ids))))
    return _POOLING_MODELS[composed]


def pooled_features(texts: Sequence[str], composed: ComposedModel, batch_size: int = 256) -> np.ndarray:
    """(texts, composed.output_dim): each text's composed vectors averaged over its characters."""
    if composed.preprocessor is None:
        raise ValueError("The composition has no preprocessor, so it cannot read text; compose it with "
                         "ComposedModel(..., preprocessor=prep).")
    factor = composed.preprocessor.downsample_factor

    def batch_length(used: int, width: int) -> int:
        return min(width, max(-(-used // factor) * factor, factor))

    return run_bucketed(_pooling_model(composed), composed.preprocessor.encode(list(texts)), batch_size, batch_length)


def _standardized(features: np.ndarray) -> np.ndarray:
    spread = features.std(axis=0)
    return (features - features.mean(axis=0)) / np.where(spread > 0, spread, 1.0)


def select_diverse(texts: Sequence[str], k: int, composed: Any, seed: int = 0) -> list[int]:
    """The indices of `k` texts to label first: the text nearest each k-means centre of the pooled features.

    Args:
        texts: the unlabelled pool, a list of `str`.
        k: how many to choose, 1 to `len(texts)`.
        composed: a `ComposedModel` with a preprocessor, or a component holding
            one as `composed` (a `TextClassifier`).
        seed: the k-means++ draw; the same seed gives the same indices.

    Returns:
        `k` distinct indices into `texts`, the largest cluster's text first.

    Raises:
        ValueError: `k` outside 1..len(texts), or a composition without a preprocessor.
    """
    texts = check_batch(texts)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= len(texts):
        raise ValueError(f"k={k!r}; choose from 1 to {len(texts)} texts (the size of the pool).")
    composition = getattr(composed, "composed", composed)
    if not isinstance(composition, ComposedModel):
        raise TypeError(f"composed is a {type(composed).__name__}; give a ComposedModel (or a TextClassifier).")
    return diverse_indices(pooled_features(texts, composition), int(k), seed)


def diverse_indices(features: np.ndarray, k: int, seed: int = 0) -> list[int]:
    """`select_diverse` on features already computed (texts, dim): `k` distinct rows, the largest cluster's first.

    Each feature is standardized over the rows, k-means (seeded k-means++)
    clusters them, and each centre, largest cluster first, takes its
    nearest row not taken by another.
    """
    features = _standardized(np.asarray(features, np.float64))
    centres, assignment = kmeans(features, k, seed=seed)
    distances = squared_distances(features, centres)
    sizes = np.bincount(assignment, minlength=len(centres))
    chosen: list[int] = []
    taken = np.zeros(len(features), bool)
    for centre in np.argsort(-sizes, kind="stable"):
        order = np.argsort(distances[:, centre], kind="stable")
        index = int(order[np.argmax(~taken[order])])  # its nearest row not chosen for another centre
        taken[index] = True
        chosen.append(index)
    return chosen
