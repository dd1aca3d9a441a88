import keras
import numpy as np
import pytest
import tensorflow as tf

from cclm.training.fit import build_optimizer, check_training_options, run_fit


def counting_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    traces = []
    step = model.train_step

    def counted(data):
        traces.append(1)  # Python runs here only while TensorFlow traces the step
        return step(data)

    model.train_step = counted  # picked up when Keras makes its train function
    return model, traces


def test_run_fit_traces_the_training_step_once():
    model, traces = counting_model()
    data = tf.data.Dataset.from_tensor_slices((np.ones((64, 4), "float32"), np.zeros(64, "int32"))).batch(16)
    history, seconds = run_fit(model, data, epochs=2, steps_per_epoch=None, validation=None, callbacks=None, verbose=0)
    # Keras alone creates the optimizer's variables inside the first trace, which makes
    # TensorFlow trace the step twice; run_fit builds them first.
    assert len(traces) == 1
    assert len(history.history["loss"]) == 2 and seconds > 0
    momenta = [v for v in model.optimizer.variables if "momentum" in v.path]
    assert len(momenta) == 2 and all(np.any(v.numpy()) for v in momenta)  # the slots built first were used


def test_build_optimizer_creates_the_slots_before_any_step():
    model, _ = counting_model()
    assert not model.optimizer.built
    build_optimizer(model)
    slots = [v for v in model.optimizer.variables if "momentum" in v.path or "velocity" in v.path]
    assert len(slots) == 2 * len(model.trainable_variables)
    build_optimizer(model)  # a second call changes nothing
    assert len(model.optimizer.variables) == len(slots) + 2  # + iterations and learning rate


@pytest.mark.parametrize("batch_size, learning_rate, named", [(0, 1e-3, "batch_size=0"), (8, -1.0, "learning_rate=-1.0"),
                                                              (8, float("nan"), "learning_rate=nan"),
                                                              (2.5, 1e-3, "batch_size=2.5")])
def test_pretrainers_and_classifiers_refuse_bad_training_options_when_made(batch_size, learning_rate, named):
    from cclm.pretraining import MaskedLanguagePretrainer

    with pytest.raises(ValueError, match=f"{named}; give"):
        check_training_options(batch_size, learning_rate)
    with pytest.raises(ValueError, match=f"{named}; give"):
        MaskedLanguagePretrainer(batch_size=batch_size, learning_rate=learning_rate)
