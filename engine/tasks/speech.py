"""Speech to text with CTC.

The model reads a clip [1, L] and gives a score per character for each of its output
frames, [frames, V], where V = len(bundle.target_vocab) and index 0 is the CTC blank.
Training minimises the CTC loss (``F.ctc_loss``, blank 0, float32): it sums over every
way of spreading the transcript over the frames, so no alignment is needed. Every clip
counts all its frames (shorter clips were padded with silence at the end, which the
model learns to score as blank). Evaluation decodes greedily or with a prefix beam
search (``task.beam_width``) and scores the text with jiwer's character and word error
rates (lower is better).

A CTC model needs at least as many frames as the transcript has characters, plus one
blank between each pair of equal neighbours ("oo" takes three frames); a network that
downsamples time too much cannot learn at all, so this is checked before training.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import jiwer
import torch
import torch.nn.functional as F

from engine.errors import UserError
from engine.tasks.base import SampleOut, Task, eval_mode
from engine.tasks.ctc_decode import BLANK, ctc_decode
from engine.tasks.images import first_samples

SHOWN = 5  # validation clips in the per-epoch sample
KEPT_SAMPLES = 200  # reference/output pairs evaluate() returns for the evaluation view


def frames_needed(labels: Sequence[Any]) -> int:
    """The fewest CTC frames a transcript (characters or ids) can be spread over: one per
    label, plus a blank between equal neighbours. Torch-free, for the fit rules."""
    repeats = sum(1 for a, b in zip(labels, labels[1:], strict=False) if a == b)
    return len(labels) + repeats


def speech_fit_problem(frames: int, longest: int) -> str | None:
    """The sentence to show when a speech model's ``frames`` output frames per clip are
    fewer than the ``longest`` transcript needs (see :func:`frames_needed`; the longest
    transcript's character count when the repeats are not known), else None."""
    if frames >= longest:
        return None
    return (f"The model gives {frames} output frames per clip, but the longest transcript "
            f"needs {longest} (one per character, plus a blank between repeated letters): "
            "CTC cannot align it, so the model could not learn. Downsample time less "
            "(a smaller stride or pooling over time, or a smaller LogMel hop_length), or "
            "keep the frames dimension out of the pooling.")


def ctc_frames_needed(y: torch.Tensor) -> int:
    """The most frames any target row of ``y`` [N, U] (ids padded with -1) needs."""
    if y.numel() == 0:
        return 0
    valid = y >= 0
    repeats = ((y[:, 1:] == y[:, :-1]) & valid[:, 1:]).sum(1)
    return int((valid.sum(1) + repeats).max())


class SpeechTask(Task):
    """CTC over characters: ``y`` [N, U] holds character ids into ``target_vocab``,
    padded with -1."""

    kind: ClassVar[str] = "speech"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.vocab = list(self.bundle.target_vocab or [])
        self._checked_frames: int | None = None
        self._shown: tuple[torch.Tensor, torch.Tensor | None] | None = None

    # --- training ------------------------------------------------------------------------
    def log_probs(self, out: torch.Tensor) -> torch.Tensor:
        """Log-probabilities [N, T, V] in float32 of the model's scores [N, T, V]."""
        self._check_output(out)
        return out.float().log_softmax(-1)

    def _check_output(self, out: torch.Tensor) -> None:
        """Raise a UserError unless ``out`` has the shape a CTC model must give."""
        if out.dim() != 3:
            shape = "[" + ", ".join(str(d) for d in out.shape[1:]) + "]"
            raise UserError(f"A speech model must output [frames, characters] per clip, but "
                            f"this one gives {shape}: end the network with a recurrent or "
                            "Linear layer over the frames, without pooling them away.")
        if self.vocab and out.shape[-1] < len(self.vocab):
            raise UserError(f"The model gives {out.shape[-1]} scores per frame, but the "
                            f"transcripts use {len(self.vocab)} characters (blank included): "
                            f"set the last Linear's out_features to {len(self.vocab)}.")

    def _check_frames(self, frames: int) -> None:
        """Raise the fit problem once per frame count if the training transcripts need
        more frames than the model gives (CTC would silently skip those clips)."""
        if frames == self._checked_frames:
            return
        y = getattr(self.bundle.train, "y", None)
        if y is not None:
            problem = speech_fit_problem(frames, ctc_frames_needed(y))
            if problem:
                raise UserError(problem)
        self._checked_frames = frames

    def ctc_losses(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-clip CTC loss [N], each divided by its transcript's length (as
        ``reduction="mean"`` does before averaging)."""
        lp = self.log_probs(out)
        n, frames = lp.shape[0], lp.shape[1]
        lengths = (y >= 0).sum(1)
        input_lengths = torch.full((n,), frames, dtype=torch.long, device=lp.device)
        losses = F.ctc_loss(lp.transpose(0, 1), y.clamp(min=0).long(), input_lengths, lengths,
                            blank=BLANK, reduction="none", zero_infinity=True)
        return losses / lengths.clamp(min=1).to(losses.dtype)

    def loss(self, out: torch.Tensor, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        assert y is not None
        self._check_output(out)
        self._check_frames(out.shape[1])
        return self.ctc_losses(out, y).mean()

    # --- decoding ------------------------------------------------------------------------
    def text(self, ids: Sequence[int]) -> str:
        """The characters of ids (an id the vocabulary lacks, from a model wider than the
        data, shows as "?")."""
        v = self.vocab
        return "".join(v[i] if 0 < i < len(v) else "?" for i in ids)

    def decode(self, out: torch.Tensor, beam_width: int = 1) -> list[str]:
        """The transcripts of model outputs [N, T, V]."""
        return [self.text(ids) for ids in ctc_decode(self.log_probs(out), beam_width)]

    def transcribe(self, waves: torch.Tensor, beam_width: int = 1, batch_size: int = 64) -> list[str]:
        """The transcripts of clips ``waves`` [N, 1, L] (at the data's sample rate)."""
        texts: list[str] = []
        with torch.no_grad(), eval_mode(self.models):
            for start in range(0, waves.shape[0], batch_size):
                x = waves[start:start + batch_size].to(self.device)
                with self.autocast():
                    out = self.forward(x)
                texts += self.decode(out.float(), beam_width)
        return texts

    def references(self, y: torch.Tensor) -> list[str]:
        """The transcripts of target rows ``y`` [N, U] (padding -1 dropped)."""
        return [self.text([i for i in row if i >= 0]) for row in y.tolist()]

    # --- evaluation ----------------------------------------------------------------------
    def evaluate(self, split: Any, batch_size: int, beam_width: int | None = None) -> dict[str, Any]:
        """Loss, CER and WER over ``split``, decoding with ``beam_width`` (the task's
        ``beam_width`` when None), and the first reference/output pairs."""
        width = int(beam_width or getattr(self.spec, "beam_width", 1) or 1)
        refs: list[str] = []
        hyps: list[str] = []
        total, count = 0.0, 0
        with torch.no_grad(), eval_mode(self.models):
            for x, y in self.batches(split, batch_size):
                assert y is not None
                with self.autocast():
                    out = self.forward(x)
                out = out.float()
                total += float(self.ctc_losses(out, y).sum())
                count += x.shape[0]
                hyps += self.decode(out, width)
                refs += self.references(y)
        if not count:
            return {}
        return {
            "loss": total / count,
            "cer": float(jiwer.cer(refs, hyps)),
            "wer": float(jiwer.wer(refs, hyps)),
            "samples": [{"reference": r, "output": h}
                        for r, h in zip(refs[:KEPT_SAMPLES], hyps[:KEPT_SAMPLES], strict=True)],
            "beam_width": width,
        }

    # --- samples -------------------------------------------------------------------------
    def sample(self, epoch: int) -> SampleOut | None:
        """The transcripts of the first SHOWN validation clips (the same every epoch, so
        epochs compare), each line "reference -> output"."""
        if self._shown is None:
            self._shown = first_samples(self.bundle.val, SHOWN, self.device)
        if self._shown is None:
            return None
        x, y = self._shown
        width = int(getattr(self.spec, "beam_width", 1) or 1)
        outputs = self.transcribe(x, width)
        refs = self.references(y) if y is not None else ["?"] * len(outputs)
        lines = [f"{r} -> {h}" for r, h in zip(refs, outputs, strict=True)]
        how = "greedy decoding" if width == 1 else f"beam width {width}"
        return SampleOut("text", text="\n".join(lines),
                         caption=f"epoch {epoch}: {len(lines)} validation clips ({how})")
