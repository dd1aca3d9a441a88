"""TransformerBlock and DownsamplingTransformer: lengths, masks, configs, gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from cclm.models.embedder import Embedder
from cclm.layers import DownsamplingTransformer, TransformerBlock


@pytest.fixture(scope="module")
def embedder():
    keras.utils.set_random_seed(0)
    return Embedder(vocab_size=30, hidden_dim=16, num_blocks=1, max_length=64)


def small_tower(**kwargs):
    options = dict(hidden_dim=32, output_dim=24, num_layers=2, num_heads=4, downsample_factor=4, max_length=64, dropout=0.0)
    return DownsamplingTransformer(**{**options, **kwargs})


IDS = np.array([[5, 6, 7, 8, 9, 10, 11, 0], [5, 6, 0, 0, 0, 0, 0, 0]], dtype="int32")


def test_output_is_aligned_per_character_and_keeps_the_mask(embedder):
    output = small_tower()(embedder(IDS))
    assert tuple(output.shape) == (2, 8, 24)
    np.testing.assert_array_equal(np.asarray(output._keras_mask), IDS != 0)
    assert np.abs(np.asarray(output)[IDS == 0]).max() == 0.0


def test_trailing_padding_does_not_change_real_positions(embedder):
    tower = small_tower()
    short = np.asarray(tower(embedder(IDS)))
    longer = np.asarray(tower(embedder(np.pad(IDS, [[0, 0], [0, 16]]))))
    np.testing.assert_allclose(longer[:, :8], short, atol=1e-5)


def test_attention_ignores_padded_positions():
    block = TransformerBlock(hidden_dim=8, num_heads=2, intermediate_dim=16)
    values = np.random.default_rng(0).normal(size=(1, 6, 8)).astype("float32")
    mask = np.array([[True, True, True, False, False, False]])
    changed = values.copy()
    changed[0, 3:] = 50.0
    np.testing.assert_allclose(
        np.asarray(block(values, mask=mask))[0, :3], np.asarray(block(changed, mask=mask))[0, :3], atol=1e-5
    )


def test_lengths_must_fit_the_downsample_factor(embedder):
    with pytest.raises(ValueError, match="downsample_factor=4"):
        small_tower()(embedder(np.ones((1, 6), "int32")))
    with pytest.raises(ValueError, match="not a multiple"):
        DownsamplingTransformer(downsample_factor=3, max_length=64)
    with pytest.raises(ValueError, match="num_heads=3"):
        TransformerBlock(hidden_dim=8, num_heads=3, intermediate_dim=8)


@pytest.mark.parametrize("layer_factory", [small_tower, lambda: TransformerBlock(16, 2, 32)], ids=["tower", "block"])
def test_config_round_trip_gives_the_same_outputs(embedder, layer_factory):
    layer = layer_factory()
    vectors = embedder(IDS)
    expected = np.asarray(layer(vectors))
    clone = type(layer).from_config(layer.get_config())
    clone(vectors)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(clone(vectors)), expected, atol=1e-6)


def test_every_weight_gets_a_gradient(embedder):
    tower = small_tower()
    vectors = embedder(IDS)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tower(vectors) ** 2)
    gradients = tape.gradient(loss, tower.trainable_weights)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in gradients)
