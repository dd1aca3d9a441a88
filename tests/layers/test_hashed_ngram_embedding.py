import keras
import numpy as np
import pytest

from cclm.layers.hashed_ngram_embedding import HashedNgramEmbedding


def test_the_same_ngrams_give_the_same_vector_wherever_they_end():
    layer = HashedNgramEmbedding(buckets=512, output_dim=8, max_n=3)
    ids = np.array([[5, 6, 7, 8, 0, 0], [9, 9, 6, 7, 8, 0]], "int32")
    vectors = layer(ids).numpy()
    np.testing.assert_allclose(vectors[0, 3], vectors[1, 4])  # "78" and "678" end at both
    assert not np.allclose(vectors[0, 1], vectors[1, 3])  # "56" after the start vs "67" after a 9
    rows = layer.bucket_ids(ids).numpy()
    assert rows.shape == (2, 6, 2) and rows.min() >= 0 and rows.max() < 512
    # Rows depend on the ids alone: a new layer hashes identically.
    np.testing.assert_array_equal(HashedNgramEmbedding(buckets=512, output_dim=8, max_n=3).bucket_ids(ids), rows)


def test_it_saves_in_keras_format_and_checks_its_arguments(tmp_path):
    inputs = keras.Input((None,), dtype="int32")
    model = keras.Model(inputs, HashedNgramEmbedding(buckets=64, output_dim=4, max_n=4)(inputs))
    ids = np.array([[3, 4, 5, 6]], "int32")
    model.save(tmp_path / "ngrams.keras")
    again = keras.saving.load_model(tmp_path / "ngrams.keras")
    np.testing.assert_allclose(again(ids), model(ids))
    assert again.layers[-1].get_config()["max_n"] == 4
    with pytest.raises(ValueError, match="max_n=1"):
        HashedNgramEmbedding(max_n=1)
