"""GAN: a generator and a discriminator graph, one optimizer each, BCE or hinge loss,
``d_steps`` discriminator updates per generator update, and a sample grid drawn from the
same fixed noise every epoch (so the grids show progress, not luck)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from engine.tasks.base import SampleOut, Task, eval_mode
from engine.tasks.images import grid_png

GRID = 64


class GanTask(Task):
    kind: ClassVar[str] = "gan"
    graphs: ClassVar[tuple[str, ...]] = ("generator", "discriminator")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._count = 0  # discriminator steps since the last generator step
        g = torch.Generator().manual_seed(self.seed + 12345)
        self.fixed_noise = torch.randn(GRID, self.latent_dim(), generator=g).to(self.device)

    def latent_dim(self) -> int:
        return int(self.spec.latent_dim)

    def optimizers(self) -> dict[str, list[str]]:
        return {"discriminator": ["discriminator"], "generator": ["generator"]}

    def state_dict(self) -> dict[str, Any]:
        return {"count": self._count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._count = int(state.get("count", 0))

    def _hinge(self) -> bool:
        return (self.spec.loss or "bce").lower() == "hinge"

    def real(self, x: torch.Tensor) -> torch.Tensor:
        """Data mapped to [-1, 1], the range of a Tanh generator."""
        return (self.bundle.denormalize(x.float()).clamp(0, 1) * 2 - 1).to(x.dtype)

    def d_loss(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
        d_real, d_fake = d_real.float().reshape(-1), d_fake.float().reshape(-1)
        if self._hinge():
            return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
        return (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))

    def g_loss(self, d_fake: torch.Tensor) -> torch.Tensor:
        d_fake = d_fake.float().reshape(-1)
        if self._hinge():
            return -d_fake.mean()
        return F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.latent_dim(), device=self.device)

    def train_step(self, x, y, step):
        gen, disc = self.models["generator"], self.models["discriminator"]
        real = self.real(x)
        with self.autocast():
            fake = gen(self.noise(x.shape[0]))
            d_loss = self.d_loss(disc(real), disc(fake.detach()))
        step("discriminator", d_loss)
        self._count += 1
        out = {"loss": d_loss.detach(), "d_loss": d_loss.detach()}
        if self._count >= self.spec.d_steps:
            self._count = 0
            with self.autocast():
                g_loss = self.g_loss(disc(fake))
            step("generator", g_loss)
            out["g_loss"] = g_loss.detach()
            out["loss"] = d_loss.detach() + g_loss.detach()
        return out

    def evaluate(self, split: Any, batch_size: int) -> dict[str, Any]:
        gen, disc = self.models["generator"], self.models["discriminator"]
        tot = {"d_loss": 0.0, "g_loss": 0.0, "d_real": 0.0, "d_fake": 0.0}
        n = 0
        g = torch.Generator().manual_seed(self.seed + 999)
        with torch.no_grad(), eval_mode(self.models):
            for x, _ in self.batches(split, batch_size):
                z = torch.randn(x.shape[0], self.latent_dim(), generator=g).to(self.device)
                with self.autocast():
                    dr = disc(self.real(x)).float()
                    df = disc(gen(z)).float()
                k = x.shape[0]
                tot["d_loss"] += self.d_loss(dr, df).item() * k
                tot["g_loss"] += self.g_loss(df).item() * k
                tot["d_real"] += torch.sigmoid(dr).mean().item() * k
                tot["d_fake"] += torch.sigmoid(df).mean().item() * k
                n += k
        m = {k: v / max(1, n) for k, v in tot.items()}
        m["loss"] = m["d_loss"] + m["g_loss"]
        return m

    def generate_png(self, count: int = GRID, seed: int | None = None) -> bytes:
        """A grid of generated images: the fixed noise, or fresh noise from ``seed``."""
        if seed is None:
            z = self.fixed_noise[:count]
        else:
            g = torch.Generator().manual_seed(seed)
            z = torch.randn(count, self.latent_dim(), generator=g).to(self.device)
        with torch.no_grad(), eval_mode(self.models), self.autocast():
            img = self.models["generator"](z).float()
        return grid_png((img + 1) / 2, nrow=8)

    def sample(self, epoch: int) -> SampleOut | None:
        return SampleOut("image", png=self.generate_png(), caption=f"epoch {epoch}, fixed noise")
