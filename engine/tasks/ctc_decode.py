"""CTC decoding: from per-frame log-probabilities [N, T, V] to label sequences.

Two decoders, both with the blank at index 0 by default:

- :func:`greedy_decode`: the most probable label of each frame, repeats collapsed and
  blanks dropped (one tensor pass for the whole batch);
- :func:`prefix_beam_search`: CTC prefix beam search, which keeps the ``beam_width`` most
  probable *labellings* (summed over every frame alignment that collapses to them), so it
  finds transcripts that greedy decoding misses when probability is spread over
  alignments.

Written here rather than taken from a library, for these reasons (checked for torch
2.13): torchaudio's newest release on PyPI (2.11) is built for an older torch, so it
cannot be installed beside ours, and its CTC decoder needs flashlight-text besides;
pyctcdecode (last release 0.5.0, 2023) pins numpy < 2 while the project uses numpy 2,
and what it adds over a plain prefix beam search (KenLM language models, hotwords) is
what we do not use. The search without a language model is short, and the tests check
it against a brute-force sum over alignments.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

BLANK = 0


def greedy_decode(log_probs: torch.Tensor, blank: int = BLANK) -> list[list[int]]:
    """Best-path decoding of ``log_probs`` [N, T, V] (any scores whose argmax is the
    most probable label: logits work too): per sample, the argmax labels with
    consecutive repeats merged and blanks removed."""
    best = log_probs.argmax(-1)  # [N, T]
    changed = torch.ones_like(best, dtype=torch.bool)
    changed[:, 1:] = best[:, 1:] != best[:, :-1]
    keep = changed & (best != blank)
    counts = keep.sum(1).tolist()
    return [part.tolist() for part in torch.split(best[keep], counts)]


def prefix_beam_search(log_probs: torch.Tensor, beam_width: int,
                       blank: int = BLANK) -> list[list[int]]:
    """CTC prefix beam search over ``log_probs`` [N, T, V] (log-softmax outputs): per
    sample, the most probable labelling found keeping ``beam_width`` prefixes at each
    frame. A prefix's probability is split into paths ending in a blank and paths ending
    in its last label, so that "a a" (two labels) and "aa" (one) are told apart.

    With ``beam_width`` 1 this keeps the single most probable prefix, which is not always
    greedy decoding's path: use :func:`ctc_decode` for "1 means greedy"."""
    if beam_width < 1:
        raise ValueError(f"beam_width must be at least 1, not {beam_width}")
    lp = log_probs.detach().float().cpu().numpy().astype(np.float64)
    return [_search_one(sample, beam_width, blank)[0] for sample in lp]


def ctc_decode(log_probs: torch.Tensor, beam_width: int = 1, blank: int = BLANK) -> list[list[int]]:
    """Greedy decoding for ``beam_width`` 1 (the project's meaning of width 1), else
    :func:`prefix_beam_search`."""
    if beam_width <= 1:
        return greedy_decode(log_probs, blank)
    return prefix_beam_search(log_probs, beam_width, blank)


def labelling_log_prob(log_probs: torch.Tensor, labels: Sequence[int], blank: int = BLANK) -> float:
    """log P(labels | log_probs [T, V]) summed over all alignments (the CTC forward
    algorithm, through ``F.ctc_loss``); -inf when ``labels`` needs more frames than T."""
    lp = log_probs.detach().double().cpu().unsqueeze(1)  # [T, 1, V]
    target = torch.tensor([list(labels)], dtype=torch.long).reshape(1, -1)
    nll = torch.nn.functional.ctc_loss(
        lp, target, torch.tensor([lp.shape[0]]), torch.tensor([len(labels)]),
        blank=blank, reduction="sum", zero_infinity=False)
    return -float(nll)


def _search_one(lp: np.ndarray, width: int, blank: int) -> tuple[list[int], float]:
    """Prefix beam search over one utterance's log-probabilities ``lp`` [T, V]: the best
    labelling and its log-probability under the kept beams.

    Each frame scores every beam staying as it is and every beam extended by one label
    as arrays [B] and [B, V]; an extension that equals a prefix already in the beam is
    merged into it first, so the top ``width`` are taken over distinct prefixes, exactly.
    """
    neg = -np.inf
    prefixes: list[tuple[int, ...]] = [()]
    p_blank = np.array([0.0])  # log P(prefix, the path so far ends in a blank)
    p_label = np.array([neg])  # log P(prefix, the path ends in the prefix's last label)
    v = lp.shape[1]
    for frame in lp:
        last = np.array([p[-1] if p else -1 for p in prefixes])
        total = np.logaddexp(p_blank, p_label)
        stay_blank = total + frame[blank]
        # the same label again without a blank between stays the same prefix
        stay_label = np.where(last >= 0, p_label + frame[np.maximum(last, 0)], neg)
        # extending by c: from any path, except c == last which needs a blank between
        grow = total[:, None] + frame[None, :]
        has_last = last >= 0
        rows = np.nonzero(has_last)[0]
        grow[rows, last[rows]] = p_blank[rows] + frame[last[rows]]
        grow[:, blank] = neg
        index = {p: i for i, p in enumerate(prefixes)}
        for i, p in enumerate(prefixes):  # "ab" is also "a" extended by "b"
            parent = index.get(p[:-1]) if p else None
            if parent is not None:
                stay_label[i] = np.logaddexp(stay_label[i], grow[parent, p[-1]])
                grow[parent, p[-1]] = neg
        scores = np.concatenate([np.logaddexp(stay_blank, stay_label), grow.reshape(-1)])
        k = min(width, int(np.isfinite(scores).sum()) or 1)
        top = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
        top = top[np.argsort(-scores[top], kind="stable")]
        b = len(prefixes)
        new_prefixes, new_blank, new_label = [], [], []
        for j in top.tolist():
            if j < b:
                new_prefixes.append(prefixes[j])
                new_blank.append(stay_blank[j])
                new_label.append(stay_label[j])
            else:
                parent, c = divmod(j - b, v)
                new_prefixes.append((*prefixes[parent], c))
                new_blank.append(neg)
                new_label.append(grow[parent, c])
        prefixes, p_blank, p_label = new_prefixes, np.array(new_blank), np.array(new_label)
    totals = np.logaddexp(p_blank, p_label)
    best = int(np.argmax(totals))
    return list(prefixes[best]), float(totals[best])
