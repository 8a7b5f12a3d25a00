"""Greedy and beam search (engine.tasks.beam) on step functions given by tables: the
log-probability of the next token depends only on the last one (a Markov chain), so the
best output is known exactly."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from engine.tasks.beam import beam_search, greedy, normalised

PAD, UNK, BOS, EOS = 0, 1, 2, 3
V = 6  # PAD, UNK, BOS, EOS, A=4, B=5


def chain(tables: torch.Tensor):
    """A step function over per-sentence tables [B, V, V] of next-token probabilities."""
    logt = tables.log()

    def step(prefix: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return logt[rows, prefix[:, -1]]

    return step


def random_tables(batch: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(batch, V, V, generator=g) ** 3  # peaked, so choices matter
    p[..., [PAD, BOS]] = 0.0  # never generated
    return p / p.sum(-1, keepdim=True)


def sequence_logprob(table: torch.Tensor, tokens: list[int]) -> float:
    last, total = BOS, 0.0
    for t in tokens:
        total += math.log(float(table[last, t]))
        last = t
    return total


def test_width_one_is_greedy():
    tables = random_tables(16, seed=1)
    a = greedy(chain(tables), 16, bos=BOS, eos=EOS, max_len=6)
    b = beam_search(chain(tables), 16, bos=BOS, eos=EOS, max_len=6, width=1)
    assert [h.tokens for h in a] == [h.tokens for h in b]
    for h, t in zip(a, tables, strict=True):
        assert h.logprob == pytest.approx(sequence_logprob(t, h.tokens), abs=1e-5)


def test_beam_finds_what_greedy_misses():
    # From BOS, A (0.6) beats B (0.4); but after A nothing is likely, while B ends surely.
    t = torch.full((V, V), 1e-9)
    t[BOS, 4], t[BOS, 5] = 0.6, 0.4
    t[4, EOS], t[4, 4], t[4, 5] = 0.35, 0.33, 0.32
    t[5, EOS] = 0.99
    t[[4, 5], 1] = 1e-9
    t = (t / t.sum(-1, keepdim=True))[None]
    g = greedy(chain(t), 1, bos=BOS, eos=EOS, max_len=5)[0]
    b = beam_search(chain(t), 1, bos=BOS, eos=EOS, max_len=5, width=2)[0]
    assert g.tokens == [4, EOS]
    assert b.tokens == [5, EOS]
    assert b.logprob > g.logprob and b.score > g.score


def test_beam_is_never_worse_than_greedy():
    """With a width covering every sequence, beam search is exact: its length-normalised
    score is the best of all outputs, so at least greedy's; a narrow beam, on these
    tables, is at least as good too."""
    tables = random_tables(12, seed=7)
    L = 4
    g = greedy(chain(tables), 12, bos=BOS, eos=EOS, max_len=L)
    exact = beam_search(chain(tables), 12, bos=BOS, eos=EOS, max_len=L, width=4 ** L)
    narrow = beam_search(chain(tables), 12, bos=BOS, eos=EOS, max_len=L, width=3)
    for gh, eh, nh, table in zip(g, exact, narrow, tables, strict=True):
        assert eh.score >= gh.score - 1e-9
        assert nh.score >= gh.score - 1e-9
        assert eh.logprob == pytest.approx(sequence_logprob(table, eh.tokens), abs=1e-5)
        # brute force over every output of up to L tokens (ended by EOS, or cut at L)
        best = max(normalised(sequence_logprob(table, list(s)), len(s), 1.0)
                   for n in range(1, L + 1) for s in itertools.product((UNK, EOS, 4, 5), repeat=n)
                   if EOS not in s[:-1] and (s[-1] == EOS or n == L))
        assert eh.score == pytest.approx(best, abs=1e-6)


def test_sentences_of_a_batch_are_decoded_independently():
    tables = random_tables(5, seed=3)
    together = beam_search(chain(tables), 5, bos=BOS, eos=EOS, max_len=6, width=3)
    alone = [beam_search(chain(tables[i:i + 1]), 1, bos=BOS, eos=EOS, max_len=6, width=3)[0]
             for i in range(5)]
    assert [h.tokens for h in together] == [h.tokens for h in alone]


def test_output_is_cut_at_max_len_without_eos():
    t = torch.full((1, V, V), 1e-9)
    t[0, :, 4] = 1.0  # always A, never EOS
    for width in (1, 3):
        h = beam_search(chain(t), 1, bos=BOS, eos=EOS, max_len=5, width=width)[0]
        assert h.tokens == [4] * 5
