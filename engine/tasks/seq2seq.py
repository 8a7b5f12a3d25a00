"""Sequence to sequence (translation, summarisation): an encoder graph and a decoder graph.

The encoder reads the source ids [N, seq_len] and gives its memory [N, S, D]. The decoder
takes, by Input id, ``tokens`` (the target so far, [N, target_len - 1], padded with 0),
``memory`` (the encoder's output) and optionally ``source`` (the source ids, for masking
the source's padding), and gives logits [N, target_len - 1, V] for the next token at every
position. Its self-attention is causal, so position t sees only tokens 0..t.

Training is teacher forcing: the decoder reads the target shifted right (``y[:, :-1]``,
starting with BOS) and learns to give ``y[:, 1:]``; padding (id 0) is left out of the loss.
Decoding feeds the decoder the prefix decoded so far, padded with 0 to its fixed length,
and reads the logits at the last real position (see :mod:`engine.tasks.beam`): greedy for
the per-epoch samples, greedy or beam search (``task.beam_width``) for the evaluation.
Metrics compare the decoded text with the reference text, both through the target
tokenizer (so a lowercasing tokenizer compares lowercase with lowercase).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from engine.errors import UserError
from engine.tasks.base import SampleOut, Task, eval_mode
from engine.tasks.beam import Hypothesis, beam_search
from engine.tasks.text_metrics import text_metrics

PAD, UNK, BOS, EOS = 0, 1, 2, 3
#: the decoder graph's Input ids: what the task feeds each one
DECODER_INPUTS = ("tokens", "memory", "source")
SHOWN = 5  # validation sentences in the per-epoch sample
KEPT = 200  # (source, reference, output) rows kept in the evaluation


class Seq2SeqTask(Task):
    kind: ClassVar[str] = "seq2seq"
    graphs: ClassVar[tuple[str, ...]] = ("encoder", "decoder")
    higher_is_better: ClassVar[frozenset[str]] = Task.higher_is_better | {
        "exact_match", "bleu", "chrf", "rouge1", "rouge2", "rougeL", "token_accuracy"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = inspect.signature(self.models["decoder"].forward).parameters
        unknown = [n for n in names if n not in DECODER_INPUTS]
        if "tokens" not in names or "memory" not in names or unknown:
            raise UserError(f"the decoder graph's Inputs are {', '.join(names) or 'none'}, but "
                            f"it needs Inputs with the ids 'tokens' and 'memory' (and "
                            f"optionally 'source'), and no others")
        self._decoder_inputs = tuple(names)

    # --- the two graphs ------------------------------------------------------------------
    def encode(self, source: torch.Tensor) -> torch.Tensor:
        """The encoder's memory for source ids [N, seq_len]."""
        return self.models["encoder"](source)

    def decode(self, tokens: torch.Tensor, memory: torch.Tensor,
               source: torch.Tensor) -> torch.Tensor:
        """The decoder's logits [N, T, V] for target prefixes ``tokens`` [N, T]."""
        given = {"tokens": tokens, "memory": memory, "source": source}
        return self.models["decoder"](**{n: given[n] for n in self._decoder_inputs})

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # the base class's hook: memory
        return self.encode(x)

    # --- training ------------------------------------------------------------------------
    def _teacher_forced(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (float32) for every target position and the labels they predict."""
        with self.autocast():
            logits = self.decode(y[:, :-1], self.encode(x), x)
        return logits.float(), y[:, 1:]

    def loss(self, out: torch.Tensor, x: torch.Tensor, y: torch.Tensor | None,
             smoothing: float | None = None) -> torch.Tensor:
        """Cross-entropy of logits ``out`` [N, T, V] against labels ``y`` [N, T], padding
        (0) left out; label smoothing from the task unless ``smoothing`` is given."""
        assert y is not None
        eps = self.spec.label_smoothing if smoothing is None else smoothing
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1),
                               ignore_index=PAD, label_smoothing=eps)

    def train_step(self, x, y, step):
        logits, labels = self._teacher_forced(x, y)
        loss = self.loss(logits, x, labels)
        step("model", loss)
        with torch.no_grad():
            real = labels != PAD
            right = ((logits.argmax(-1) == labels) & real).sum()
            acc = right / real.sum().clamp(min=1)
        return {"loss": loss.detach(), "token_accuracy": acc.float()}

    # --- decoding ------------------------------------------------------------------------
    def target_length(self) -> int:
        """Tokens the decoder reads (target_len - 1): the most it can generate."""
        return int(self.bundle.target_shape[0]) - 1

    def generate(self, source: torch.Tensor, beam_width: int = 1) -> list[Hypothesis]:
        """Decode source ids [N, seq_len] (on the task's device); greedy at width 1."""
        length = self.target_length()
        with torch.no_grad(), eval_mode(self.models):
            with self.autocast():
                memory = self.encode(source)

            def step(prefix: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
                t = prefix.shape[1]
                tokens = F.pad(prefix, (0, length - t), value=PAD)
                with self.autocast():
                    logits = self.decode(tokens, memory[rows], source[rows])[:, t - 1].float()
                logits[:, PAD] = float("-inf")  # never a token to generate
                logits[:, BOS] = float("-inf")
                return logits.log_softmax(-1)

            return beam_search(step, source.shape[0], bos=BOS, eos=EOS, max_len=length,
                               width=beam_width, device=self.device)

    def _text(self, ids: Sequence[int], target: bool = True) -> str:
        """Token ids as text, through the side's tokenizer (or its vocabulary when the data
        has none), up to EOS, without PAD and BOS."""
        b = self.bundle
        tok = b.target_tokenizer if target else b.tokenizer
        ids = [int(i) for i in ids]
        if EOS in ids:
            ids = ids[:ids.index(EOS)]
        ids = [i for i in ids if i not in (PAD, BOS)]
        if tok is not None:
            return tok.decode(ids)
        vocab = (b.target_vocab or b.vocab) if target else b.vocab
        return "".join(vocab[i] for i in ids) if vocab else " ".join(map(str, ids))

    def translate(self, texts: list[str], beam_width: int = 1) -> list[str]:
        """The model's output text for each source text."""
        tok = self.bundle.tokenizer
        if tok is None:
            raise UserError("this run's data has no tokenizer, so typed text cannot be read")
        if not texts:
            return []
        ids = tok.encode_batch(list(texts), int(self.bundle.input_shape[0])).to(self.device)
        return [self._text(h.tokens) for h in self.generate(ids, beam_width)]

    # --- evaluation ----------------------------------------------------------------------
    def evaluate(self, split: Any, batch_size: int, beam_width: int | None = None) -> dict[str, Any]:
        """Teacher-forced loss and token accuracy, then the split decoded (greedy, or beam
        search of ``beam_width``, the task's by default) and scored as text."""
        width = int(beam_width or self.spec.beam_width)
        total, count, right = 0.0, 0, 0
        outputs: list[str] = []
        references: list[str] = []
        sources: list[str] = []
        rows = max(1, batch_size // width)  # beams x sentences stays about one batch
        with torch.no_grad(), eval_mode(self.models):
            for x, y in self.batches(split, batch_size):
                assert y is not None
                logits, labels = self._teacher_forced(x, y)
                real = labels != PAD
                total += self.loss(logits, x, labels, smoothing=0.0).item() * int(real.sum())
                count += int(real.sum())
                right += int(((logits.argmax(-1) == labels) & real).sum())
                for i in range(0, x.shape[0], rows):
                    hyps = self.generate(x[i:i + rows], width)
                    outputs += [self._text(h.tokens) for h in hyps]
                references += [self._text(r[1:]) for r in y.tolist()]
                sources += [self._text(r, target=False) for r in x.tolist()]
        if not outputs:
            return {}
        metrics: dict[str, Any] = {"loss": total / max(1, count),
                                   "token_accuracy": right / max(1, count)}
        metrics.update(text_metrics(outputs, references))
        originals = self._source_texts(split)
        shown = originals if originals is not None and len(originals) == len(sources) else sources
        metrics["samples"] = [{"source": s, "reference": r, "output": o}
                              for s, r, o in zip(shown[:KEPT], references[:KEPT],
                                                 outputs[:KEPT], strict=True)]
        metrics["beam_width"] = width
        return metrics

    def _source_texts(self, split: Any) -> list[str] | None:
        """The original source strings of ``split`` when it is one of the bundle's own."""
        texts = self.bundle.texts or {}
        for name in ("train", "val", "test"):
            if getattr(self.bundle, name) is split:
                return texts.get(name)
        return None

    # --- samples -------------------------------------------------------------------------
    def sample(self, epoch: int) -> SampleOut | None:
        """The same first validation sentences every epoch, decoded greedily, as
        ``source -> output (reference)`` lines."""
        val = self.bundle.val
        if val is None or len(val) == 0:
            return None
        x, y = next(iter(self.batches(val, SHOWN)))
        assert y is not None
        outs = [self._text(h.tokens) for h in self.generate(x, 1)]
        originals = self._source_texts(val)
        lines = []
        for i, out in enumerate(outs):
            src = originals[i] if originals else self._text(x[i].tolist(), target=False)
            ref = self._text(y[i, 1:].tolist())
            lines.append(f"{src} -> {out} ({ref})")
        return SampleOut("text", text="\n".join(lines),
                         caption=f"epoch {epoch}: {len(outs)} validation sentences, greedy")
