"""The decoding strategies on a fixed next-character table: no model, so exact and fast."""

import numpy as np
import pytest

from cclm.pretraining.generation import (
    beam_search,
    generate_ids,
    greedy_search,
    warp_log_probs,
)

# A bigram table over 4 ids (id 3 ends a text): the next id's log-probabilities given the last one.
TABLE = np.log(np.array([
    [0.05, 0.50, 0.40, 0.05],
    [0.40, 0.25, 0.30, 0.05],
    [0.02, 0.03, 0.90, 0.05],
    [0.25, 0.25, 0.25, 0.25],
]))


def bigram(contexts):
    return TABLE[[context[-1] for context in contexts]]


def log_likelihood(prompt, ids):
    context = list(prompt)
    total = 0.0
    for token in ids:
        total += TABLE[context[-1], token]
        context.append(token)
    return total


def test_greedy_is_deterministic_and_takes_the_most_likely_id():
    first = greedy_search(bigram, [[0], [1]], max_new=4)
    assert [c.ids for c in first] == [[1, 0, 1, 0], [0, 1, 0, 1]]
    assert [c.ids for c in greedy_search(bigram, [[0], [1]], max_new=4)] == [c.ids for c in first]
    assert first[0].log_likelihood == pytest.approx(log_likelihood([0], first[0].ids))


def test_a_seed_reproduces_a_sample_and_another_seed_changes_it():
    draws = [generate_ids(bigram, [[0]] * 3, 12, do_sample=True, seed=seed) for seed in (5, 5, 6)]
    assert [c.ids for c in draws[0]] == [c.ids for c in draws[1]]
    assert [c.ids for c in draws[0]] != [c.ids for c in draws[2]]


def test_top_k_1_and_a_tiny_top_p_equal_greedy():
    greedy = [c.ids for c in generate_ids(bigram, [[0], [2]], 8)]
    assert [c.ids for c in generate_ids(bigram, [[0], [2]], 8, do_sample=True, top_k=1, seed=1)] == greedy
    assert [c.ids for c in generate_ids(bigram, [[0], [2]], 8, do_sample=True, top_p=1e-6, seed=1)] == greedy


def test_warping_follows_hugging_face():
    log_probs = np.log([[0.5, 0.3, 0.15, 0.05]])
    assert np.isinf(warp_log_probs(log_probs, top_k=2)[0, 2:]).all()
    kept = np.exp(warp_log_probs(log_probs, top_p=0.8))[0]  # 0.5 + 0.3 reaches 0.8: two ids kept
    np.testing.assert_allclose(kept, [0.625, 0.375, 0, 0], atol=1e-12)
    flatter = np.exp(warp_log_probs(log_probs, temperature=2.0))[0]
    assert flatter[0] < 0.5 and flatter[3] > 0.05 and flatter.sum() == pytest.approx(1.0)


def test_beam_search_finds_a_likelier_text_and_never_scores_below_greedy():
    for prompt in ([0], [1], [2], [3]):
        for beams in (2, 3, 5):
            greedy = greedy_search(bigram, [prompt], 6)[0]
            beam = beam_search(bigram, prompt, 6, num_beams=beams)
            assert beam.log_likelihood >= greedy.log_likelihood - 1e-12
            assert beam.log_likelihood == pytest.approx(log_likelihood(prompt, beam.ids))
    assert beam_search(bigram, [0], 3, num_beams=2).ids == [2, 2, 2]  # greedy takes 1 first, and scores less


def test_generation_stops_at_the_end_id_and_at_the_length():
    stopped = generate_ids(bigram, [[3]] * 8, 50, eos_id=3, do_sample=True, seed=0)
    assert all(c.ids[-1] == 3 and 3 not in c.ids[:-1] for c in stopped if len(c.ids) < 50)
    assert any(len(c.ids) < 50 for c in stopped) and all(len(c.ids) <= 50 for c in stopped)
    assert [len(c.ids) for c in generate_ids(bigram, [[0]], 0)] == [0]


@pytest.mark.parametrize("option, value", [("temperature", 0), ("top_k", -1), ("top_p", 0), ("num_beams", 0),
                                           ("temperature", float("inf")), ("temperature", float("nan")),
                                           ("top_p", float("nan")), ("seed", -1), ("max_new", True),
                                           ("length_penalty", float("inf"))])
def test_options_out_of_range_are_named(option, value):
    options = {"max_new": 3, "do_sample": True, option: value}
    name = "max_new_chars" if option == "max_new" else option
    with pytest.raises(ValueError, match=f"{name}={value!r}; use"):
        generate_ids(bigram, [[0]], **options)


def test_numpy_integers_are_options_like_ints():
    plain = generate_ids(bigram, [[0]], 5, do_sample=True, top_k=2, seed=4, num_beams=1)
    assert generate_ids(bigram, [[0]], np.int64(5), do_sample=True, top_k=np.int64(2), seed=np.int64(4),
                        num_beams=np.int32(1)) == plain
