"""The starter shelf that ships in the package: it verifies, loads, composes, runs no git and refuses tampering."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from cclm import ComposedModel, Embedder, Preprocessor, Shelf, load_component
from cclm.errors import ChecksumMismatchError, PublishError, ShelfLookupError
from cclm.pretraining import MaskedLanguagePretrainer
from cclm.shelf.starter import STARTER_DIR, StarterShelf, is_starter_identifier

IDENTIFIERS = {
    "starter": "preprocessor", "starter-embedder": "embedder", "starter-contrastive": "contrastive_pretrainer",
    "starter-multilingual": "masked_language_pretrainer", "starter-code": "masked_language_pretrainer",
    "starter-student": "distillation_pretrainer", "starter-meaning": "meaning_pretrainer",
}
TOWERS = ("starter-contrastive", "starter-multilingual", "starter-code", "starter-student")


@pytest.fixture
def starter(tmp_path):
    return StarterShelf(cache_dir=tmp_path / "cache")


@pytest.fixture
def copied(tmp_path):
    """A copy of the starter shelf to tamper with."""
    root = tmp_path / "starter_shelf"
    shutil.copytree(STARTER_DIR, root)
    return StarterShelf(root, cache_dir=tmp_path / "cache")


def test_it_ships_every_component_under_48_mb_with_cards(starter):
    entries = starter.list()
    assert {(e.identifier, e.item_type) for e in entries} == set(IDENTIFIERS.items())
    assert sum(e.size for e in entries) <= 48_000_000
    assert all(e.size <= 32_000_000 for e in entries)  # the meaning tower's table is the largest
    assert starter.verify() == []
    for entry in entries:
        card = starter.card(entry.identifier)
        assert card.startswith("---\n") and "library_name: cclm" in card
        for section in ("## Trained on", "## Intended uses", "## Limitations", "## Metrics"):
            assert section in card, (entry.identifier, section)
        if entry.identifier == "starter-meaning":  # English meaning: measured on the English tasks, beside its teacher
            assert "held-out texts left in the corpus: 0" in card and "Apache-2.0" in card
            assert "fewshot topic cclm clean" in card and "fewshot package teacher 10% typos" in card
            continue
        assert "held-out texts left in the corpora: 0" in card
        assert "fewshot language cclm clean" in card and "fewshot code tfidf 10% typos" in card


def test_every_version_verifies_loads_and_the_towers_compose(starter):
    loaded = {identifier: starter.load(identifier) for identifier in IDENTIFIERS}
    preprocessor, embedder = loaded["starter"], loaded["starter-embedder"]
    assert isinstance(preprocessor, Preprocessor) and isinstance(embedder, Embedder)
    texts = ["Datei nicht gefunden", "Файл не найден", "Το αρχείο δεν βρέθηκε", "def f(x):\n    return x"]
    assert preprocessor.decode(preprocessor.encode(texts)) == texts  # Latin, Cyrillic, Greek: no unknown ids
    composed = ComposedModel(embedder, [loaded[t] for t in TOWERS], preprocessor=preprocessor)
    vectors = np.asarray(composed(texts))
    assert vectors.shape[0] == 4 and np.isfinite(vectors).all()
    assert vectors.shape[-1] == sum(loaded[t].tower.output_dim for t in TOWERS)
    # A second fetch comes from the cache, checked file by file, the same directory.
    assert starter.fetch("starter-code") == starter.fetch("starter-code", "masked_language_pretrainer", "1.1.0")


def test_your_own_tower_on_the_starter_embedder_composes_with_starter_towers(starter, tmp_path):
    preprocessor, embedder = starter.load("starter"), starter.load("starter-embedder")
    mine = MaskedLanguagePretrainer(embedder=embedder, preprocessor=preprocessor, train_embedder=False, batch_size=4,
                                    tower_options={"hidden_dim": 16, "num_layers": 1, "num_heads": 2,
                                                   "intermediate_dim": 32}, seed=0, name="mine")
    mine.fit(["release notes of my project", "another line of them"] * 4, epochs=1, steps_per_epoch=2, verbose=0)
    composed = ComposedModel(embedder, [starter.load("starter-contrastive"), mine], preprocessor=preprocessor)
    assert np.asarray(composed(["a text"])).shape[-1] == starter.load("starter-contrastive").tower.output_dim + 16
    other = Embedder(preprocessor.max_example_len, preprocessor.vocab_size, hidden_dim=embedder.hidden_dim, num_blocks=1)
    with pytest.raises(ValueError, match="trained on a different embedder"):
        ComposedModel(other, [starter.load("starter-contrastive")], preprocessor=preprocessor)


def test_a_tampered_archive_is_refused_and_nothing_is_cached(copied):
    entry = copied.info("starter-contrastive")
    archive = copied.root / entry.archive_path
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatchError, match="reinstall cclm"):
        copied.fetch("starter-contrastive")
    assert not (copied.cache_dir / "objects" / entry.sha256).exists()
    assert [problem for problem in copied.verify() if "starter-contrastive" in problem]
    assert copied.fetch("starter").is_dir()  # the others still fetch


def test_a_catalog_entry_that_names_other_bytes_is_refused(copied):
    entry = copied.info("starter-code")
    path = copied.root / entry.entry_path
    fields = json.loads(path.read_text())
    fields["sha256"] = "0" * 64
    path.write_text(json.dumps(fields))
    with pytest.raises(ChecksumMismatchError, match="catalog"):
        copied.fetch("starter-code")


def test_a_damaged_cached_copy_is_unpacked_again(starter):
    directory = starter.fetch("starter")
    manifest = directory / "manifest.json"
    original = manifest.read_bytes()
    manifest.write_text("{}")
    assert starter.fetch("starter") == directory and manifest.read_bytes() == original


def test_shelves_serve_starter_identifiers_with_no_git_and_refuse_to_publish_them(tmp_path, monkeypatch):
    # No git on PATH and a shelf remote that does not exist: starter versions still fetch and load.
    code = ("import sys; from cclm import Shelf, load_component; "
            f"shelf = Shelf({str(tmp_path / 'missing.git')!r}, cache_dir={str(tmp_path / 'cache')!r}); "
            "print(type(load_component(shelf.fetch('starter-student'))).__name__); "
            "print(shelf.info('starter').version, shelf.versions('starter-code')); "
            "assert 'git' not in sys.modules, 'GitPython was imported'")
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[:2] == ["DistillationPretrainer", "1.1.0 ['1.1.0']"]
    assert is_starter_identifier("starter-x") and not is_starter_identifier("starters")
    shelf = Shelf(tmp_path / "missing.git", cache_dir=tmp_path / "cache")
    with pytest.raises(PublishError, match="reserved for the starter components"):
        shelf.publish(tmp_path, "starter-contrastive")
    with pytest.raises(ShelfLookupError, match="starter-contrastive"):
        shelf.fetch("starter-nothing")
    monkeypatch.setenv("CCLM_CACHE", str(tmp_path / "default-cache"))
    assert load_component("shelf:starter-embedder@1.1.0").hidden_dim > 0
