"""`trim_vocabulary`: fewer ids, the same predictions on texts of kept characters, unknown for the rest."""

from __future__ import annotations

import numpy as np
import pytest

from cclm.compression import trim_vocabulary
from cclm.preprocessing import special_ids

KEPT_TEXTS = ["the cat sat", "Der Hund", "THE BIRD", "mat dog"]
INSIDE = ["the hat", "Der Hut", "BIRD cat", "sat on a mat"]  # only characters of KEPT_TEXTS


@pytest.fixture(scope="module")
def trimmed(tiny_classifier):
    return trim_vocabulary(tiny_classifier, KEPT_TEXTS)


def test_trimmed_classifier_predicts_as_the_original_on_kept_characters(tiny_classifier, trimmed):
    assert set("".join(INSIDE)) <= set("".join(KEPT_TEXTS))
    difference = np.abs(trimmed.predict(INSIDE) - tiny_classifier.predict(INSIDE)).max()
    assert difference <= 1e-5
    composed_difference = np.abs(trimmed.composed(INSIDE).numpy() - tiny_classifier.composed(INSIDE).numpy()).max()
    assert composed_difference <= 1e-5


def test_trimming_removes_embedding_rows_and_keeps_the_original(tiny_classifier, trimmed):
    kept = sorted(set("".join(KEPT_TEXTS)))
    assert sorted(trimmed.preprocessor.characters) == kept
    assert trimmed.composed.embedder.vocab_size == special_ids.FIRST_CHARACTER_ID + len(kept)
    assert trimmed.composed.embedder.count_params() < tiny_classifier.composed.embedder.count_params()
    assert tiny_classifier.preprocessor.vocab_size > trimmed.preprocessor.vocab_size  # the original is untouched
    assert trimmed.composed.towers[1].vocab_size == trimmed.preprocessor.vocab_size  # the meaning tower renumbered


def test_characters_not_kept_map_to_the_unknown_id(trimmed):
    ids = trimmed.preprocessor.encode(["Привет t"], length=8)[0]
    assert ids[:6].tolist() == [special_ids.UNKNOWN_ID] * 6 and ids[7] == trimmed.preprocessor.character_id("t")
    assert trimmed.predict(["Привет, мир! ¿Qué tal?"]).shape == (1, 2)  # unknown characters never crash


def test_trimmed_classifier_saves_and_loads_with_the_same_predictions(trimmed, round_trip):
    loaded = round_trip(trimmed)
    assert np.abs(loaded.predict(INSIDE) - trimmed.predict(INSIDE)).max() <= 1e-6


def test_trimming_a_preprocessor_alone_and_a_wrong_kind(tiny_classifier):
    prep = trim_vocabulary(tiny_classifier.preprocessor, ["abc"])
    assert prep.characters == tuple(c for c in tiny_classifier.preprocessor.characters if c in "abc")
    with pytest.raises(TypeError, match="trim ComposedModel"):
        trim_vocabulary(tiny_classifier.composed.embedder, ["abc"])
