"""The original cclm API works as its users wrote it: the import paths, the calls, the shelf."""

import os
import pathlib
import re
import runpy
import subprocess
import sys

import numpy as np
import pytest

from cclm.models import ComposedModel, Embedder
from cclm.preprocessing import Preprocessor
from cclm.pretraining import (
    CategoricalPretrainer,
    DistillationPretrainer,
    MaskedLanguagePretrainer,
)

README = pathlib.Path(__file__).parents[1] / "README.md"
SEED_SNIPPET_MARK = "pretrainer_a = MaskedLanguagePretrainer("


def seed_snippet() -> str:
    """The README's Python block that shows the original cclm API (tests/test_docs.py leaves it to this file)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    return next(block for block in blocks if SEED_SNIPPET_MARK in block)


DATASET = ["cclm is neat", "composable character-level models", "towers share one embedder"] * 12


# The original import paths, then normal use: it prints nothing unless asked (issue 47, item 18).
FRESH_PROCESS_USE = """
from cclm.preprocessing import Preprocessor
from cclm.models import Embedder, ComposedModel
from cclm.pretraining import MaskedLanguagePretrainer, CategoricalPretrainer, DistillationPretrainer
from cclm.shelf import Shelf

texts = ["cclm is neat", "towers share an embedder"] * 8
prep = Preprocessor(sequence_length=16)
prep.fit(texts)
embedder = Embedder(prep.max_example_len, prep.n_chars, hidden_dim=8, num_blocks=1)
small = {"hidden_dim": 8, "num_layers": 1, "num_heads": 2, "intermediate_dim": 8}
tower = MaskedLanguagePretrainer(embedder=embedder, preprocessor=prep, tower_options=small)
tower.fit(texts, steps_per_epoch=1)
ComposedModel(embedder, [tower.model], preprocessor=prep)(["cclm is neat"])
print("---asked---", flush=True)
tower.fit(texts, steps_per_epoch=1, verbose=1)
"""


def test_the_original_imports_work_in_a_fresh_process_and_use_is_quiet(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-c", FRESH_PROCESS_USE], capture_output=True, text=True, cwd=tmp_path,
                            env=env, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    quiet, asked = result.stdout.split("---asked---\n")
    # No TensorFlow start-up lines, no progress bars: nothing at all until verbose=1 asks.
    assert quiet == "" and result.stderr == "", (quiet, result.stderr)
    assert "1/1" in asked  # Keras' progress bar, when asked for


def test_the_seed_snippet_in_the_readme_runs_end_to_end(tmp_path, monkeypatch):
    """The README's block of the original API, run here once, with its results checked."""
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "readme_seed_snippet.py"
    script.write_text(seed_snippet(), encoding="utf-8")
    names = runpy.run_path(str(script), run_name="readme")
    prep, embedder, _composed, x, emb = (names[k] for k in ("prep", "embedder", "composed", "x", "emb"))
    assert (embedder.max_length, embedder.vocab_size) == (prep.sequence_length, prep.vocab_size)
    assert x.shape == (1, prep.max_example_len)
    assert tuple(emb.shape) == (1, prep.max_example_len, 16 + 8)
    tower_a = names["pretrainer_a"].model
    # One preprocessor fitted once, shared by both pretrainers (not fitted again by each), and
    # both pretrainers unnamed: Keras-style default names keep their towers apart.
    assert names["pretrainer_a"].preprocessor is names["pretrainer_b"].preprocessor
    assert names["pretrainer_a"].name != names["pretrainer_b"].name
    np.testing.assert_allclose(emb[..., :16], tower_a(embedder(x)), rtol=1e-5, atol=1e-6)
    # `prep` is now the one loaded from the shelf's cache, in the original cclm's layout.
    assert (tmp_path / ".cclm" / "neat" / "preprocessor").is_symlink()
    np.testing.assert_array_equal(prep.string_to_array("cclm is neat", prep.max_example_len), x)


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


def test_unnamed_pretrainers_get_unique_names_and_compose_as_in_the_original_readme():
    """The original README: `MaskedLanguagePretrainer(embedder=embedder)` twice, then both towers composed."""
    prep = Preprocessor(sequence_length=16).fit(DATASET, progress=False)
    embedder = Embedder(prep.max_example_len, prep.n_chars, hidden_dim=8, num_blocks=1)
    small = {"hidden_dim": 8, "num_layers": 1, "num_heads": 2, "intermediate_dim": 8}
    a = MaskedLanguagePretrainer(embedder=embedder, preprocessor=prep, tower_options=small)
    b = MaskedLanguagePretrainer(embedder=embedder, preprocessor=prep, tower_options=small)
    assert a.name != b.name and a.model.name != b.model.name
    assert a.name.startswith("masked_language_pretrainer") and b.name.startswith("masked_language_pretrainer")
    composed = ComposedModel(embedder, [a.model, b.model])
    assert composed.output_dim == 16
    named = MaskedLanguagePretrainer(embedder=embedder, preprocessor=prep, tower_options=small, name="mine")
    assert named.name == "mine"  # a name the user gave is kept as given
