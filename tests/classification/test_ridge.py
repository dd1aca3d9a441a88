import numpy as np
import pytest

from cclm.classification.ridge import fit_ridge


def _ridge_predict(features, labels, num_labels, strength, reference, rows):
    """A plain ridge fit on `features` (standardized on themselves), predicting `rows`."""
    mean, scale = features.mean(0), features.std(0)
    scale[scale < 1e-8] = 1
    x = (features - mean) / scale
    targets = np.eye(num_labels)[labels]
    weights = np.linalg.solve(x.T @ x + strength * reference * np.eye(x.shape[1]), x.T @ (targets - targets.mean(0)))
    return ((rows - mean) / scale) @ weights + targets.mean(0)


def test_leave_one_out_in_closed_form_matches_refitting_without_each_text():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(30, 6)) + np.repeat(np.eye(3, 6) * 1.5, 10, axis=0)
    labels = np.repeat(np.arange(3), 10)
    fit = fit_ridge(features, labels, 3, strengths=[0.5], temperatures=[1.0])
    x = (features - features.mean(0)) / features.std(0)
    reference = np.mean(np.linalg.svd(x, compute_uv=False) ** 2)
    # The closed form standardizes with all texts; refitting by hand on the same standardized features:
    brute = []
    for i in range(30):
        keep = np.arange(30) != i
        targets = np.eye(3)[labels[keep]]
        xi = x[keep] - x[keep].mean(0)
        weights = np.linalg.solve(xi.T @ xi + 0.5 * reference * np.eye(6), xi.T @ (targets - targets.mean(0)))
        brute.append(((x[i] - x[keep].mean(0)) @ weights + targets.mean(0)).argmax())
    assert fit.loo_accuracy == pytest.approx(np.mean(np.array(brute) == labels), abs=1 / 30 + 1e-9)
    # The kernel and bias are the full fit, standardization folded in.
    expected = _ridge_predict(features, labels, 3, 0.5, reference, features)
    np.testing.assert_allclose(features @ fit.kernel + fit.bias, expected, atol=1e-4)


def test_the_strength_follows_the_data_and_bad_input_is_refused():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 40)
    noise = rng.normal(size=(40, 20))
    separable = noise.copy()
    separable[:, 0] += 4 * labels
    assert fit_ridge(separable, labels, 2).loo_accuracy > 0.9
    # Pure noise: the most regularized fits win (nothing generalizes).
    assert fit_ridge(noise, labels, 2).strength >= 1.0
    with pytest.raises(ValueError, match="one row per label"):
        fit_ridge(noise, labels[:5], 2)
    with pytest.raises(ValueError, match="at least two"):
        fit_ridge(noise[:1], labels[:1], 2)


def test_sample_weights_give_weighted_ridge_and_equal_weights_change_nothing():
    rng = np.random.default_rng(2)
    features = rng.normal(size=(40, 6))
    labels = (features[:, 0] + 0.5 * rng.normal(size=40) > 0).astype(int)
    weights = np.where(labels == 1, 3.0, 1.0)
    fit = fit_ridge(features, labels, 2, strengths=[0.1], temperatures=[1.0], sample_weights=weights)
    # By hand: minimize sum w (y - b - x.beta)^2 + penalty |beta|^2, the intercept unpenalized.
    relative = weights / weights.mean()
    mean = weights @ features / weights.sum()
    x = (features - mean) / features.std(0)
    reference = np.mean(np.linalg.svd(np.sqrt(relative)[:, None] * x, compute_uv=False) ** 2)
    design = np.hstack([x, np.ones((40, 1))])
    penalty = np.diag([0.1 * reference] * 6 + [0.0])
    weighted = design.T * relative
    coefficients = np.linalg.solve(weighted @ design + penalty, weighted @ np.eye(2)[labels])
    np.testing.assert_allclose(features @ fit.kernel + fit.bias, design @ coefficients, atol=1e-5)
    equal = fit_ridge(features, labels, 2, sample_weights=np.full(40, 3.0))
    plain = fit_ridge(features, labels, 2)
    np.testing.assert_array_equal(equal.kernel, plain.kernel)
    with pytest.raises(ValueError, match="one positive weight per text"):
        fit_ridge(features, labels, 2, sample_weights=-weights)


def test_the_strongest_penalty_within_one_standard_error_of_the_best_is_taken():
    from cclm.classification.ridge import STRENGTHS, choose_strength, text_shares
    from cclm.classification.weight_choice import simplest_within_one_error

    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(4), 12)
    features = rng.normal(size=(48, 30)) + 0.8 * np.eye(4, 30)[labels]  # weak signal: many strengths alike
    fit = fit_ridge(features, labels, 4)
    x = (features - features.mean(0)) / features.std(0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    targets, reference = np.eye(4)[labels], float(np.mean(s**2))
    best = choose_strength(u, s**2, reference, targets, labels, STRENGTHS)  # the best accuracy alone
    hits, accuracies = [], []
    for strength in sorted(STRENGTHS, reverse=True):  # by hand: each strength's leave-one-out hits
        found = choose_strength(u, s**2, reference, targets, labels, [strength])
        hits.append(found[2].argmax(axis=1) == labels)
        accuracies.append(found[0][0])
    expected = sorted(STRENGTHS, reverse=True)[simplest_within_one_error(accuracies, text_shares(None, 48)[0], hits)]
    assert fit.strength == pytest.approx(expected) and fit.strength > best[1]  # here the rule reaches further
    assert fit.loo_accuracy >= best[0][0] - np.sqrt(best[0][0] * (1 - best[0][0]) / 48)


def _blocks_of(rng, labels, signals, widths=(6, 40, 8)):
    """Features in blocks of `widths`, each with the label's signal of the given strength (0: pure noise)."""
    return np.hstack([rng.normal(size=(len(labels), width)) + signal * np.eye(3, width)[labels]
                      for signal, width in zip(signals, widths)])


def test_blocks_that_add_nothing_are_weighed_out_from_the_best_block_alone():
    rng = np.random.default_rng(4)
    labels = np.repeat(np.arange(3), 30)
    features = _blocks_of(rng, labels, (2.5, 0.0, 0.0))  # the first block tells the label, the others are noise
    fit = fit_ridge(features, labels, 3, blocks=[6, 40, 8])
    assert fit.block_weights == (1.0, 0.0, 0.0)
    assert not fit.kernel[6:].any() and fit.loo_accuracy > 0.8  # a block of weight 0 has no say
    # The same fit as plain ridge on the first block alone:
    alone = fit_ridge(features[:, :6], labels, 3)
    np.testing.assert_allclose(fit.kernel[:6], alone.kernel, rtol=1e-4, atol=1e-5)
    assert fit_ridge(features, labels, 3).block_weights is None  # no blocks: every column alike, as before


def test_a_light_block_as_good_as_the_best_is_the_one_held_and_the_costly_one_must_earn_its_place():
    rng = np.random.default_rng(5)
    labels = np.repeat(np.arange(3), 30)
    features = _blocks_of(rng, labels, (2.0, 0.0, 2.0))  # blocks 0 and 2 tell the label alike
    light = [False, False, True]
    fit = fit_ridge(features, labels, 3, blocks=[6, 40, 8], light_blocks=light)
    assert fit.block_weights[2] == 1.0 and fit.block_weights[1] == 0.0
    given = fit_ridge(features, labels, 3, blocks=[6, 40, 8], block_weights=fit.block_weights)
    np.testing.assert_array_equal(given.kernel, fit.kernel)
    with pytest.raises(ValueError, match=r"blocks \[6, 40\] for 54 feature columns"):
        fit_ridge(features, labels, 3, blocks=[6, 40])
    with pytest.raises(ValueError, match="one weight of 0 or more per block"):
        fit_ridge(features, labels, 3, blocks=[6, 40, 8], block_weights=[1.0, -1.0, 0.0])
    with pytest.raises(ValueError, match="give one flag per block"):
        fit_ridge(features, labels, 3, blocks=[6, 40, 8], light_blocks=[True])
    with pytest.raises(ValueError, match="one of them above 0"):
        fit_ridge(features, labels, 3, blocks=[6, 40, 8], block_weights=[0.0, 0.0, 0.0])


def test_block_weights_scale_each_block_to_one_norm_before_weighing_it():
    from cclm.classification.ridge import block_columns

    rng = np.random.default_rng(6)
    labels = np.repeat(np.arange(3), 20)
    features = _blocks_of(rng, labels, (1.5, 1.5, 0.0))
    fit = fit_ridge(features, labels, 3, strengths=[0.3], temperatures=[1.0], blocks=[6, 40, 8],
                    block_weights=[1.0, 0.25, 0.0])
    # By hand: ridge on standardized columns times sqrt(weight / block width), the penalty relative as always.
    columns = block_columns([6, 40, 8], [1.0, 0.25, 0.0], 54)
    np.testing.assert_allclose(columns[[0, 6, 46]], [np.sqrt(1 / 6), np.sqrt(0.25 / 40), 0.0])
    mean, scale = features.mean(0), features.std(0)
    x = ((features - mean) / scale * columns)[:, :46]  # the block of weight 0 left out
    reference = np.mean(np.linalg.svd(x, compute_uv=False) ** 2)
    targets = np.eye(3)[labels]
    beta = np.linalg.solve(x.T @ x + 0.3 * reference * np.eye(46), x.T @ (targets - targets.mean(0)))
    np.testing.assert_allclose(features @ fit.kernel + fit.bias, x @ beta + targets.mean(0), atol=1e-4)


def test_block_weights_are_chosen_on_a_subset_of_many_texts_and_the_fit_uses_them_all():
    rng = np.random.default_rng(7)
    labels = np.repeat(np.arange(3), 40)
    features = _blocks_of(rng, labels, (2.5, 0.0, 0.0))
    fit = fit_ridge(features, labels, 3, blocks=[6, 40, 8], subset=60, seed=1)
    assert fit.block_weights == (1.0, 0.0, 0.0)
    everything = fit_ridge(features, labels, 3, blocks=[6, 40, 8], block_weights=fit.block_weights)
    np.testing.assert_array_equal(fit.kernel, everything.kernel)  # the same solve of all 120 texts
