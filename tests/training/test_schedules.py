import keras
import numpy as np
import pytest

from cclm.training.fit import make_optimizer
from cclm.training.schedules import WarmupInverseSquareRoot


def test_the_rate_rises_linearly_then_decays_as_one_over_the_square_root():
    schedule = WarmupInverseSquareRoot(2e-3, warmup_steps=10)
    rates = np.array([float(schedule(step)) for step in range(40)])
    np.testing.assert_allclose(rates[:10], 2e-3 * np.arange(1, 11) / 10, rtol=1e-5)
    np.testing.assert_allclose(rates[39], 2e-3 * np.sqrt(10 / 40), rtol=1e-5)
    assert rates.argmax() == 9
    again = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    assert isinstance(again, WarmupInverseSquareRoot) and again.get_config() == schedule.get_config()
    with pytest.raises(ValueError, match="warmup_steps=0"):
        WarmupInverseSquareRoot(1e-3, 0)


def test_make_optimizer_uses_it_with_warmup_steps():
    optimizer = make_optimizer("adamw", 1e-3, warmup_steps=100)
    assert isinstance(optimizer._learning_rate, WarmupInverseSquareRoot)
    assert not isinstance(make_optimizer("adamw", 1e-3)._learning_rate, WarmupInverseSquareRoot)
