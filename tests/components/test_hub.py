"""`hf://` references, read offline from the Hugging Face Hub's own cache layout, and the card's Hub metadata.

No test here reaches the Hub: the cache is laid out as `huggingface_hub` writes it
(`models--owner--repo/refs/<revision>` naming a commit, `snapshots/<commit>/...`)
and the library runs in its offline mode, as it does for a user with `HF_HUB_OFFLINE=1`.
"""

import huggingface_hub
import pytest
from huggingface_hub import ModelCard

from cclm import Preprocessor, load_component
from cclm.components.hub import hub_path, parse_hub_reference
from cclm.errors import ComponentError

COMMITS = {"main": "a" * 40, "v1.0.0": "b" * 40}


@pytest.fixture()
def hub_cache(tmp_path, monkeypatch):
    """A Hub cache holding someone/langid at two revisions, each with a saved preprocessor in `prep/`."""
    cache = tmp_path / "hub"
    repo = cache / "models--someone--langid"
    for revision, commit in COMMITS.items():
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / revision).write_text(commit)
        Preprocessor(sequence_length=16).fit([f"text of {revision}"], progress=False).save(
            repo / "snapshots" / commit / "prep")
    (repo / "snapshots" / COMMITS["main"] / "notes").mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_a_reference_names_a_repository_a_folder_and_a_revision():
    assert parse_hub_reference("someone/langid/prep@v1.0.0") == ("someone/langid", "prep", "v1.0.0")
    assert parse_hub_reference("someone/langid/a/b") == ("someone/langid", "a/b", None)
    for bad in ("langid", "someone/langid/../x", "someone/langid@", "/x/y"):
        with pytest.raises(ValueError, match="is not a Hub reference"):
            parse_hub_reference(bad)


def test_components_load_from_the_hub_cache_at_a_pinned_revision(hub_cache):
    newest = load_component("hf://someone/langid/prep")
    pinned = Preprocessor.load("hf://someone/langid/prep@v1.0.0")
    assert "m" in newest.characters and "m" not in pinned.characters  # "main" vs "v1.0.0"
    assert hub_path("someone/langid/prep@" + COMMITS["v1.0.0"]) == hub_cache / "models--someone--langid" / \
        "snapshots" / COMMITS["v1.0.0"] / "prep"
    with pytest.raises(ComponentError, match="hf://someone/langid/prep@v9 could not be fetched.*offline"):
        load_component("hf://someone/langid/prep@v9")
    with pytest.raises(ComponentError, match="holds no cclm component \\(manifest.json is missing in notes\\)"):
        load_component("hf://someone/langid/notes")


def test_every_saved_card_carries_the_hubs_metadata(tmp_path):
    prep = Preprocessor(sequence_length=16).fit(["hello"], progress=False)
    prep.card.update({"datasets": ["someone/greetings"], "license": "mit"})
    card = ModelCard.load(prep.save(tmp_path / "prep") / "README.md")
    assert card.data.library_name == "cclm" and "preprocessor" in card.data.tags
    assert card.data.datasets == ["someone/greetings"] and card.data.license == "mit"
    assert "# " in card.text and "## Trained on" in card.text
