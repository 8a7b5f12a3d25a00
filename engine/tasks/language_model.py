"""Character language model: next-token cross-entropy over [N, T, V] logits, perplexity,
and sampling from a prompt with temperature and top-k."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from engine.tasks.base import SampleOut, Task, eval_mode

DEFAULT_PROMPT = "def "


class LanguageModelTask(Task):
    kind: ClassVar[str] = "language_model"

    def loss(self, out: torch.Tensor, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        assert y is not None
        return F.cross_entropy(out.float().reshape(-1, out.shape[-1]), y.reshape(-1),
                               label_smoothing=self.spec.label_smoothing)

    def evaluate(self, split: Any, batch_size: int) -> dict[str, Any]:
        total, correct, count = 0.0, 0, 0
        with torch.no_grad(), eval_mode(self.models):
            for x, y in self.batches(split, batch_size):
                assert y is not None
                with self.autocast():
                    out = self.forward(x).float()
                flat = out.reshape(-1, out.shape[-1])
                total += F.cross_entropy(flat, y.reshape(-1), reduction="sum").item()
                correct += int((flat.argmax(-1) == y.reshape(-1)).sum().item())
                count += y.numel()
        loss = total / max(1, count)
        return {"loss": loss, "perplexity": math.exp(min(loss, 50.0)),
                "accuracy": correct / max(1, count)}

    def window(self) -> int:
        return int(self.bundle.input_shape[0]) if self.bundle.input_shape else 64

    def generate(self, prompt: str = DEFAULT_PROMPT, length: int = 200, temperature: float = 0.8,
                 top_k: int = 0, seed: int = 0) -> str:
        """``prompt`` continued by ``length`` characters (see :meth:`stream`)."""
        start = self.bundle.decode(self._start_ids(prompt)[0])
        return start + "".join(self.stream(prompt, length, temperature, top_k, seed))

    def _start_ids(self, prompt: str) -> tuple[list[int], int]:
        """The ids generation starts from (the prompt's, or the padding id for none) and
        the padding id (a space when the vocabulary has one)."""
        vocab = self.bundle.vocab or []
        pad_id = vocab.index(" ") if " " in vocab else 0
        return (self.bundle.encode(prompt).tolist() if prompt else [pad_id]), pad_id

    def stream(self, prompt: str = DEFAULT_PROMPT, length: int = 200, temperature: float = 0.8,
               top_k: int = 0, seed: int = 0) -> Iterator[str]:
        """Each of ``length`` new characters after ``prompt``, as it is sampled. The model
        sees the last window of text, left-padded with spaces, so any architecture with a
        fixed length works; the same seed gives the same text."""
        vocab = self.bundle.vocab or []
        ids, pad_id = self._start_ids(prompt)
        g = torch.Generator(device="cpu")
        g.manual_seed(seed)
        T = self.window()
        model = self.models["model"]
        with torch.no_grad(), eval_mode(self.models):
            for _ in range(length):
                ctx = ids[-T:]
                ctx = [pad_id] * (T - len(ctx)) + ctx
                x = torch.tensor([ctx], dtype=torch.long, device=self.device)
                with self.autocast():
                    logits = model(x)[0, -1].float().cpu()
                nxt = sample_logits(logits, temperature, top_k, g)
                ids.append(nxt)
                yield vocab[nxt]

    def sample(self, epoch: int) -> SampleOut | None:
        # a corpus without some of the prompt's characters (no "f") still gets its sample
        vocab = set(self.bundle.vocab or [])
        prompt = "".join(ch for ch in DEFAULT_PROMPT if ch in vocab)
        text = self.generate(prompt, 160, 0.8, 0, seed=self.seed + epoch)
        return SampleOut("text", text=text, caption=f"epoch {epoch}, temperature 0.8")


def sample_logits(logits: torch.Tensor, temperature: float, top_k: int,
                  generator: torch.Generator) -> int:
    """One id from 1-D ``logits``: greedy at temperature 0, else softmax(logits / T) over
    the ``top_k`` largest (all when 0)."""
    if temperature <= 0:
        return int(logits.argmax())
    logits = logits / temperature
    if 0 < top_k < logits.numel():
        kth = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, -1)
    return int(torch.multinomial(probs, 1, generator=generator))
