import numpy as np
import pytest

from cclm import Preprocessor
from cclm.layers.word_ngrams import UNKNOWN_CODE, WordNgramBag, word_codes
from cclm.preprocessing import special_ids


@pytest.fixture(scope="module")
def prep():
    return Preprocessor().fit(["The cat sat, the Dog ran! 42 ÉTÉ été CAT"], progress=False)


def bag(prep, texts, length=32, **options):
    layer = WordNgramBag(word_codes(prep), buckets=2**16, **options)
    rows, weights = layer(prep.encode(texts, length))
    return np.asarray(rows), np.asarray(weights)


def word_rows(rows, weights, text):
    return sorted(rows[text][weights[text] > 0].tolist())


def test_word_codes_fold_case_and_separate_words_by_everything_but_letters_and_digits(prep):
    codes = word_codes(prep)
    assert codes[prep.character_id("T")] == codes[prep.character_id("t")] == ord("t")
    assert codes[prep.character_id("4")] == ord("4")
    assert codes[prep.character_id(" ")] == codes[prep.character_id(",")] == codes[special_ids.PAD_ID] == 0
    assert codes[special_ids.UNKNOWN_ID] == UNKNOWN_CODE


def test_each_texts_weights_sum_to_one_and_a_text_without_words_has_none(prep):
    rows, weights = bag(prep, ["the cat sat", "cat", ", ! ,", ""])
    assert np.allclose(weights.sum(axis=(1, 2)), [1, 1, 0, 0], atol=1e-6)


def test_a_word_reads_the_same_wherever_and_however_it_is_written(prep):
    rows, weights = bag(prep, ["cat", "  ,CAT!", "the cat", "cats"])
    assert word_rows(rows, weights, 0) == word_rows(rows, weights, 1)
    assert set(word_rows(rows, weights, 0)) < set(word_rows(rows, weights, 2))
    assert word_rows(rows, weights, 0) != word_rows(rows, weights, 3)  # "cat>" and the whole word differ


def test_n_grams_never_cross_a_word_boundary(prep):
    rows, weights = bag(prep, ["cat dog", "catdog"])
    apart = set(word_rows(rows, weights, 0))
    assert apart == set(word_rows(*bag(prep, ["cat"]), 0)) | set(word_rows(*bag(prep, ["dog"]), 0))
    assert apart != set(word_rows(rows, weights, 1))


@pytest.mark.parametrize("word, expected", [("a", 2), ("ab", 4), ("abcdefg", 7 + 6 + 5 + 1)])
def test_a_word_has_its_boundary_marked_n_grams_and_itself(word, expected):
    prep = Preprocessor().fit(["abcdefg"], progress=False)
    rows, weights = bag(prep, [word], min_n=3, max_n=5)
    # "<a>": one 3-gram and the word; "<ab>": two 3-grams, one 4-gram, the word; "<abcdefg>": 7 + 6 + 5 and the word.
    assert int((weights[0] > 0).sum()) == expected


def test_a_word_filling_the_whole_window_still_gets_its_closing_n_grams(prep):
    assert word_rows(*bag(prep, ["cats"], length=4), 0) == word_rows(*bag(prep, ["cats"], length=8), 0)


def test_the_layer_round_trips_its_config(prep):
    layer = WordNgramBag(word_codes(prep), buckets=99, min_n=2, max_n=4)
    again = WordNgramBag.from_config(layer.get_config())
    ids = prep.encode(["the cat sat"], 16)
    assert all(np.array_equal(a, b) for a, b in zip(layer(ids), again(ids)))


def test_bad_lengths_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="min_n <= max_n"):
        WordNgramBag([0, 0], min_n=4, max_n=3)
