"""Weights under a manifest they were not saved with are refused; a manifest without its fingerprint is flagged."""

from __future__ import annotations

import json
import shutil

import pytest

from cclm import load_component
from cclm.errors import ComponentError
from cclm.models.embedder import Embedder
from cclm.shelf.starter import StarterShelf


def _edit(directory, change):
    manifest = json.loads((directory / "manifest.json").read_text())
    change(manifest)
    (directory / "manifest.json").write_text(json.dumps(manifest))


def test_a_two_block_embedder_under_a_one_block_manifest_is_refused(tmp_path):
    saved = Embedder(64, 20, hidden_dim=8, num_blocks=2).save(tmp_path / "embedder")

    def one_block_no_fingerprint(manifest):
        manifest["config"]["num_blocks"] = 1
        del manifest["fingerprint"]

    _edit(saved, one_block_no_fingerprint)
    with pytest.raises(ComponentError, match="does not fit the model its manifest describes: 16 variables, "
                                             "the model has 10"):
        load_component(saved)


def test_a_missing_fingerprint_is_warned_about(tmp_path):
    saved = Embedder(64, 20, hidden_dim=8, num_blocks=1).save(tmp_path / "embedder")
    _edit(saved, lambda manifest: manifest.pop("fingerprint"))
    with pytest.warns(UserWarning, match="has no fingerprint"):
        assert load_component(saved).num_blocks == 1


def test_a_tower_under_a_shallower_manifest_is_refused(tmp_path):
    directory = shutil.copytree(StarterShelf(cache_dir=tmp_path / "cache").fetch("starter-contrastive"),
                                tmp_path / "contrastive")
    _edit(directory, lambda manifest: manifest["config"]["tower_options"].update(num_layers=1))
    with pytest.raises(ComponentError, match="does not fit the model its manifest describes"):
        load_component(directory)
