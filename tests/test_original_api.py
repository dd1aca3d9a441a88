"""The original cclm API works as its users wrote it: the import paths, the calls, the shelf."""

import os
import subprocess
import sys

import numpy as np
import pytest

from cclm.models import ComposedModel, Embedder
from cclm.preprocessing import Preprocessor
from cclm.pretraining import CategoricalPretrainer, DistillationPretrainer, MaskedLanguagePretrainer
from cclm.shelf import Shelf

DATASET = ["cclm is neat", "composable character-level models", "towers share one embedder"] * 12


def test_the_original_imports_work_in_a_fresh_process():
    code = (
        "from cclm.preprocessing import Preprocessor; from cclm.models import Embedder, ComposedModel; "
        "from cclm.pretraining import MaskedLanguagePretrainer, CategoricalPretrainer, DistillationPretrainer; "
        "from cclm.shelf import Shelf"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
    assert {CategoricalPretrainer, DistillationPretrainer}  # importable here too


def test_the_seed_snippet_runs_end_to_end(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    prep = Preprocessor()
    prep.fit(DATASET)
    embedder = Embedder(prep.max_example_len, prep.n_chars)
    assert (embedder.max_length, embedder.vocab_size) == (prep.sequence_length, prep.vocab_size)
    pretrainer_a = MaskedLanguagePretrainer(embedder=embedder, tower_options={"hidden_dim": 16}, name="a", seed=0)
    pretrainer_a.fit(DATASET, epochs=2)
    pretrainer_b = MaskedLanguagePretrainer(
        embedder=embedder, train_embedder=False, tower_options={"hidden_dim": 8}, name="b", seed=0
    )
    pretrainer_b.fit(DATASET, epochs=1)
    composed = ComposedModel(embedder, [pretrainer_a.model, pretrainer_b.model])
    x = prep.string_to_array("cclm is neat", prep.max_example_len)
    assert x.shape == (1, prep.max_example_len)
    emb = composed.model(x)
    assert tuple(emb.shape) == (1, prep.max_example_len, 16 + 8)
    np.testing.assert_allclose(emb[..., :16], pretrainer_a.model(embedder(x)), rtol=1e-5, atol=1e-6)

    shelf = Shelf.init(tmp_path / "shelf.git", cache_dir=tmp_path / "cache")
    shelf.publish(prep, "neat", version="0.2.1")
    cache_dir, identifier, item_type = ".cclm", "neat", "preprocessor"
    shelf.fetch(identifier, item_type, tag="v0.2.1", cache_dir=cache_dir)
    loaded = Preprocessor(load_from=os.path.join(cache_dir, identifier, item_type, "cclm_config.json"))
    np.testing.assert_array_equal(loaded.string_to_array("cclm is neat", loaded.max_example_len), x)


def test_preprocessor_defaults_serve_every_pretrainer_and_the_embedder():
    prep = Preprocessor()
    assert (prep.max_example_len, prep.downsample_factor) == (256, 4)
    prep.fit(DATASET, progress=False)
    embedder = Embedder(prep.max_example_len, prep.n_chars, hidden_dim=8, num_blocks=1)
    small = {"hidden_dim": 8, "num_layers": 1, "num_heads": 2, "intermediate_dim": 8}
    mlm = MaskedLanguagePretrainer(embedder=embedder, preprocessor=prep, tower_options=small, name="m")
    mlm.fit(DATASET, steps_per_epoch=1, verbose=0)
    labels = ["short" if len(t) < 20 else "long" for t in DATASET]
    topic = CategoricalPretrainer(
        embedder=embedder, preprocessor=prep, train_embedder=False, tower_options=small, name="t"
    )
    topic.fit((DATASET, labels), steps_per_epoch=1, verbose=0)
    student = DistillationPretrainer(teacher=mlm, tower_options=small, name="s")
    student.fit(DATASET, steps_per_epoch=1, verbose=0)
    composed = ComposedModel(embedder, [mlm.model, topic.model, student.model], preprocessor=prep)
    assert composed.output_dim == 24


def test_an_old_positional_embedder_call_is_refused_not_misread():
    with pytest.raises(TypeError, match="Embedder\\(max_length, vocab_size\\)"):
        Embedder(120)  # the old Embedder(vocab_size): now max_length, and no vocab_size
    with pytest.raises(ValueError, match="vocab_size=0"):
        Embedder(256, 0)


def test_pretrainer_model_is_the_tower_and_training_model_trains_it():
    prep = Preprocessor(sequence_length=32).fit(DATASET, progress=False)
    mlm = MaskedLanguagePretrainer(preprocessor=prep, tower_options={"hidden_dim": 8, "num_heads": 2}, name="m")
    assert mlm.model is mlm.tower
    assert mlm.training_model.name == "m_training_model"
    assert mlm.tower in mlm.training_model.layers


def test_load_from_takes_no_other_argument(tmp_path):
    path = Preprocessor().fit(DATASET, progress=False).save(tmp_path / "prep")
    with pytest.raises(ValueError, match="lowercase"):
        Preprocessor(lowercase=True, load_from=path)
    assert Preprocessor(load_from=path).vocab_size == Preprocessor.load(path).vocab_size
