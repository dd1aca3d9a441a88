import keras
import numpy as np
import pytest

from cclm.layers.logit_bias import LogitBias


def test_sharing_adds_the_variable_itself_and_saving_keeps_its_value(tmp_path):
    dense = keras.layers.Dense(3)
    dense.build((None, 2))
    layer = LogitBias.sharing(dense.bias, name="bias")
    logits = keras.Input(shape=(3,))
    model = keras.Model(logits, layer(logits))
    dense.bias.assign([1.0, 2.0, 3.0])  # the layer follows the variable it shares
    np.testing.assert_allclose(model(np.zeros((1, 3), "float32")), [[1.0, 2.0, 3.0]])
    assert [weight.path for weight in layer.weights] == [dense.bias.path]
    model.save(tmp_path / "bias.keras")
    again = keras.saving.load_model(tmp_path / "bias.keras")
    np.testing.assert_allclose(again(np.ones((1, 3), "float32")), [[2.0, 3.0, 4.0]])


@pytest.mark.parametrize("units", [0, 1.5, True])
def test_a_bad_unit_count_is_named(units):
    with pytest.raises(ValueError, match=f"units={units!r}"):
        LogitBias(units)
