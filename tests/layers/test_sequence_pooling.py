import keras
import numpy as np
import pytest

from cclm.layers import SequencePooling


@pytest.mark.parametrize("pooling", ["max", "mean", "cls"])
def test_padding_never_changes_the_pooled_vector(pooling):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3, 10, 4)).astype("float32")
    mask = np.arange(10)[None, :] < np.array([[10], [4], [1]])
    noisy = np.where(mask[:, :, None], vectors, 1e6)  # huge values where padding is
    layer = SequencePooling(pooling)
    np.testing.assert_allclose(layer(vectors, mask=mask), layer(noisy, mask=mask), rtol=1e-6)
    expected = {
        "max": [v[m].max(axis=0) for v, m in zip(vectors, mask)],
        "mean": [v[m].mean(axis=0) for v, m in zip(vectors, mask)],
        "cls": vectors[:, 0],
    }[pooling]
    np.testing.assert_allclose(layer(vectors, mask=mask), np.array(expected), rtol=1e-5)


def test_an_empty_text_pools_to_zeros_and_the_mask_ends_here():
    vectors = np.ones((1, 4, 2), "float32")
    mask = np.zeros((1, 4), bool)
    for pooling in ("max", "mean"):
        np.testing.assert_array_equal(SequencePooling(pooling)(vectors, mask=mask), np.zeros((1, 2)))
    ids = keras.Input((None,), dtype="int32")
    pooled = SequencePooling("mean")(keras.layers.Embedding(10, 2, mask_zero=True)(ids))
    assert getattr(pooled, "_keras_mask", None) is None


def test_config_round_trip_and_bad_pooling():
    layer = SequencePooling("cls")
    assert SequencePooling.from_config(layer.get_config()).pooling == "cls"
    with pytest.raises(ValueError, match="pooling='sum'"):
        SequencePooling("sum")
