"""The causal option of the embedder's and tower's layers: nothing reads a later position."""

import keras
import numpy as np
import pytest

from cclm.layers.downsampling_transformer import DownsamplingTransformer
from cclm.layers.global_broadcast import GlobalBroadcast
from cclm.layers.residual_conv_block import ResidualConvBlock
from cclm.layers.transformer_block import TransformerBlock
from cclm.models.embedder import Embedder

LAYERS = {
    "conv": lambda: ResidualConvBlock(8, kernel_size=3, causal=True),
    "broadcast": lambda: GlobalBroadcast(8, causal=True),
    "attention": lambda: TransformerBlock(8, 2, 16, causal=True),
    "downsampling by 4": lambda: DownsamplingTransformer(8, num_layers=1, num_heads=2, downsample_factor=4,
                                                         max_length=16, dropout=0.0, causal=True),
    "downsampling by 1": lambda: DownsamplingTransformer(8, num_layers=1, num_heads=2, downsample_factor=1,
                                                         max_length=16, dropout=0.0, causal=True),
}


@pytest.mark.parametrize("name", LAYERS)
def test_a_causal_layer_never_reads_ahead_and_its_config_says_so(name):
    keras.utils.set_random_seed(0)
    layer = LAYERS[name]()
    inputs = np.random.default_rng(0).normal(size=(1, 16, 8)).astype("float32")
    outputs = np.array(layer(inputs))
    for t in (0, 3, 4, 9, 14):
        changed = inputs.copy()
        changed[0, t + 1:] += 1.0
        np.testing.assert_allclose(np.array(layer(changed))[0, : t + 1], outputs[0, : t + 1], atol=1e-5)
    config = layer.get_config()
    assert config["causal"] is True and type(layer).from_config(config).causal


def test_the_default_stays_bidirectional_with_no_causal_key():
    layer = GlobalBroadcast(8)
    inputs = np.zeros((1, 4, 8), "float32")
    changed = inputs.copy()
    changed[0, 3] = 1.0
    assert not np.allclose(np.array(layer(inputs))[0, 0], np.array(layer(changed))[0, 0])  # position 0 sees 3
    assert "causal" not in layer.get_config()
    embedder = Embedder(vocab_size=10, max_length=8, hidden_dim=8, num_blocks=1)
    assert "causal" not in embedder.get_config()
    assert Embedder(vocab_size=10, max_length=8, hidden_dim=8, num_blocks=1, causal=True).get_config()["causal"]
