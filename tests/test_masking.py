import numpy as np
import pytest
import tensorflow as tf

from cclm import special_ids
from cclm.masking import SpanMasking


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    ids = rng.integers(special_ids.FIRST_CHARACTER_ID, 100, size=(128, 512)).astype("int32")
    ids[:, 400:] = special_ids.PAD_ID
    ids[:, 0] = special_ids.CLS_ID
    ids[:, 10] = special_ids.UNKNOWN_ID
    return ids


def run(masking, ids, seed=(1, 2)):
    inputs, targets, weights = masking(tf.constant(ids), tf.constant(seed))
    return inputs.numpy(), targets.numpy(), weights.numpy()


def test_masking_statistics(batch):
    inputs, targets, weights = run(SpanMasking(vocab_size=100, rate=0.15), batch)
    hidden = weights > 0
    characters = batch >= special_ids.FIRST_CHARACTER_ID
    assert abs(hidden[characters].mean() - 0.15) < 0.015
    assert abs((inputs[hidden] == special_ids.MASK_ID).mean() - 0.8) < 0.02
    unchanged = (inputs[hidden] == batch[hidden]).mean()
    assert 0.08 < unchanged < 0.14  # 10% kept, plus random draws of the same character
    np.testing.assert_array_equal(targets, batch)
    np.testing.assert_array_equal(inputs[~hidden], batch[~hidden])


def test_spans_are_contiguous_runs(batch):
    _, _, weights = run(SpanMasking(vocab_size=100, rate=0.15, min_span=3, max_span=3), batch)
    hidden = weights[:, 1:400] > 0
    edges = np.diff(hidden.astype(int), axis=1)
    runs = hidden.sum() / max((edges == 1).sum(), 1)
    assert runs >= 3.0  # spans of three, sometimes merged into longer runs


def test_padding_and_special_ids_are_never_targets(batch):
    _, _, weights = run(SpanMasking(vocab_size=100, rate=0.5), batch)
    assert weights[:, 400:].sum() == 0
    assert weights[:, 0].sum() == 0 and weights[:, 10].sum() == 0


def test_same_seed_same_masks_other_seed_other_masks(batch):
    masking = SpanMasking(vocab_size=100)
    first, second, other = run(masking, batch), run(masking, batch), run(masking, batch, seed=(9, 9))
    np.testing.assert_array_equal(first[0], second[0])
    assert not np.array_equal(first[0], other[0])


def test_random_replacements_are_characters(batch):
    inputs, _, weights = run(SpanMasking(vocab_size=100, rate=0.5, mask_fraction=0.0, random_fraction=1.0), batch)
    replaced = inputs[weights > 0]
    assert replaced.min() >= special_ids.FIRST_CHARACTER_ID and replaced.max() < 100


def test_runs_inside_tf_data(batch):
    masking = SpanMasking(vocab_size=100)
    dataset = tf.data.Dataset.from_tensor_slices(batch).batch(32)
    dataset = tf.data.Dataset.zip(dataset, tf.data.Dataset.random(seed=0).batch(2))
    masked = dataset.map(lambda ids, seed: masking(ids, seed))
    for inputs, targets, weights in masked.take(2):
        assert inputs.shape == targets.shape == weights.shape == (32, 512)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [({"rate": 1.5}, "rate=1.5"), ({"min_span": 4, "max_span": 2}, "min_span=4"),
     ({"mask_fraction": 0.9, "random_fraction": 0.2}, "add up to at most 1"), ({"vocab_size": 5}, "no characters")],
)
def test_bad_settings_are_named(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        SpanMasking(**{"vocab_size": 100, **kwargs})
