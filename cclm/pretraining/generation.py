"""Decoding strategies over a next-character distribution, with Hugging Face `generate`'s meanings.

Every strategy is a plain function of `next_log_probs`: a callable from a
list of contexts (each a list of ids) to a `(len(contexts), vocab)` array of
log-probabilities of the next id. `CausalLanguagePretrainer.generate` gives
its model's; any other (an n-gram table, a test's fixed table) works the same.

- `greedy_search`: the most likely id at every step.
- `sample`: draws from the distribution reshaped by `warp_log_probs`
  (temperature, then top-k, then top-p / nucleus, as Hugging Face orders them).
- `beam_search`: keeps the `num_beams` most likely continuations; finished
  ones are scored by summed log-probability / length ** `length_penalty`.
  The greedy continuation competes too, so beam search never scores below greedy.
- `generate_ids`: picks one of them from `generate`'s arguments.

Generation stops after `max_new` ids, or at `eos_id` (kept as the last id).

Example:
>>> import numpy as np
>>> table = np.log(np.array([[0.05, 0.55, 0.4], [0.4, 0.3, 0.3], [0.05, 0.05, 0.9]]))
>>> next_log_probs = lambda contexts: table[[context[-1] for context in contexts]]
>>> [c.ids for c in greedy_search(next_log_probs, [[0]], max_new=2)]
[[1, 0]]
>>> [c.ids for c in generate_ids(next_log_probs, [[0]], max_new=2, num_beams=2)]
[[2, 2]]
>>> a = generate_ids(next_log_probs, [[0]], max_new=5, do_sample=True, seed=3)
>>> a == generate_ids(next_log_probs, [[0]], max_new=5, do_sample=True, seed=3)
True
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

NextLogProbs = Callable[[list[list[int]]], np.ndarray]


@dataclasses.dataclass
class Continuation:
    """The new ids after a prompt (`eos_id` last if generation stopped there) and their summed log-probability."""

    ids: list[int]
    log_likelihood: float = 0.0


def _int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def check_generation_options(
    max_new: int, do_sample: bool, temperature: float, top_k: int, top_p: float, num_beams: int, length_penalty: float,
    seed: int | None = None,
) -> None:
    """Raises ValueError naming the first option out of range, and what to use."""
    checks = (
        ("max_new_chars", max_new, _int(max_new) and max_new >= 0, "an int >= 0"),
        ("temperature", temperature, _real(temperature) and temperature > 0, "a finite float > 0"),
        ("top_k", top_k, _int(top_k) and top_k >= 0, "an int >= 0 (0 keeps every character)"),
        ("top_p", top_p, _real(top_p) and 0 < top_p <= 1, "a float in (0, 1] (1 keeps all)"),
        ("num_beams", num_beams, _int(num_beams) and num_beams >= 1, "an int >= 1 (1: no beam search)"),
        ("length_penalty", length_penalty, _real(length_penalty), "a finite float"),
        ("do_sample", do_sample, isinstance(do_sample, bool), "True or False"),
        ("seed", seed, seed is None or (_int(seed) and seed >= 0), "None or an int >= 0"),
    )
    for name, value, ok, wanted in checks:
        if not ok:
            raise ValueError(f"{name}={value!r}; use {wanted}.")


def warp_log_probs(log_probs: np.ndarray, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> np.ndarray:
    """`log_probs` (batch, vocab) divided by `temperature`, cut to the `top_k` most likely and then to the
    smallest set whose probability reaches `top_p`, renormalized; cut ids get -inf.

    >>> warp_log_probs(np.log([[0.5, 0.3, 0.2]]), top_p=0.6).round(3).tolist()
    [[-0.47, -0.981, -inf]]
    """
    scores = np.asarray(log_probs, dtype=np.float64) / temperature
    if 0 < top_k < scores.shape[-1]:
        kth = np.partition(scores, -top_k, axis=-1)[:, -top_k][:, None]
        scores = np.where(scores < kth, -np.inf, scores)
    scores = _log_softmax(scores)
    if top_p < 1.0:
        order = np.argsort(-scores, axis=-1, kind="stable")
        ranked = np.take_along_axis(np.exp(scores), order, axis=-1)
        before = np.cumsum(ranked, axis=-1) - ranked  # probability of the more likely ids
        cut = np.zeros_like(scores, dtype=bool)
        np.put_along_axis(cut, order, before >= top_p, axis=-1)
        scores = _log_softmax(np.where(cut, -np.inf, scores))
    return scores


def greedy_search(
    next_log_probs: NextLogProbs, prompts: Sequence[Sequence[int]], max_new: int, eos_id: int | None = None
) -> list[Continuation]:
    """The most likely id at each step, for every prompt at once."""
    return _step_all(next_log_probs, prompts, max_new, eos_id, lambda log_probs: np.argmax(log_probs, axis=-1))


def sample(
    next_log_probs: NextLogProbs, prompts: Sequence[Sequence[int]], max_new: int, eos_id: int | None = None,
    rng: np.random.Generator | None = None, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
) -> list[Continuation]:
    """An id drawn at each step from `warp_log_probs`' distribution; the same `rng` state, the same ids.

    The log-likelihoods are the model's own (before warping).
    """
    rng = rng if rng is not None else np.random.default_rng()

    def choose(log_probs: np.ndarray) -> np.ndarray:
        probabilities = np.exp(warp_log_probs(log_probs, temperature, top_k, top_p))
        cumulative = np.cumsum(probabilities, axis=-1)
        draws = rng.random(len(probabilities))[:, None] * cumulative[:, -1:]
        return np.minimum((cumulative <= draws).sum(axis=-1), probabilities.shape[-1] - 1)

    return _step_all(next_log_probs, prompts, max_new, eos_id, choose)


def _step_all(
    next_log_probs: NextLogProbs, prompts: Sequence[Sequence[int]], max_new: int, eos_id: int | None,
    choose: Callable[[np.ndarray], np.ndarray],
) -> list[Continuation]:
    contexts = [list(prompt) for prompt in prompts]
    results = [Continuation([]) for _ in prompts]
    live = list(range(len(prompts)))
    for _ in range(max_new):
        if not live:
            break
        log_probs = np.asarray(next_log_probs([contexts[i] for i in live]), dtype=np.float64)
        chosen = choose(log_probs)
        still = []
        for row, index in enumerate(live):
            token = int(chosen[row])
            contexts[index].append(token)
            results[index].ids.append(token)
            results[index].log_likelihood += float(log_probs[row, token])
            if token != eos_id:
                still.append(index)
        live = still
    return results


def beam_search(
    next_log_probs: NextLogProbs, prompt: Sequence[int], max_new: int, eos_id: int | None = None,
    num_beams: int = 4, length_penalty: float = 1.0, rng: np.random.Generator | None = None,
    temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
) -> Continuation:
    """The best of `num_beams` continuations kept at each step (Hugging Face's beam search).

    Each step extends every beam, ranks the 2 x `num_beams` best extensions
    (drawn from the warped distribution instead when `rng` is given: beam
    sampling), and keeps `num_beams` that did not end; one that ends with
    `eos_id` among the top `num_beams` is finished. A continuation's score is
    its log-likelihood / length ** `length_penalty`. The greedy continuation
    competes with the beams, so the result never scores below it.
    """
    def score(candidate: Continuation) -> float:
        return candidate.log_likelihood / max(len(candidate.ids), 1) ** length_penalty

    beams = [Continuation([])]
    finished: list[Continuation] = []
    for step in range(max_new):
        log_probs = np.asarray(next_log_probs([list(prompt) + beam.ids for beam in beams]), dtype=np.float64)
        totals = np.array([beam.log_likelihood for beam in beams])[:, None] + log_probs
        flat = totals.ravel()
        width = min(2 * num_beams, np.isfinite(flat).sum())
        if rng is None:
            ranked = np.argsort(-flat, kind="stable")[:width]
        else:
            weights = np.exp(warp_log_probs(totals.reshape(1, -1), temperature, top_k, top_p)[0])
            ranked = rng.choice(flat.size, size=min(width, np.count_nonzero(weights)), replace=False, p=weights)
        kept = []
        for rank, position in enumerate(ranked):
            beam, token = divmod(int(position), log_probs.shape[-1])
            candidate = Continuation(beams[beam].ids + [token], float(flat[position]))
            if token == eos_id:
                if rank < num_beams:
                    finished.append(candidate)
            elif len(kept) < num_beams:
                kept.append(candidate)
        beams = kept
        if not beams:
            break
        if len(finished) >= num_beams:
            worst = sorted(map(score, finished), reverse=True)[num_beams - 1]
            if max(map(score, beams)) <= worst:
                break
    candidates = finished + beams + greedy_search(next_log_probs, [prompt], max_new, eos_id)
    return max(candidates, key=score)


def generate_ids(
    next_log_probs: NextLogProbs, prompts: Sequence[Sequence[int]], max_new: int, eos_id: int | None = None,
    do_sample: bool = False, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, num_beams: int = 1,
    seed: int | None = None, length_penalty: float = 1.0,
) -> list[Continuation]:
    """One continuation per prompt: greedy, sampled, beam or beam-sampled, as Hugging Face's `generate` chooses.

    `do_sample=False, num_beams=1`: greedy; `do_sample=True`: sampling with
    `temperature`, `top_k` (0: off) and `top_p` (1.0: off); `num_beams > 1`:
    beam search (beam sampling with `do_sample`). `seed` makes a draw
    repeatable; None draws anew each call.
    """
    check_generation_options(max_new, do_sample, temperature, top_k, top_p, num_beams, length_penalty, seed)
    rng = np.random.default_rng(seed) if do_sample else None
    if num_beams > 1:
        return [
            beam_search(next_log_probs, prompt, max_new, eos_id, num_beams, length_penalty, rng, temperature, top_k, top_p)
            for prompt in prompts
        ]
    if do_sample:
        return sample(next_log_probs, prompts, max_new, eos_id, rng, temperature, top_k, top_p)
    return greedy_search(next_log_probs, prompts, max_new, eos_id)


def _log_softmax(scores: np.ndarray) -> np.ndarray:
    top = np.max(scores, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return scores - top - np.log(np.sum(np.exp(scores - top), axis=-1, keepdims=True))

