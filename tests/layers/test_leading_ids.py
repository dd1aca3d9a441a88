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
