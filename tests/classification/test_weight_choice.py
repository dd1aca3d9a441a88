"""The one-standard-error rule that picks each tower's weight."""

import numpy as np

from cclm.classification.weight_choice import simplest_within_one_error


def test_a_more_complex_fit_must_beat_a_simpler_one_by_the_standard_error_of_their_difference():
    shares = np.full(256, 1 / 256)  # the error of 0.85 - 0.80 over 256 texts: sqrt(0.85*0.15/256 + 0.8*0.2/256) = 0.034
    assert simplest_within_one_error([0.80, 0.81, 0.85], shares) == 2
    # +0.03 beats one accuracy's error (0.023) but not the difference's (0.034): two separate estimates both err.
    assert simplest_within_one_error([0.80, 0.83], shares) == 0
    assert simplest_within_one_error([0.80, 0.81, 0.82], shares) == 0
    assert simplest_within_one_error([0.70, 0.80, 0.81], shares) == 1
    # Weighted texts count as fewer: a few heavy texts make a wider margin.
    heavy = np.r_[np.full(4, 0.2), np.full(252, 0.2 / 252)]
    assert simplest_within_one_error([0.80, 0.81, 0.85], heavy) == 0


def test_compared_text_by_text_a_gain_with_no_loss_beats_the_error_of_two_separate_accuracies():
    shares = np.full(120, 1 / 120)
    simpler = np.arange(120) < 96  # 0.80
    richer = np.arange(120) < 100  # the same texts right, and 4 more: 0.833
    accuracies = [simpler.mean(), richer.mean()]
    assert simplest_within_one_error(accuracies, shares) == 0  # 0.033 is within 0.050, two separate accuracies' error
    assert simplest_within_one_error(accuracies, shares, [simpler, richer]) == 1  # the difference's error: 0.016
    swapped = richer.copy()
    swapped[:8] = False  # the richer fit loses 8 texts the simpler one had and wins 10 others: no clear gain
    swapped[100:106] = True
    assert simplest_within_one_error([simpler.mean(), swapped.mean()], shares, [simpler, swapped]) == 0
