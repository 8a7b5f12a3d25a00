"""CTC decoding: greedy best path and prefix beam search, checked against a brute-force
sum over every alignment."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from engine.tasks.ctc_decode import (
    ctc_decode,
    greedy_decode,
    labelling_log_prob,
    prefix_beam_search,
)


def one_hot_frames(path: list[int], vocab: int) -> torch.Tensor:
    """Log-probabilities [1, T, V] that put almost all mass on ``path``'s label per frame."""
    lp = torch.full((len(path), vocab), -20.0)
    lp[torch.arange(len(path)), torch.tensor(path)] = 0.0
    return lp.log_softmax(-1).unsqueeze(0)


def best_by_brute_force(lp: torch.Tensor) -> tuple[tuple[int, ...], float]:
    """The most probable labelling of ``lp`` [T, V] and its log-probability, by
    collapsing every one of the V**T paths (blank 0)."""
    frames, vocab = lp.shape
    mass: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(vocab), repeat=frames):
        labels = tuple(c for i, c in enumerate(path) if c != 0 and (i == 0 or c != path[i - 1]))
        p = math.exp(sum(lp[t, c].item() for t, c in enumerate(path)))
        mass[labels] = mass.get(labels, 0.0) + p
    best = max(mass, key=mass.__getitem__)
    return best, math.log(mass[best])


def test_greedy_collapses_repeats_and_drops_blanks():
    # a a _ a b b _ _ c  ->  a a b c (the blank keeps the two a's apart)
    lp = one_hot_frames([1, 1, 0, 1, 2, 2, 0, 0, 3], 4)
    assert greedy_decode(lp) == [[1, 1, 2, 3]]


def test_greedy_decodes_each_sample_of_a_batch():
    lp = torch.cat([one_hot_frames([0, 2, 2, 0], 4), one_hot_frames([0, 0, 0, 0], 4),
                    one_hot_frames([3, 0, 3, 1], 4)])
    assert greedy_decode(lp) == [[2], [], [3, 3, 1]]


def test_beam_finds_the_labelling_greedy_misses():
    # each frame: blank 0.6, "a" 0.4. Greedy reads blank, blank -> "" (p = 0.36), but
    # "a" is a_, _a or aa: p = 0.24 + 0.24 + 0.16 = 0.64
    lp = torch.tensor([[0.6, 0.4], [0.6, 0.4]]).log().unsqueeze(0)
    assert greedy_decode(lp) == [[]]
    assert prefix_beam_search(lp, 2) == [[1]]
    assert labelling_log_prob(lp[0], [1]) == pytest.approx(math.log(0.64))


def test_width_one_means_greedy():
    g = torch.Generator().manual_seed(1)
    lp = (torch.randn(6, 12, 5, generator=g) * 3).log_softmax(-1)
    assert ctc_decode(lp, 1) == greedy_decode(lp)


def test_narrow_beam_agrees_with_greedy_on_confident_frames():
    lp = one_hot_frames([2, 2, 0, 2, 1, 0, 1, 1, 3], 4)
    assert prefix_beam_search(lp, 1) == greedy_decode(lp) == [[2, 2, 1, 1, 3]]


def test_wide_beam_finds_the_most_probable_labelling():
    g = torch.Generator().manual_seed(0)
    for _ in range(40):
        lp = (torch.randn(5, 3, generator=g) * 2).log_softmax(-1)
        best, best_lp = best_by_brute_force(lp)
        found = prefix_beam_search(lp.unsqueeze(0), 30)[0]
        # ties aside, the same labelling; always one of the best probability
        assert labelling_log_prob(lp, found) == pytest.approx(best_lp, abs=1e-9)


def test_beam_never_does_worse_than_greedy():
    g = torch.Generator().manual_seed(2)
    lp = (torch.randn(8, 20, 6, generator=g) * 2).log_softmax(-1)
    for sample, greedy, beam in zip(lp, greedy_decode(lp), prefix_beam_search(lp, 8), strict=True):
        assert labelling_log_prob(sample, beam) >= labelling_log_prob(sample, greedy) - 1e-9


def test_bad_beam_width_is_refused():
    with pytest.raises(ValueError, match="beam_width"):
        prefix_beam_search(torch.zeros(1, 2, 3), 0)
