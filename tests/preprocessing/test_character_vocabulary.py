import numpy as np
import pytest

from cclm.preprocessing.character_vocabulary import CharacterVocabulary
from cclm.preprocessing.special_ids import FIRST_CHARACTER_ID, UNKNOWN_ID


def counts_of(text: str) -> np.ndarray:
    counts = np.zeros(0x110000, dtype=np.int64)
    np.add.at(counts, [ord(c) for c in text], 1)
    return counts


def test_ids_follow_frequency_then_code_point():
    vocabulary = CharacterVocabulary.from_counts(counts_of("bbbaaccd"))
    assert vocabulary.characters == ("b", "a", "c", "d")
    lookup = vocabulary.ids_for_code_points(np.array([ord("b"), ord("d"), ord("z")]))
    assert lookup.tolist() == [FIRST_CHARACTER_ID, FIRST_CHARACTER_ID + 3, UNKNOWN_ID]


def test_min_count_and_max_characters():
    counts = counts_of("aaaabbbccd")
    assert CharacterVocabulary.from_counts(counts, min_count=2).characters == ("a", "b", "c")
    assert CharacterVocabulary.from_counts(counts, max_characters=2).characters == ("a", "b")


def test_surrogates_unassigned_and_replacement_never_get_ids():
    vocabulary = CharacterVocabulary.from_counts(counts_of("a\ud800\u0378\ufffd"))
    assert vocabulary.characters == ("a",)
    with pytest.raises(ValueError, match="U\\+0378"):
        CharacterVocabulary(["\u0378"])


def test_lowercase_folds_onto_lowercase_ids_including_kelvin_sign():
    vocabulary = CharacterVocabulary.from_counts(counts_of("KkK\u212a"), lowercase=True)
    assert vocabulary.characters == ("k",)
    ids = vocabulary.ids_for_code_points(np.array([ord("K"), ord("k"), 0x212A]))
    assert ids.tolist() == [FIRST_CHARACTER_ID] * 3


def test_code_points_beyond_the_table_are_unknown():
    vocabulary = CharacterVocabulary(["a"])
    assert vocabulary.ids_for_code_points(np.array([0x10FFFF, 0])).tolist() == [UNKNOWN_ID] * 2


def test_bad_characters_are_refused():
    with pytest.raises(ValueError, match="single character"):
        CharacterVocabulary(["ab"])
    with pytest.raises(ValueError, match="duplicates"):
        CharacterVocabulary(["a", "a"])
