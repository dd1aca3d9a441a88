"""`select_diverse` and `cclm select`: k distinct indices, one per region of the pool, the same for the same seed."""

from __future__ import annotations

import numpy as np
import pytest

from cclm.selection import kmeans, select_diverse

POOL = ["the cat sat on the mat", "a cat sat down", "the dog sat", "def f(x): return x", "import os, sys",
        "for i in range(10): print(i)", "bonjour le monde", "le chat dort", "Привет, мир", "Как дела?"] * 2


@pytest.fixture(scope="module")
def composed():
    import keras

    from cclm import ComposedModel, Embedder, Preprocessor
    from cclm.models import Tower

    keras.utils.set_random_seed(0)
    prep = Preprocessor(sequence_length=32).fit(POOL, progress=False)
    embedder = Embedder(32, prep.vocab_size, hidden_dim=8, num_blocks=1)
    tower = Tower(input_dim=8, hidden_dim=8, num_layers=1, num_heads=2, intermediate_dim=16, max_length=32)
    return ComposedModel(embedder, [tower], preprocessor=prep, name="tiny")


def test_k_distinct_indices_reproducible_by_seed(composed):
    chosen = select_diverse(POOL, 6, composed, seed=3)
    assert len(chosen) == len(set(chosen)) == 6 and all(0 <= i < len(POOL) for i in chosen)
    assert select_diverse(POOL, 6, composed, seed=3) == chosen
    with pytest.raises(ValueError, match="choose from 1 to 20"):
        select_diverse(POOL, 21, composed)


def test_kmeans_finds_separated_clusters_and_one_text_from_each():
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal(centre, 0.1, (30, 2)) for centre in ((0, 0), (10, 0), (0, 10))])
    centres, assignment = kmeans(points, 3, seed=1)
    assert sorted(np.bincount(assignment).tolist()) == [30, 30, 30]
    assert sorted(np.round(centres).astype(int).tolist()) == [[0, 0], [0, 10], [10, 0]]


def test_select_command_prints_k_texts(composed, tmp_path, capsys):
    from cclm.cli.main import main

    (tmp_path / "pool.txt").write_text("\n".join(POOL) + "\n", encoding="utf-8")
    path = composed.save(tmp_path / "composed")
    assert main(["select", str(tmp_path / "pool.txt"), "-k", "4", "--model", str(path), "--seed", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    indices = [int(line.split("\t")[0]) for line in lines]
    assert len(set(indices)) == 4 and [line.split("\t")[1] for line in lines] == [POOL[i] for i in indices]
