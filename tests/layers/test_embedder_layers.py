"""PositionEmbedding, ResidualConvBlock and GlobalBroadcast: shapes, masking, configs."""

import keras
import numpy as np
import pytest

from cclm.layers import GlobalBroadcast, PositionEmbedding, ResidualConvBlock
from cclm.layers.global_broadcast import masked_max


def padded_batch():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(2, 6, 8)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=bool)
    return values, mask


@pytest.mark.parametrize(
    "layer",
    [PositionEmbedding(max_length=16), ResidualConvBlock(hidden_dim=8, kernel_size=3), GlobalBroadcast(hidden_dim=8)],
    ids=["position", "conv_block", "broadcast"],
)
def test_shape_and_config_round_trip(layer):
    values, _ = padded_batch()
    output = layer(values)
    assert output.shape == values.shape
    clone = type(layer).from_config(layer.get_config())
    clone(values)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(values), output, rtol=1e-6)
    assert keras.saving.get_registered_object(f"cclm>{type(layer).__name__}") is type(layer)


@pytest.mark.parametrize(
    "layer", [ResidualConvBlock(hidden_dim=8, kernel_size=3), GlobalBroadcast(hidden_dim=8)], ids=["conv_block", "broadcast"]
)
def test_padding_never_leaks_into_real_positions(layer):
    values, mask = padded_batch()
    changed = values.copy()
    changed[0, 3:] = 1000.0  # garbage in the padding of the first row
    first = np.asarray(layer(values, mask=mask))
    second = np.asarray(layer(changed, mask=mask))
    np.testing.assert_allclose(first[0, :3], second[0, :3], rtol=1e-5, atol=1e-6)
    assert np.abs(second[0, 3:]).max() == 0.0  # padding comes out as zeros


def test_masked_max_ignores_padding_and_empty_rows_pool_to_zero():
    values = np.array([[[1.0], [5.0], [9.0]], [[2.0], [3.0], [4.0]]], dtype="float32")
    mask = np.array([[True, True, False], [False, False, False]])
    assert np.asarray(masked_max(values, mask)).tolist() == [[5.0], [0.0]]


def test_position_embedding_rejects_too_long_sequences():
    with pytest.raises(ValueError, match="exceed max_length=4"):
        PositionEmbedding(max_length=4)(np.zeros((1, 5, 2), "float32"))
