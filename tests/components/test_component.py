import json

import numpy as np
import pytest

from cclm import Preprocessor, load_component, read_manifest
from cclm.components import ComponentError, fingerprint, registered_kinds, to_json_value, write_directory


@pytest.fixture()
def saved(tmp_path):
    return Preprocessor().fit(["some text"], progress=False).save(tmp_path / "prep")


def test_manifest_holds_versions_config_and_shapes(saved):
    manifest = read_manifest(saved)
    for key in ("kind", "name", "library_version", "keras_version", "tensorflow_version", "config", "inputs", "outputs"):
        assert key in manifest
    # "e" and "t" occur twice; ties are broken by code point.
    assert manifest["config"]["characters"] == ["e", "t", " ", "m", "o", "s", "x"]


def test_failed_write_leaves_the_old_component_and_no_temporary_files(saved):
    before = (saved / "manifest.json").read_text()

    def failing_payload(directory):
        (directory / "partial").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_directory(saved, failing_payload)
    assert (saved / "manifest.json").read_text() == before
    assert sorted(p.name for p in saved.parent.iterdir()) == ["prep"]


def test_overwrite_rules(tmp_path, saved):
    prep = Preprocessor().fit(["other text"], progress=False)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        prep.save(saved, overwrite=False)
    prep.save(saved)  # replacing a component is fine
    assert Preprocessor.load(saved).characters == prep.characters
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("do not delete")
    with pytest.raises(FileExistsError, match="not a cclm component"):
        prep.save(precious)
    assert (precious / "thesis.txt").read_text() == "do not delete"
    for name in ("model.keras", "weights.h5"):  # a Keras file's name is not a component directory
        with pytest.raises(ValueError, match="names a Keras file.*give a directory name"):
            prep.save(tmp_path / name)
        assert not (tmp_path / name).exists()


def test_unknown_kind_is_refused_and_nothing_runs(saved):
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["kind"] = "builtins.eval"
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ComponentError, match="does not know.*Nothing from it was loaded"):
        load_component(saved)
    assert "builtins.eval" not in registered_kinds()


def test_truncated_manifest_and_missing_directory(tmp_path, saved):
    text = (saved / "manifest.json").read_text()
    (saved / "manifest.json").write_text(text[: len(text) // 2])
    with pytest.raises(ComponentError, match="damaged or truncated"):
        load_component(saved)
    with pytest.raises(ComponentError, match="is not a directory"):
        load_component(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ComponentError, match="no manifest.json"):
        load_component(tmp_path / "empty")


def test_newer_format_asks_for_an_upgrade(saved):
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["format_version"] = 99
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ComponentError, match="Upgrade cclm"):
        load_component(saved)


def test_fingerprint_depends_on_config_and_every_weight_bit():
    weights = [np.ones((2, 2), "float32")]
    base = fingerprint({"a": 1}, weights)
    assert base == fingerprint({"a": 1}, [np.ones((2, 2), "float32")])
    assert base != fingerprint({"a": 2}, weights)
    changed = [np.nextafter(weights[0], 2)]
    assert base != fingerprint({"a": 1}, changed)


def test_numpy_values_become_plain_json():
    value = to_json_value({"n": np.int64(3), "x": np.float32(0.5), "a": np.arange(2), "t": (1, 2)})
    assert json.loads(json.dumps(value)) == {"n": 3, "x": 0.5, "a": [0, 1], "t": [1, 2]}


def test_model_card_says_what_it_was_trained_on(saved):
    card = (saved / "README.md").read_text()
    assert "1 texts, 9 characters" in card and "## Metrics" in card
