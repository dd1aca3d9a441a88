import keras
import numpy as np
import pytest

from cclm import Preprocessor
from cclm.models.composed_model import ComposedModel
from cclm.models.embedder import Embedder
from cclm.pipelines.augmentation import Augmentor
from cclm.pretraining.distillation_pretrainer import DistillationPretrainer
from cclm.pretraining.masked_language_pretrainer import MaskedLanguagePretrainer


def options(width):
    return {"hidden_dim": width, "num_layers": 1, "num_heads": 2, "intermediate_dim": 2 * width, "max_length": 64}


@pytest.fixture(scope="module")
def texts(docs_texts):
    return docs_texts[:128]


@pytest.fixture(scope="module")
def teacher(texts):
    keras.utils.set_random_seed(0)
    prep = Preprocessor(sequence_length=32, downsample_factor=4).fit(texts, progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=1, max_length=64)
    teacher = MaskedLanguagePretrainer(
        embedder=embedder, preprocessor=prep, tower_options=options(32), name="teacher", batch_size=16, seed=0
    )
    teacher.fit(texts, epochs=2, verbose=0)
    return teacher


@pytest.mark.parametrize("objective", ["representations", "soft_targets", "both"])
def test_distillation_lowers_the_students_distance_to_the_teacher(teacher, texts, objective):
    keras.utils.set_random_seed(1)
    student = DistillationPretrainer(
        teacher, objective=objective, tower_options=options(8), name="student", batch_size=16, seed=0,
        learning_rate=5e-3,
    )
    teacher_weights = [keras.ops.convert_to_numpy(w) for w in teacher.tower.weights + teacher.embedder.weights]
    before = student.distance(texts[-32:])
    student.fit(texts[:-32], epochs=4, verbose=0)
    after = student.distance(texts[-32:])
    assert after < 0.7 * before
    unchanged = [keras.ops.convert_to_numpy(w) for w in teacher.tower.weights + teacher.embedder.weights]
    assert all(np.array_equal(a, b) for a, b in zip(teacher_weights, unchanged))  # the teacher only teaches
    assert student.tower.count_params() < teacher.tower.count_params() / 5


def test_the_teacher_is_frozen_only_while_the_student_trains(texts):
    keras.utils.set_random_seed(0)
    prep = Preprocessor(sequence_length=32, downsample_factor=4).fit(texts, progress=False)
    teacher = MaskedLanguagePretrainer(preprocessor=prep, tower_options=options(16), name="own", batch_size=16, seed=0)
    teacher.fit(texts[:32], verbose=0)
    trainable = len(teacher.tower.trainable_weights)
    student = DistillationPretrainer(teacher, tower_options=options(8), name="pupil", batch_size=16, seed=0)
    student.fit(texts[:32], verbose=0)
    assert teacher.tower.trainable and len(teacher.tower.trainable_weights) == trainable > 0
    before = [w.copy() for w in teacher.tower.get_weights()]
    teacher.fit(texts[:32], verbose=0)  # the teacher's own pretrainer still trains its tower
    assert any(not np.array_equal(a, b) for a, b in zip(before, teacher.tower.get_weights()))


def test_the_student_composes_with_the_teachers_embedder_and_reloads(round_trip, tmp_path, teacher, texts):
    student = DistillationPretrainer(teacher, tower_options=options(8), name="student", batch_size=16, seed=0)
    student.fit(texts[:32], verbose=0)
    composed = ComposedModel(teacher.embedder, [teacher, student])
    assert composed.output_dim == 40
    loaded = round_trip(student, "student")
    assert loaded.teacher is None and loaded.teacher_dim == 32
    ids = teacher.preprocessor.encode(texts[:4])
    np.testing.assert_allclose(loaded.tower(loaded.embedder(ids)), student.tower(student.embedder(ids)), rtol=1e-6)
    assert ComposedModel(teacher.embedder, [teacher, tmp_path / "student"]).output_dim == 40
    with pytest.raises(ValueError, match="has no teacher"):
        loaded.fit(texts[:8], verbose=0)


def test_any_keras_model_or_composition_can_teach(teacher, texts):
    composed = ComposedModel(teacher.embedder, [teacher])
    from_composition = DistillationPretrainer(composed, tower_options=options(8), name="a", batch_size=16)
    assert from_composition.teacher_dim == 32 and from_composition.embedder is teacher.embedder
    ids = keras.Input((None,), dtype="int32")
    logits = keras.layers.Dense(7)(keras.layers.Embedding(teacher.preprocessor.vocab_size, 4, mask_zero=True)(ids))
    plain = DistillationPretrainer(
        keras.Model(ids, logits), objective="soft_targets", preprocessor=teacher.preprocessor,
        embedder=teacher.embedder, tower_options=options(8), name="b", batch_size=16,
    )
    history = plain.fit(texts[:32], verbose=0)
    assert plain.teacher_dim == 7 and np.isfinite(history.history["loss"]).all()


def test_bad_teachers_and_options_are_explained(teacher):
    with pytest.raises(ValueError, match="objective='mse'"):
        DistillationPretrainer(teacher, objective="mse")
    with pytest.raises(TypeError, match="give a Pretrainer, a ComposedModel or a keras.Model"):
        DistillationPretrainer("teacher.h5")
    with pytest.raises(ValueError, match="training it would change the teacher too"):
        DistillationPretrainer(teacher, train_embedder=True, tower_options=options(8))
    with pytest.raises(ValueError, match=r"denoising=Augmentor\(deletion=0.1, seed=None\): the student is matched"):
        DistillationPretrainer(teacher, denoising=Augmentor(deletion=0.1))


def test_a_denoising_student_reads_typos_where_the_teacher_reads_the_clean_text(round_trip, tmp_path, teacher, texts):
    keras.utils.set_random_seed(2)
    student = DistillationPretrainer(
        teacher, tower_options=options(8), name="student", batch_size=16, seed=0, learning_rate=5e-3,
        denoising=Augmentor.typos(0.3, keep_length=True, seed=4),
    )
    (noisy, clean), _, weights = next(iter(student._dataset(texts[:16], 16, training=False)))
    assert noisy.shape == clean.shape
    assert np.array_equal(noisy.numpy() == 0, clean.numpy() == 0)  # typos keep lengths: the same padding
    assert 0.15 < np.mean(noisy.numpy()[weights.numpy() > 0] != clean.numpy()[weights.numpy() > 0]) < 0.45
    outputs = student.training_model((noisy, clean))
    np.testing.assert_allclose(outputs[..., 32:], teacher.tower(teacher.embedder(clean)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        outputs[..., :32], student.head(student.tower(student.embedder(noisy))), rtol=1e-5, atol=1e-5
    )
    before = student.distance(texts[-32:])
    assert student.distance(texts[-32:]) == before  # fixed typos for the distance
    student.fit(texts[:-32], epochs=4, verbose=0)
    assert student.distance(texts[-32:]) < 0.7 * before
    loaded = round_trip(student, "denoising_student")
    assert loaded.denoising.get_config() == student.denoising.get_config()
