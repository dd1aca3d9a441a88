"""Shared fixtures: real text that ships with Python and with the test extra."""

from __future__ import annotations

import importlib
import os
import unicodedata

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Each pytest-xdist worker (one per core) runs TensorFlow on one thread, and so do the
    # processes its tests start: several TensorFlows each spreading over every core
    # spend their time contending (measured: the suite runs about 15% faster this way).
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

import pytest  # noqa: E402

from cclm.data.sample_text import python_docs_paragraphs  # noqa: E402

# Faker's word lists are real words; these locales cover right-to-left scripts
# (Hebrew, Arabic, Persian), combining marks (Thai, Bengali, and Vietnamese
# once decomposed), CJK, Greek, Cyrillic and Latin with diacritics.
LOCALES = ("he_IL", "ar_AA", "fa_IR", "th_TH", "bn_BD", "vi_VN", "zh_CN", "ja_JP", "el_GR", "ru_RU", "fr_FR")


def _multilingual_texts() -> list[str]:
    from faker.providers.emoji import Provider as Emoji

    emoji = list(Emoji.emojis)
    texts = []
    for locale in LOCALES:
        words = list(importlib.import_module(f"faker.providers.lorem.{locale}").Provider.word_list)
        for start in range(0, min(len(words), 240), 12):
            sentence = " ".join(words[start : start + 12])
            # Emoji, including ZWJ sequences and skin-tone modifiers, mid-text.
            texts.append(f"{sentence} {emoji[(start * 7) % len(emoji)]} {emoji[-1 - start]}.")
    return texts


@pytest.fixture(scope="session")
def multilingual_texts() -> list[str]:
    """Real words in 11 scripts with emoji; asserted to hold what the tests need."""
    texts = _multilingual_texts()
    categories = {unicodedata.category(c) for t in texts for c in t}
    bidi = {unicodedata.bidirectional(c) for t in texts for c in t}
    assert {"Mn", "Lo", "So"} <= categories  # combining marks, CJK/Thai letters, emoji
    assert {"R", "AL"} <= bidi  # Hebrew and Arabic right-to-left letters
    assert any("\u200d" in t for t in texts)  # a zero-width-joiner emoji sequence
    return texts


@pytest.fixture(scope="session")
def docs_texts() -> list[str]:
    """English prose and code from Python's own documentation."""
    return python_docs_paragraphs()


@pytest.fixture()
def round_trip(tmp_path):
    """`round_trip(component, name)`: saves it, checks the directory, loads it back with its class.

    The directory must hold a manifest of the component's kind and name and a
    model card, and `cclm.load_component` must pick the same class for it.
    """
    from cclm.components import CARD_NAME, component_class, read_manifest

    def save_and_load(component, name: str | None = None):
        path = component.save(tmp_path / (name or component.component_kind))
        manifest = read_manifest(path, kind=component.component_kind)
        assert manifest["name"] == component.name and (path / CARD_NAME).is_file()
        # What load_component dispatches on, without building the model a second time.
        assert component_class(manifest["kind"]) is type(component)
        return type(component).load(path)

    return save_and_load


# The longest files first (a minute or more each on 2 cores, measured with --durations). pytest-xdist
# (`--dist loadfile --no-loadscope-reorder`, pyproject.toml) hands whole files to the workers in
# collection order; without `--no-loadscope-reorder` it would order them by their number of tests,
# and a long one-test file would run alone at the end while the other worker idles.
LONGEST_FIRST = (
    "tests/scripts/test_train_starter.py", "tests/test_docs.py", "tests/pretraining/test_masked_language_pretrainer.py",
    "tests/training/test_distribution.py", "tests/cli/test_training_commands.py", "tests/test_examples.py",
    "tests/cli/test_cli.py", "tests/test_original_api.py", "tests/pretraining/test_distillation_pretrainer.py",
    "tests/benchmarks/", "tests/classification/test_text_classifier.py", "tests/models/test_composed_model.py",
    "tests/pretraining/test_categorical_pretrainer.py",
)


def pytest_collection_modifyitems(config, items):
    def rank(item):
        return next((i for i, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)), len(LONGEST_FIRST))

    items.sort(key=rank)  # stable: the order within a file, and of the other files, is kept
