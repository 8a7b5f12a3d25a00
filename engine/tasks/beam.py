"""Greedy and beam search over a step function, batched over sentences.

A *step function* ``step(prefix, rows) -> log_probs`` takes the prefixes decoded so far
([B', t] token ids, each starting with BOS) and, for each prefix, the index of the sentence
it belongs to (``rows`` [B'], so the caller can pick that sentence's encoder memory), and
returns the log-probabilities of the next token, [B', V]. Nothing here knows about models:
the sequence-to-sequence task builds the step function from its decoder graph, and the
tests from small tables.

Beam search keeps ``width`` live prefixes per sentence, ranked by their summed
log-probability. A prefix that ends with EOS among the best ``width`` candidates of a step
is finished; a sentence stops once it has ``width`` finished hypotheses and no live prefix
scores better than the worst of them (or at ``max_len`` tokens, where the live ones count
as finished without EOS). The answer is the
finished hypothesis with the best length-normalised score, ``logprob / length ** alpha``
(alpha 1: the mean log-probability per token, so short outputs are not favoured merely for
having fewer terms). With ``width`` 1 this is exactly greedy decoding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

StepFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """One decoded output: the generated ids (no BOS; EOS last when one was produced), their
    summed log-probability and the length-normalised score that ranked it."""

    tokens: list[int]
    logprob: float
    score: float


def normalised(logprob: float, length: int, alpha: float) -> float:
    """``logprob / length ** alpha``: the score beam search ranks finished outputs by."""
    return logprob / max(1, length) ** alpha


def greedy(step: StepFn, batch: int, *, bos: int, eos: int, max_len: int,
           device: torch.device | str = "cpu", alpha: float = 1.0) -> list[Hypothesis]:
    """The most likely next token at each step, for ``batch`` sentences at once; at most
    ``max_len`` generated tokens each, stopping at EOS."""
    rows = torch.arange(batch, device=device)
    prefix = torch.full((batch, 1), bos, dtype=torch.long, device=device)
    total = torch.zeros(batch, dtype=torch.float64, device=device)
    done = torch.zeros(batch, dtype=torch.bool, device=device)
    length = torch.zeros(batch, dtype=torch.long, device=device)
    for _ in range(max_len):
        logp = step(prefix, rows).float()
        best, nxt = logp.max(-1)
        total += torch.where(done, 0.0, best.double())
        length += (~done).long()
        nxt = torch.where(done, torch.zeros_like(nxt), nxt)
        prefix = torch.cat([prefix, nxt[:, None]], 1)
        done |= nxt == eos
        if bool(done.all()):
            break
    return [Hypothesis(ids[:n], lp, normalised(lp, n, alpha))
            for ids, lp, n in zip(prefix[:, 1:].tolist(), total.tolist(), length.tolist(),
                                  strict=True)]


def beam_search(step: StepFn, batch: int, *, bos: int, eos: int, max_len: int, width: int,
                device: torch.device | str = "cpu", alpha: float = 1.0) -> list[Hypothesis]:
    """Beam search of ``width`` for ``batch`` sentences at once (see the module's text)."""
    if width <= 1:
        return greedy(step, batch, bos=bos, eos=eos, max_len=max_len, device=device, alpha=alpha)
    B, K = batch, width
    rows = torch.arange(B, device=device).repeat_interleave(K)
    prefix = torch.full((B * K, 1), bos, dtype=torch.long, device=device)
    scores = torch.full((B, K), float("-inf"), dtype=torch.float64, device=device)
    scores[:, 0] = 0.0  # one live prefix to start from, not K copies of it
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    done = [False] * B
    for t in range(max_len):
        logp = step(prefix, rows).double()
        V = logp.shape[-1]
        cand = (scores.reshape(B * K, 1) + logp).reshape(B, K * V)
        top, idx = cand.topk(min(2 * K, K * V), dim=1)  # sorted, best first
        beam, tok = idx // V, idx % V
        is_eos = tok == eos
        # an EOS counts only when it is among the best K candidates (so that width 1 is
        # greedy); each beam gives at most one EOS, so K of the 2K are never EOS
        rank = torch.arange(top.shape[1], device=device).expand_as(top)
        ends = (is_eos & (rank < K) & torch.isfinite(top)).nonzero().tolist()
        for b, j in ends:
            if not done[b]:
                ids = prefix[b * K + int(beam[b, j]), 1:].tolist() + [eos]
                lp = float(top[b, j])
                _keep_best(finished[b], Hypothesis(ids, lp, normalised(lp, t + 1, alpha)), K)
        live = ~is_eos
        keep = live & (live.long().cumsum(1) <= K)
        pos = keep.nonzero()[:, 1].reshape(B, K)
        scores = top.gather(1, pos)
        parent = (torch.arange(B, device=device)[:, None] * K + beam.gather(1, pos)).reshape(-1)
        prefix = torch.cat([prefix[parent], tok.gather(1, pos).reshape(-1, 1)], 1)
        best_live = scores[:, 0].tolist()
        for b in range(B):
            # done once K outputs are finished and the best live prefix, scored at its
            # present length, is no better than the worst of them (as Hugging Face's
            # generate does without early stopping)
            done[b] = done[b] or (len(finished[b]) >= K and normalised(
                best_live[b], t + 1, alpha) <= finished[b][-1].score)
        if all(done):
            break
    else:
        for b in range(B):  # out of room: the live prefixes end here, without EOS
            if done[b]:
                continue
            for k in range(K):
                lp = float(scores[b, k])
                if lp > float("-inf"):
                    ids = prefix[b * K + k, 1:].tolist()
                    _keep_best(finished[b], Hypothesis(ids, lp, normalised(lp, len(ids), alpha)), K)
    return [f[0] if f else Hypothesis([], float("-inf"), float("-inf")) for f in finished]


def _keep_best(kept: list[Hypothesis], new: Hypothesis, k: int) -> None:
    """Add ``new`` to ``kept`` (best score first), keeping at most ``k``."""
    kept.append(new)
    kept.sort(key=lambda h: h.score, reverse=True)
    del kept[k:]
