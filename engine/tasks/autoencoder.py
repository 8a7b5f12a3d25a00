"""Autoencoder: reconstruction loss (MSE or BCE); reconstructions of fixed validation
samples as an image grid."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from engine.tasks.base import SampleOut, Task, eval_mode
from engine.tasks.images import grid_png

SHOWN = 8


class AutoencoderTask(Task):
    kind: ClassVar[str] = "autoencoder"

    def _bce(self) -> bool:
        return (self.spec.loss or "mse").lower() in ("bce", "binary_cross_entropy")

    def loss(self, out: torch.Tensor, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        out = out.float().reshape(x.shape)
        if self._bce():
            return F.binary_cross_entropy(out.clamp(1e-6, 1 - 1e-6), x.float().clamp(0, 1))
        return F.mse_loss(out, x.float())

    def evaluate(self, split: Any, batch_size: int) -> dict[str, Any]:
        total_loss, total_mse, n = 0.0, 0.0, 0
        with torch.no_grad(), eval_mode(self.models):
            for x, _ in self.batches(split, batch_size):
                with self.autocast():
                    out = self.forward(x).float()
                k = x.shape[0]
                total_loss += self.loss(out, x, None).item() * k
                total_mse += F.mse_loss(out.reshape(x.shape), x.float()).item() * k
                n += k
        return {"loss": total_loss / max(1, n), "mse": total_mse / max(1, n)}

    def reconstruct_png(self, count: int = SHOWN) -> bytes:
        """Top row: the first ``count`` validation samples; bottom row: reconstructions."""
        x = self.bundle.val.x[:count].to(self.device)
        with torch.no_grad(), eval_mode(self.models), self.autocast():
            out = self.forward(x).float().reshape(x.shape)
        b = self.bundle
        both = torch.cat([b.denormalize(x.float()), b.denormalize(out)])
        if both.dim() != 4:  # vectors: show nothing meaningful as an image
            both = both.reshape(both.shape[0], 1, 1, -1)
        return grid_png(both, nrow=x.shape[0])

    def sample(self, epoch: int) -> SampleOut | None:
        if self.bundle.kind != "image":
            return None
        return SampleOut("image", png=self.reconstruct_png(),
                         caption=f"epoch {epoch}: validation samples (top), reconstructions (bottom)")
