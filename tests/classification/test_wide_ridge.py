import logging

import numpy as np
import pytest
import tensorflow as tf

from cclm.classification.weight_choice import simplest_within_one_error
from cclm.classification.wide_ridge import (
    _BAGS,
    COMPOSITION_WEIGHTS,
    _ngram_kernel,
    compact_bags,
    concatenate_bags,
    fit_wide_ridge,
    ngram_bags,
    tfidf_weights,
)
from cclm.layers import NgramLogits


def bags(texts: int, rng, vocabulary=40, slots=8):
    """Sorted distinct rows per text with counts, as NgramLogits.bag gives them (no padding)."""
    rows = np.sort(rng.permuted(np.tile(np.arange(vocabulary), (texts, 1)), axis=1)[:, :slots], axis=1)
    return rows, rng.integers(1, 4, rows.shape).astype("float32")


def dense(rows, weights, buckets):
    matrix = np.zeros((len(rows), buckets))
    np.put_along_axis(matrix, rows, weights, axis=1)
    return matrix


def assert_primal_ridge(fit, joined, rows, counts, features, labels):
    """The fit's logits are primal ridge over `joined` features at its strength and temperature."""
    centered = joined - joined.mean(0)
    targets = np.eye(fit.bias.shape[0])[labels]
    penalty = fit.strength * np.mean((centered**2).sum(1))
    solution = np.linalg.solve(centered.T @ centered + penalty * np.eye(centered.shape[1]),
                               centered.T @ (targets - targets.mean(0)))
    expected = fit.temperature * (centered @ solution + targets.mean(0))
    logits = (np.einsum("ts,tsl->tl", tfidf_weights(rows, counts, fit.idf), fit.ngram_kernel[rows])
              + features @ fit.kernel + fit.bias)
    np.testing.assert_allclose(logits, expected, rtol=1e-3, atol=2e-3 * np.abs(expected).max())


def test_the_kernel_is_the_inner_product_of_the_tfidf_vectors():
    rng = np.random.default_rng(0)
    rows, counts = bags(300, rng, vocabulary=500, slots=30)  # more texts than one block of the sparse product
    weights = tfidf_weights(rows, counts, rng.uniform(1, 2, 500))
    matrix = dense(rows, weights, 500)
    np.testing.assert_allclose(_ngram_kernel(rows, weights), matrix @ matrix.T, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("subset", [60, 25], ids=["exact", "conjugate gradients"])
def test_the_fit_is_ridge_over_the_joined_features_at_the_chosen_values(subset):
    rng = np.random.default_rng(1)
    rows, counts = bags(60, rng)
    labels = rng.integers(0, 3, 60)
    rows[:, -1] = 40 + np.where(np.arange(60) % 2, labels, rng.integers(0, 3, 60))  # half tell the label
    features = rng.normal(size=(60, 5)) + 2 * labels[:, None]  # these tell it too
    fit = fit_wide_ridge(rows, counts, features, labels, num_labels=3, buckets=64, subset=subset, tolerance=1e-6)
    assert fit.loo_accuracy > (0.8 if subset == 60 else 0.6) and fit.composition_weight > 0
    # With a subset, the values are chosen on it and the fit below is of all 60 texts.
    # The same solution, written as primal ridge over [tf-idf | sqrt(weight) * standardized features].
    idf = np.log(61 / (1 + np.bincount(rows.ravel(), minlength=64))) + 1
    np.testing.assert_allclose(fit.idf, idf, rtol=1e-6)
    standardized = (features - features.mean(0)) / (features.std(0) * np.sqrt(5))
    joined = np.hstack([dense(rows, tfidf_weights(rows, counts, idf), 64), np.sqrt(fit.composition_weight) * standardized])
    assert_primal_ridge(fit, joined, rows, counts, features, labels)


def test_features_that_tell_nothing_are_weighed_out():
    rng = np.random.default_rng(2)
    rows, counts = bags(90, rng)
    labels = np.repeat([0, 1, 2], 30)
    rows[:, -1] = 40 + labels
    fit = fit_wide_ridge(rows, counts, rng.normal(size=(90, 8)), labels, num_labels=3, buckets=64)
    assert fit.composition_weight == 0.0 and not fit.kernel.any() and fit.loo_accuracy == 1.0


def test_bad_shapes_are_refused():
    rng = np.random.default_rng(3)
    rows, counts = bags(50, rng)
    labels = np.arange(50) % 2
    with pytest.raises(ValueError, match="one row of each per label"):
        fit_wide_ridge(rows, counts, np.zeros((49, 2)), labels, num_labels=2, buckets=64)
    with pytest.raises(ValueError, match="at least two"):
        fit_wide_ridge(rows[:1], counts[:1], np.zeros((1, 2)), labels[:1], num_labels=2, buckets=64)


@pytest.mark.parametrize("subset", [60, 25], ids=["exact", "conjugate gradients"])
def test_sample_weights_give_weighted_ridge_over_the_joined_features(subset):
    rng = np.random.default_rng(3)
    rows, counts = bags(60, rng)
    labels = rng.integers(0, 2, 60)
    features = rng.normal(size=(60, 4)) + labels[:, None]
    weights = np.where(labels == 1, 4.0, 1.0)
    fit = fit_wide_ridge(rows, counts, features, labels, num_labels=2, buckets=64, subset=subset, tolerance=1e-9,
                         strengths=[0.3], composition_weights=[0.5], temperatures=[1.0], sample_weights=weights)
    standardized = (features - features.mean(0)) / (features.std(0) * np.sqrt(4))
    joined = np.hstack([dense(rows, tfidf_weights(rows, counts, fit.idf), 64), np.sqrt(0.5) * standardized])
    shares, relative = weights / weights.sum(), weights / weights.mean()
    centered = joined - shares @ joined
    penalty = 0.3 * (relative @ (centered**2).sum(1)) / 60  # the mean diagonal of the weighted kernel
    design = np.hstack([joined, np.ones((60, 1))])
    weighted = design.T * relative
    ridge = np.diag([penalty] * joined.shape[1] + [0.0])
    expected = design @ np.linalg.solve(weighted @ design + ridge, weighted @ np.eye(2)[labels])
    logits = (np.einsum("ts,tsl->tl", tfidf_weights(rows, counts, fit.idf), fit.ngram_kernel[rows])
              + features @ fit.kernel + fit.bias)
    np.testing.assert_allclose(logits, expected, atol=1e-4)
    plain = fit_wide_ridge(rows, counts, features, labels, num_labels=2, buckets=64, subset=subset)
    equal = fit_wide_ridge(rows, counts, features, labels, num_labels=2, buckets=64, subset=subset,
                           sample_weights=np.full(60, 2.0))
    np.testing.assert_array_equal(equal.ngram_kernel, plain.ngram_kernel)


def test_ngram_bags_traces_once_per_layer_for_any_batch_and_length():
    layer = NgramLogits(num_labels=2, max_n=2, buckets=32)
    layer.build((None, None))
    ids = np.array([[5, 6, 5, 6, 0], [7, 0, 0, 0, 0], [5, 5, 5, 0, 0]])
    rows, counts = ngram_bags(layer, ids, batch_size=2)
    again, _ = ngram_bags(layer, np.array([[5, 6, 5, 6, 0, 0, 0]], "int64"))
    # Compacted: as wide as the richest bag ("5", "6", "56", "65", "^5"), not max_n slots per position.
    assert rows.shape == (3, 5) and again.shape == (1, 5)
    eager_rows, eager_counts = (np.asarray(part) for part in layer.bag(ids.astype("int32")))
    for text in range(3):
        assert dict(zip(rows[text][counts[text] > 0], counts[text][counts[text] > 0])) == dict(
            zip(eager_rows[text][eager_counts[text] > 0], eager_counts[text][eager_counts[text] > 0]))
    traced = _BAGS[layer]
    ngram_bags(layer, np.array([[9, 0, 0]], "int32"))
    assert _BAGS[layer] is traced and isinstance(traced, tf.types.experimental.ConcreteFunction)  # one trace, reused


def test_ngram_bags_of_many_layers_and_shapes_never_warn_of_retracing():
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    tf.get_logger().addHandler(handler)
    try:
        for width in range(3, 15):  # a fresh layer per fit, as every classifier has
            layer = NgramLogits(num_labels=2, max_n=2, buckets=32)
            layer.build((None, None))
            for batch in (1, 3, 5):
                ngram_bags(layer, np.full((batch, width), 5, "int32"))
    finally:
        tf.get_logger().removeHandler(handler)
    assert not [r for r in records if "retracing" in r.getMessage()]


def test_bags_of_batches_of_several_widths_join_with_empty_slots():
    rows, counts = concatenate_bags([(np.array([[3, 4]]), np.array([[1.0, 2.0]])), (np.array([[5]]), np.array([[1.0]]))])
    np.testing.assert_array_equal(counts, [[1.0, 2.0], [1.0, 0.0]])
    assert rows[1, 0] == 5
    compact_rows, compact_counts = compact_bags(np.array([[9, 3, 7, 3]]), np.array([[0.0, 2.0, 0.0, 1.0]]))
    np.testing.assert_array_equal(compact_rows, [[3, 3]])
    np.testing.assert_array_equal(compact_counts, [[2.0, 1.0]])


def test_a_light_block_is_compared_text_by_text_and_a_bad_flag_count_is_refused():
    rng = np.random.default_rng(3)  # a draw where the two errors disagree
    rows, counts = bags(120, rng)
    labels = np.repeat([0, 1, 2], 40)
    rows[:, -1] = 40 + np.where(rng.random(120) < 0.7, labels, rng.integers(0, 3, 120))
    features = np.c_[rng.normal(size=(120, 4)) + 0.5 * labels[:, None], rng.normal(size=(120, 4))]
    heavy = fit_wide_ridge(rows, counts, features, labels, 3, 64, blocks=[4, 4], light_blocks=[False, False])
    light = fit_wide_ridge(rows, counts, features, labels, 3, 64, blocks=[4, 4], light_blocks=[True, True])
    # The telling block's gain is beyond its text-by-text error but within one accuracy's error; the noise block gets 0.
    assert heavy.block_weights == (0.0, 0.0)
    assert light.block_weights[0] > 0 and light.block_weights[1] == 0 and light.loo_accuracy > heavy.loo_accuracy
    with pytest.raises(ValueError, match=r"light_blocks \[True\] for 2 blocks"):
        fit_wide_ridge(rows, counts, features, labels, 3, 64, blocks=[4, 4], light_blocks=[True])


def test_the_fit_takes_the_simplest_weight_within_one_standard_error_not_the_best():
    rng = np.random.default_rng(31)
    rows, counts = bags(120, rng)
    labels = np.repeat([0, 1, 2], 40)
    rows[:, -1] = 40 + np.where(rng.random(120) < 0.7, labels, rng.integers(0, 3, 120))  # n-grams tell 70% of labels
    features = rng.normal(size=(120, 4)) + 0.5 * labels[:, None]  # the features tell a little more
    weights = sorted(COMPOSITION_WEIGHTS)
    # Each weight's leave-one-out accuracy: a fit offered that weight alone.
    scores = [fit_wide_ridge(rows, counts, features, labels, 3, 64, composition_weights=[w]).loo_accuracy
              for w in weights]
    rule = simplest_within_one_error(scores, np.full(120, 1 / 120))
    assert 0 < rule and scores[rule] < max(scores)  # here the rule and the best weight differ
    fit = fit_wide_ridge(rows, counts, features, labels, 3, 64)
    assert fit.composition_weight == weights[rule] and fit.loo_accuracy == scores[rule]


@pytest.mark.parametrize("subset", [90, 40], ids=["exact", "conjugate gradients"])
def test_blocks_are_weighed_apart_and_a_block_that_tells_nothing_gets_weight_0(subset):
    rng = np.random.default_rng(5)
    rows, counts = bags(90, rng)  # n-grams that tell nothing
    labels = np.repeat([0, 1, 2], 30)
    telling = rng.normal(size=(90, 3)) + 2 * labels[:, None]
    noise = rng.normal(size=(90, 6))
    features = np.hstack([noise, telling])
    fit = fit_wide_ridge(rows, counts, features, labels, 3, 64, blocks=[6, 3], subset=subset, tolerance=1e-9)
    assert fit.block_weights[0] == 0.0 and fit.block_weights[1] > 0 and fit.composition_weight == fit.block_weights[1]
    assert not fit.kernel[:6].any() and fit.kernel[6:].any()  # prediction may skip the first block
    # The same solution, written as primal ridge over [tf-idf | sqrt(w_b) * each block standardized to unit norm].
    standardized = (features - features.mean(0)) / features.std(0)
    joined = np.hstack([dense(rows, tfidf_weights(rows, counts, fit.idf), 64),
                        *(np.sqrt(w) * standardized[:, part] / np.sqrt(width) for w, part, width in
                          zip(fit.block_weights, [slice(0, 6), slice(6, 9)], [6, 3]))])
    assert_primal_ridge(fit, joined, rows, counts, features, labels)


def test_given_block_weights_are_kept_and_bad_blocks_are_refused():
    rng = np.random.default_rng(6)
    rows, counts = bags(40, rng)
    labels, features = np.arange(40) % 2, rng.normal(size=(40, 5))
    fit = fit_wide_ridge(rows, counts, features, labels, 2, 64, blocks=[2, 3], block_weights=[0.0, 0.5])
    assert fit.block_weights == (0.0, 0.5) and not fit.kernel[:2].any()
    with pytest.raises(ValueError, match=r"blocks \[2, 2\] for 5 feature columns"):
        fit_wide_ridge(rows, counts, features, labels, 2, 64, blocks=[2, 2])
    with pytest.raises(ValueError, match="1 block weights for 2 blocks"):
        fit_wide_ridge(rows, counts, features, labels, 2, 64, blocks=[2, 3], block_weights=[0.5])
