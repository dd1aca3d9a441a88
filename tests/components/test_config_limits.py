"""Every size-like number of every component kind is bounded before anything is built (real saved components)."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from cclm import load_component
from cclm.components.config_limits import size_limit
from cclm.errors import ComponentError
from cclm.shelf.starter import StarterShelf


def _size_fields(config, path=()):
    """(path, key) of every size-like number in a config, nested options included."""
    if isinstance(config, dict):
        for key, value in config.items():
            if isinstance(value, (dict, list)):
                yield from _size_fields(value, (*path, key))
            elif isinstance(value, int) and not isinstance(value, bool) and size_limit(key) is not None:
                yield (*path, key)


@pytest.fixture(scope="module")
def starters(tmp_path_factory):
    shelf = StarterShelf(cache_dir=tmp_path_factory.mktemp("cache"))
    return {entry.identifier: shelf.fetch(entry.identifier, entry.item_type) for entry in shelf.list()}


def test_every_size_field_of_every_kind_is_refused_past_its_limit_before_building(starters, tmp_path):
    kinds, started = set(), time.monotonic()
    for identifier, directory in starters.items():
        manifest = json.loads((directory / "manifest.json").read_text())
        fields = list(_size_fields(manifest["config"]))
        assert fields, identifier
        kinds.add(manifest["kind"])
        for field in fields:
            copy = tmp_path / f"{identifier}-{'-'.join(map(str, field))}"
            shutil.copytree(directory, copy)
            edited = json.loads((copy / "manifest.json").read_text())
            holder = edited["config"]
            for part in field[:-1]:
                holder = holder[part]
            holder[field[-1]] = size_limit(field[-1]) + 1
            (copy / "manifest.json").write_text(json.dumps(edited))
            with pytest.raises(ComponentError, match=f"sets {field[-1]}={size_limit(field[-1]) + 1}; use a positive "
                                                     f"int of at most {size_limit(field[-1]):,}"):
                load_component(copy)
    assert {"embedder", "preprocessor", "masked_language_pretrainer"} <= kinds
    assert time.monotonic() - started < 60  # refused from the manifest, not after building layers


def test_a_million_blocks_is_refused_at_once(starters, tmp_path):
    copy = shutil.copytree(starters["starter-embedder"], tmp_path / "embedder")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["config"]["num_blocks"] = 1_000_000
    (copy / "manifest.json").write_text(json.dumps(manifest))
    started = time.monotonic()
    with pytest.raises(ComponentError, match="num_blocks=1000000; use a positive int of at most 256"):
        load_component(copy)
    assert time.monotonic() - started < 5


def test_a_huge_manifest_is_refused_before_it_is_parsed(starters, tmp_path):
    copy = shutil.copytree(starters["starter"], tmp_path / "preprocessor")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["card"]["padding"] = [0] * 10_000_000  # 30 MB of JSON; a few hundred MB once parsed
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ComponentError, match="more than a manifest may be"):
        load_component(copy)


@pytest.mark.parametrize("key, value", [("max_n", 10**6), ("multiple", 10**9), ("margin", 10**9), ("buckets", 10**12),
                                        ("num_labels", 10**9), ("intermediate_dim", 10**7), ("num_heads", 10**5)])
def test_layer_options_nested_anywhere_in_a_config_are_bounded(key, value):
    from cclm.components.config_limits import check_config_sizes

    config = {"tower_options": {"layers": [{"class_name": "X", "config": {key: value}}]}}
    with pytest.raises(ComponentError, match=f"sets {key}={value}; use a positive int of at most"):
        check_config_sizes(config, "demo")
