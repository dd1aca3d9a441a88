import json
import random
import unicodedata

import datasets
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cclm import Preprocessor, load_component, special_ids
from cclm.preprocessing.special_ids import CLS_ID, PAD_ID, UNKNOWN_ID


@pytest.fixture(scope="module")
def prep(docs_texts):
    return Preprocessor(sequence_length=None, downsample_factor=4).fit(docs_texts[:500], progress=False)


def test_fit_accepts_every_kind_of_data_and_ids_are_deterministic(tmp_path, docs_texts):
    texts = docs_texts[:200]
    shuffled = texts[:]
    random.Random(1).shuffle(shuffled)
    path = tmp_path / "docs.txt"
    path.write_text("\n".join(t.replace("\n", " ") for t in texts), encoding="utf-8")
    flat = [t.replace("\n", " ") for t in texts]
    dataset = datasets.Dataset.from_dict({"text": flat})
    reference = Preprocessor().fit(flat, progress=False).characters
    assert Preprocessor().fit(list(reversed(flat)), progress=False).characters == reference
    assert Preprocessor().fit(path, progress=False).characters == reference
    assert Preprocessor().fit(dataset, progress=False).characters == reference
    assert Preprocessor().fit(dataset.to_iterable_dataset(), progress=False).characters == reference
    assert Preprocessor().fit(shuffled, progress=False).characters == Preprocessor().fit(texts, progress=False).characters
    assert reference[0] == " "  # the most frequent character gets the first id


def test_min_char_count_and_max_chars():
    prep = Preprocessor(min_char_count=2).fit(["aab", "ac"], progress=False)
    assert prep.characters == ("a",)
    prep = Preprocessor(max_chars=2).fit(["aaabbc"], progress=False)
    assert prep.characters == ("a", "b")


def test_fit_on_empty_data_is_an_error():
    with pytest.raises(ValueError, match="no texts"):
        Preprocessor().fit([], progress=False)


def test_encode_shape_dtype_padding_and_multiple_of_downsample_factor(prep):
    ids = prep.encode(["def", "a longer text"])
    assert ids.dtype == np.int32
    assert ids.shape == (2, 16)  # 13 characters rounded up to a multiple of 4
    assert (ids[0, 3:] == PAD_ID).all() and (ids[0, :3] != PAD_ID).all()
    assert prep.encode(["def"], length=8).shape == (1, 8)
    with pytest.raises(ValueError, match="not a multiple of downsample_factor=4; use 12"):
        prep.encode(["def"], length=10)


def test_truncation_keeps_the_start(prep):
    ids = prep.encode(["abcdefghij"], length=4)
    assert prep.decode(ids) == ["abcd"]


def test_cls_comes_first_and_takes_one_position():
    prep = Preprocessor(add_cls=True, downsample_factor=2).fit(["abc"], progress=False)
    ids = prep.encode(["abc"], length=4)
    assert ids[0, 0] == CLS_ID
    assert prep.decode(ids) == ["abc"]
    assert prep.encode(["abcdef"], length=4)[0].tolist()[1:] == prep.encode(["abc"], length=4)[0].tolist()[1:]


def test_empty_strings_and_empty_batches(prep):
    ids = prep.encode(["", "ab"])
    assert (ids[0] == PAD_ID).all()
    assert prep.encode([]).shape == (0, 4)
    assert prep.encode([""]).shape == (1, 4)


def test_unknown_characters_are_unknown_never_padding_never_dropped(prep):
    texts = ["a\ud800b", "a\u0378b", "a\U0001f9ecb", "a\ufffdb", "a\x00b"]
    ids = prep.encode(texts, length=4)
    for row in ids:
        assert row[1] == UNKNOWN_ID, row
        assert row[2] == prep.encode(["b"], length=4)[0, 0]
        assert row[3] == PAD_ID


def test_normalization_makes_composed_and_decomposed_text_equal(prep, multilingual_texts):
    composed = [unicodedata.normalize("NFC", t) for t in multilingual_texts]
    decomposed = [unicodedata.normalize("NFD", t) for t in multilingual_texts]
    assert composed != decomposed
    assert np.array_equal(prep.encode(composed), prep.encode(decomposed))
    raw = Preprocessor(normalization=None).fit(composed, progress=False)
    assert not np.array_equal(raw.encode(composed), raw.encode(decomposed))


def test_lowercase_maps_case_pairs_to_one_id():
    prep = Preprocessor(lowercase=True).fit(["Hello WORLD", "Σίσυφος"], progress=False)
    assert "H" not in prep.characters and "h" in prep.characters
    assert np.array_equal(prep.encode(["HeLLo ΣΊΣΥΦΟΣ"]), prep.encode(["hello σίσυφοσ"]))


def test_character_id_is_the_id_encode_gives():
    prep = Preprocessor(lowercase=True, add_cls=True).fit(["Hello world", "Café"], progress=False)
    for character in "Hw é":
        assert prep.character_id(character) == prep.encode([character])[0, 1]
    assert prep.character_id("H") == prep.character_id("h")
    assert prep.character_id("e\u0301") == prep.character_id("é")  # NFC makes it one character
    assert prep.character_id("?") == UNKNOWN_ID
    with pytest.raises(ValueError, match="character='ab'; give one character"):
        prep.character_id("ab")


def test_decode_inverts_encode_for_vocabulary_text(docs_texts):
    texts = docs_texts[:50]
    prep = Preprocessor(sequence_length=None).fit(texts, progress=False)
    assert prep.decode(prep.encode(texts)) == texts
    assert prep.decode(prep.encode(texts)[0]) == texts[0]
    with pytest.raises(ValueError, match="must lie in"):
        prep.decode(np.array([[prep.vocab_size]]))


def test_string_to_array_keeps_the_original_api(prep):
    array = prep.string_to_array("hello", 8)
    assert array.shape == (1, 8) and np.array_equal(array, prep.encode(["hello"], length=8))
    with pytest.raises(TypeError, match="encode\\(texts\\)"):
        prep.string_to_array(["hello"], 8)


def test_defaults_serve_the_default_towers_and_the_original_names_work():
    prep = Preprocessor().fit(["hello world"], progress=False)
    assert (prep.sequence_length, prep.downsample_factor) == (256, 4)
    assert prep.max_example_len == 256 and prep.n_chars == prep.vocab_size
    assert prep.encode(["hi"]).shape == (1, 256)


@pytest.mark.parametrize("bad", [None, b"bytes", 7, ["nested"], {"a": 1}])
def test_bad_items_raise_type_errors_naming_the_index(prep, bad):
    with pytest.raises(TypeError, match=r"texts\[1\] is"):
        prep.encode(["ok", bad])


def test_bad_constructor_values_are_named():
    with pytest.raises(ValueError, match="normalization='NFX'"):
        Preprocessor(normalization="NFX")
    with pytest.raises(ValueError, match="downsample_factor=0"):
        Preprocessor(downsample_factor=0)
    with pytest.raises(ValueError, match="sequence_length=10 is not a multiple"):
        Preprocessor(sequence_length=10, downsample_factor=4)


def test_save_and_load_give_identical_encodings(tmp_path, multilingual_texts):
    prep = Preprocessor(
        sequence_length=64, downsample_factor=4, lowercase=True, add_cls=True,
        subword_model="wordpiece", subword_vocab_size=300,
    ).fit(multilingual_texts, progress=False)
    path = prep.save(tmp_path / "prep")
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "preprocessor" and manifest["format_version"] == 1
    assert manifest["vocab_size"] == prep.vocab_size
    assert "Trained on" in (path / "README.md").read_text(encoding="utf-8")
    loaded = Preprocessor.load(path)
    assert type(load_component(path)) is Preprocessor
    assert loaded.get_config() == prep.get_config()
    assert np.array_equal(loaded.encode(multilingual_texts), prep.encode(multilingual_texts))
    for mine, theirs in zip(loaded.encode_subwords(multilingual_texts), prep.encode_subwords(multilingual_texts)):
        assert np.array_equal(mine, theirs)


def test_config_with_numpy_values_still_saves(round_trip, tmp_path):
    # The original cclm failed with "int64 is not JSON serializable".
    prep = Preprocessor(sequence_length=np.int64(8), max_chars=np.int64(50)).fit(["abc"], progress=False)
    loaded = round_trip(prep, "prep")
    assert loaded.sequence_length == 8 and loaded.max_chars == 50


def test_subword_alignment_marks_whole_tokens(docs_texts):
    prep = Preprocessor(add_cls=True, subword_model="bpe", subword_vocab_size=500).fit(docs_texts[:300], progress=False)
    char_ids, token_ids, token_index = prep.encode_subwords(["the lambda expression"], length=32)
    assert char_ids.shape == token_ids.shape == token_index.shape == (1, 32)
    assert token_index[0, 0] == -1  # the cls position belongs to no token
    assert token_index[0, 1:4].tolist() == [0, 0, 0] and token_index[0, 4] == -1  # "the", then a space
    words = prep.subword_tokenizer.tokenizer.encode("the lambda expression").ids
    covered = token_ids[0][token_index[0] >= 0]
    assert set(covered.tolist()) == set(words)
    assert (char_ids[0][token_index[0] >= 0] != PAD_ID).all()


def test_encode_subwords_needs_a_tokenizer(prep):
    with pytest.raises(ValueError, match="subword_model='bpe'"):
        prep.encode_subwords(["text"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=40), max_size=8))
def test_any_unicode_encodes_to_valid_ids_that_decode_back(prep_texts):
    prep = _HYPOTHESIS_PREP
    ids = prep.encode(prep_texts)
    assert ids.shape[0] == len(prep_texts) and ids.shape[1] % 4 == 0
    assert ids.min(initial=0) >= 0 and ids.max(initial=0) < prep.vocab_size
    for text, row in zip(prep_texts, ids):
        normalized = unicodedata.normalize("NFC", text)
        assert (row[: len(normalized)] != PAD_ID).all()  # nothing vanishes into padding
        assert (row[len(normalized) :] == PAD_ID).all()
    decoded = prep.decode(ids, unknown="\x00") if prep_texts else []
    for text, back in zip(prep_texts, decoded):
        expected = "".join(c if c in prep.characters else "\x00" for c in unicodedata.normalize("NFC", text))
        assert back == expected


_HYPOTHESIS_PREP = Preprocessor(downsample_factor=4).fit(
    ["The quick brown fox, ünïcödé ñ 日本語 😀 עברית"], progress=False
)


def test_special_ids_are_named_and_come_before_characters(prep):
    assert (special_ids.PAD_ID, special_ids.UNKNOWN_ID, special_ids.MASK_ID) == (0, 1, 2)
    assert prep.encode([prep.characters[0]])[0, 0] == special_ids.FIRST_CHARACTER_ID
