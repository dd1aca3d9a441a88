import keras
import numpy as np
import pytest

from cclm.layers.leading_ids import LeadingIds


def test_it_keeps_the_first_positions_and_pads_shorter_ids():
    layer = LeadingIds(4)
    np.testing.assert_array_equal(layer(np.array([[1, 2, 3, 4, 5, 6]], "int32")), [[1, 2, 3, 4]])
    np.testing.assert_array_equal(layer(np.array([[1, 2], [3, 0]], "int32")), [[1, 2, 0, 0], [3, 0, 0, 0]])


def test_a_model_with_it_saves_and_loads_in_keras_format(tmp_path):
    ids = keras.Input(shape=(None,), dtype="int32")
    model = keras.Model(ids, LeadingIds(3, name="window")(ids))
    assert model.output.shape == (None, 3)
    model.save(tmp_path / "window.keras")
    again = keras.saving.load_model(tmp_path / "window.keras")
    assert again.get_layer("window").length == 3
    np.testing.assert_array_equal(again(np.array([[9, 8, 7, 6]], "int32")), [[9, 8, 7]])


@pytest.mark.parametrize("length", [0, 2.5, True])
def test_a_bad_length_is_named(length):
    with pytest.raises(ValueError, match=f"length={length!r}"):
        LeadingIds(length)


def test_with_multiple_it_trims_the_window_to_the_batch_and_a_margin():
    layer = LeadingIds(16, multiple=4, margin=2)
    ids = np.array([[1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0], [4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]], "int32")
    np.testing.assert_array_equal(layer(ids), ids[:, :8])  # 3 ids + 2 of margin, rounded up to 8
    np.testing.assert_array_equal(layer(ids[:, :5]), ids[:, :8])  # padded where the ids stop short
    assert np.asarray(layer(np.zeros((2, 12), "int32"))).shape == (2, 4)  # no text: one multiple
    assert np.asarray(layer(np.ones((1, 40), "int32"))).shape == (1, 16)  # never past `length`


def test_a_trimming_one_saves_and_loads_in_keras_format(tmp_path):
    ids = keras.Input(shape=(None,), dtype="int32")
    model = keras.Model(ids, LeadingIds(8, multiple=4, margin=1, name="window")(ids))
    assert model.output.shape == (None, None)
    model.save(tmp_path / "window.keras")
    again = keras.saving.load_model(tmp_path / "window.keras")
    assert (again.get_layer("window").multiple, again.get_layer("window").margin) == (4, 1)
    np.testing.assert_array_equal(again(np.array([[9, 8, 7, 0, 0, 0]], "int32")), [[9, 8, 7, 0]])
