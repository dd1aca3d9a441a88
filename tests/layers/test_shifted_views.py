import keras
import numpy as np
import pytest

from cclm.layers import ShiftedViews


def test_each_view_is_the_batch_shifted_by_its_index_and_cut_back():
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 30, size=(3, 8)).astype("int32")
    ids[1, 5:] = 0  # a shorter text: shifting drops only its padding
    views = np.asarray(ShiftedViews(views=4, fill_id=99)(ids))
    assert views.shape == (12, 8) and views.dtype == np.int32
    for shift in range(4):
        expected = np.concatenate([np.full((3, shift), 99), ids], axis=1)[:, :8]
        np.testing.assert_array_equal(views[3 * shift : 3 * (shift + 1)], expected)
    assert np.count_nonzero(views[3 * 3 + 1]) == 5 + 3  # the short text keeps every character


def test_a_cls_id_stays_first():
    ids = np.array([[3, 7, 8, 9]], "int32")
    views = np.asarray(ShiftedViews(views=3, fill_id=6, keep_first=1)(ids))
    np.testing.assert_array_equal(views, [[3, 7, 8, 9], [3, 6, 7, 8], [3, 6, 6, 7]])


def test_one_view_is_the_input_and_shapes_flow_through_keras():
    ids = np.array([[7, 8, 0, 0]], "int32")
    np.testing.assert_array_equal(ShiftedViews(views=1, fill_id=6)(ids), ids)
    symbolic = ShiftedViews(views=4, fill_id=6)(keras.Input((None,), dtype="int32"))
    assert tuple(symbolic.shape) == (None, None)
    assert ShiftedViews(views=4, fill_id=6).compute_output_shape((2, 16)) == (8, 16)


def test_config_round_trip_and_bad_values():
    layer = ShiftedViews(views=4, fill_id=6, keep_first=1, name="views")
    again = ShiftedViews.from_config(layer.get_config())
    assert (again.views, again.fill_id, again.keep_first, again.name) == (4, 6, 1, "views")
    with pytest.raises(ValueError, match="views=0"):
        ShiftedViews(views=0, fill_id=6)
    with pytest.raises(ValueError, match="keep_first=-1"):
        ShiftedViews(views=2, fill_id=6, keep_first=-1)
