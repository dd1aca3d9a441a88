import keras
import numpy as np
import pytest

from cclm import Preprocessor
from cclm.layers.word_ngrams import word_codes
from cclm.models.meaning_tower import MeaningTower


@pytest.fixture(scope="module")
def prep():
    return Preprocessor(sequence_length=32).fit(["The cat sat on the mat, the dog ran."], progress=False)


@pytest.fixture(scope="module")
def table():
    return np.random.default_rng(0).normal(size=(512, 8)).astype("float32")


def tower(prep, table, dtype, normalize=False):
    made = MeaningTower(word_codes(prep), buckets=512, output_dim=8, table_dtype=dtype, normalize=normalize,
                        name=f"meaning_{dtype}")
    made.set_table(table)
    return made


@pytest.mark.parametrize("dtype, tolerance", [("float16", 2e-3), ("int8", 2e-2)])
def test_compact_tables_give_the_vectors_of_the_full_one(prep, table, dtype, tolerance):
    ids = prep.encode(["the cat sat", "a dog ran on the mat"])
    full = tower(prep, table, "float32").text_vectors(ids).numpy()
    compact = tower(prep, table, dtype).text_vectors(ids).numpy()
    assert np.allclose(compact, full, atol=tolerance * np.abs(full).max())


def test_every_position_of_a_text_holds_its_vector_and_padding_holds_zeros(prep, table):
    made = tower(prep, table, "float32")
    ids = prep.encode(["the cat"])
    vectors = made(ids).numpy()[0]
    real = ids[0] != 0
    assert np.allclose(vectors[real], made.text_vectors(ids).numpy()[0]) and not vectors[~real].any()


@pytest.mark.parametrize("dtype", ["float16", "int8"])
def test_a_keras_file_round_trips_the_tower(prep, table, dtype, tmp_path):
    ids = keras.Input(shape=(None,), dtype="int32")
    model = keras.Model(ids, tower(prep, table, dtype)(ids))
    model.save(tmp_path / "meaning.keras")
    loaded = keras.saving.load_model(tmp_path / "meaning.keras")
    sample = prep.encode(["the dog sat on the cat"])
    assert np.array_equal(loaded(sample).numpy(), model(sample).numpy())


def test_a_table_of_the_wrong_shape_or_dtype_is_refused(prep, table):
    with pytest.raises(ValueError, match="table of shape"):
        tower(prep, table, "float32").set_table(table[:10])
    with pytest.raises(ValueError, match="table_dtype='bfloat8'"):
        MeaningTower(word_codes(prep), table_dtype="bfloat8")


def test_normalized_vectors_have_length_one_and_the_direction_of_the_mean(prep, table):
    ids = prep.encode(["the cat sat", "a dog ran on the mat", ""])  # the last has no word: its vector stays 0
    mean = tower(prep, table, "float32").text_vectors(ids).numpy()
    unit = tower(prep, table, "float32", normalize=True).text_vectors(ids).numpy()
    lengths = np.linalg.norm(mean, axis=1, keepdims=True)
    assert lengths[2] == 0 and not unit[2].any()
    np.testing.assert_allclose(unit[:2], mean[:2] / lengths[:2], atol=1e-6)


def test_normalize_is_off_by_default_and_saved_in_the_config(prep, table):
    assert MeaningTower(word_codes(prep), buckets=512, output_dim=8).normalize is False  # the plain mean
    made = MeaningTower(word_codes(prep), buckets=512, output_dim=8, normalize=True)
    assert made.get_config()["normalize"] is True and MeaningTower.from_config(made.get_config()).normalize
    before = {key: value for key, value in made.get_config().items() if key != "normalize"}
    assert MeaningTower.from_config(before).normalize is False  # configs saved before the option


def test_a_normalizing_tower_maps_each_texts_vector_and_the_map_round_trips(prep, table, tmp_path):
    made = tower(prep, table, "int8", normalize=True)
    kernel = np.random.default_rng(2).normal(size=(8, 3)).astype("float32")
    ids = prep.encode(["the cat sat", "a dog ran on the mat"])
    mapped = made.folded(kernel)
    assert type(mapped).__name__ == "MappedMeaning"
    np.testing.assert_allclose(mapped(ids), made.text_vectors(ids).numpy() @ kernel, atol=1e-5)
    inputs = keras.Input(shape=(None,), dtype="int32")
    keras.Model(inputs, mapped(inputs)).save(tmp_path / "mapped.keras")
    loaded = keras.saving.load_model(tmp_path / "mapped.keras")
    np.testing.assert_allclose(loaded(ids), mapped(ids), atol=1e-6)


def test_it_composes_only_with_a_preprocessor_that_gives_its_ids_the_same_characters(prep, table):
    from cclm import ComposedModel, Embedder

    shifted = "".join(chr(ord(c) + 1) if c.isalpha() else c for c in "The cat sat on the mat, the dog ran.")
    other = Preprocessor(sequence_length=32).fit([shifted], progress=False)  # as many characters, other letters
    assert other.vocab_size == prep.vocab_size and other.characters != prep.characters
    made = tower(prep, table, "float32")
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=8, num_blocks=1, max_length=32)
    assert ComposedModel(embedder, [made], preprocessor=prep).towers == [made]
    with pytest.raises(ValueError, match=r"reads \d+ of its \d+ ids as other characters .* preprocessor it was made"):
        ComposedModel(embedder, [made], preprocessor=other)
