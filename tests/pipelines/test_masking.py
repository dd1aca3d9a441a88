import numpy as np
import pytest
import tensorflow as tf

from cclm.preprocessing import special_ids
from cclm.pipelines.masking import SpanMasking, WholeTokenMasking


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


@pytest.fixture(scope="module")
def token_batch():
    """Ids with tokens of 1-6 characters separated by uncovered spaces, then padding."""
    rng = np.random.default_rng(1)
    rows = 64
    ids = np.zeros((rows, 300), "int32")
    token_ids = np.full((rows, 300), -1, "int32")
    token_index = np.full((rows, 300), -1, "int32")
    for row in range(rows):
        position, index = 0, 0
        while position < 250:
            length = int(rng.integers(1, 7))
            ids[row, position:position + length] = rng.integers(special_ids.FIRST_CHARACTER_ID, 100, length)
            token_ids[row, position:position + length] = rng.integers(0, 5000)
            token_index[row, position:position + length] = index
            ids[row, position + length] = 7  # a space: no token covers it
            position, index = position + length + 1, index + 1
    return ids, token_ids, token_index


def run_tokens(masking, batch, seed=(3, 4)):
    outputs = masking(*(tf.constant(part) for part in batch), tf.constant(seed))
    return [output.numpy() for output in outputs]


def test_whole_tokens_are_hidden_together_and_count_once(token_batch):
    ids, token_ids, token_index = token_batch
    inputs, targets, weights = run_tokens(WholeTokenMasking(vocab_size=100, rate=0.15), token_batch)
    hidden = weights > 0
    assert not hidden[token_index < 0].any()  # spaces and padding are never hidden
    for row in range(len(ids)):
        for index in np.unique(token_index[row][token_index[row] >= 0]):
            token = token_index[row] == index
            assert hidden[row, token].all() or not hidden[row, token].any()
            if hidden[row, token].any():
                assert weights[row, token].sum() == pytest.approx(1.0)  # one token, one vote
    np.testing.assert_array_equal(targets[hidden], token_ids[hidden])
    np.testing.assert_array_equal(inputs[~hidden], ids[~hidden])
    tokens = token_ids >= 0
    hidden_tokens = weights[tokens].sum()
    all_tokens = sum(len(np.unique(row[row >= 0])) for row in token_index)
    assert abs(hidden_tokens / all_tokens - 0.15) < 0.02


def test_whole_token_masking_shows_mask_random_or_original_per_token(token_batch):
    ids, _, token_index = token_batch
    inputs, _, weights = run_tokens(WholeTokenMasking(vocab_size=100, rate=0.5), token_batch)
    hidden = weights > 0
    masked = (inputs == special_ids.MASK_ID) & hidden
    assert abs(masked[hidden].mean() - 0.8) < 0.03
    for row in range(len(ids)):  # a token is masked on all its characters or on none
        for index in np.unique(token_index[row][hidden[row]]):
            token = token_index[row] == index
            assert masked[row, token].all() or not masked[row, token].any()


def test_whole_token_masking_is_reproducible_for_a_seed(token_batch):
    masking = WholeTokenMasking(vocab_size=100)
    first, again, other = (run_tokens(masking, token_batch, seed) for seed in [(5, 6), (5, 6), (6, 5)])
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[2], other[2])
