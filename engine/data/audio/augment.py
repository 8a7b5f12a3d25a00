"""Waveform augmentation of whole batches: a random time shift and background noise.

Random values are drawn on the CPU from the generator given for the batch (see
:func:`engine.data.core.iter_batches`) and then moved to the batch's device, so the same
seed gives the same augmentation on CPU and GPU and a resumed run repeats it exactly.
SpecAugment's time and frequency masks are a block in the graph, not part of the data.
"""

from __future__ import annotations

import torch


class WaveAugment:
    """Shift each clip by up to ``shift_samples`` either way (the samples shifted in are
    zeros, nothing wraps around), then mix in noise at a random level between 0 and
    ``noise_level`` times the clip's peak. The noise is a random stretch of ``noise_bank``
    (a 1-D tensor of background recordings, each stretch scaled to peak 1) or, without a
    bank, white or pink noise (half each). Call as ``augment(x, generator)`` on a batch
    [B, C, L]; ``x`` itself is never changed (a batch may be a view of the data)."""

    #: targets stay as they are (class labels, transcripts)
    moves_targets = False

    def __init__(self, shift_samples: int = 0, noise_level: float = 0.0,
                 noise_bank: torch.Tensor | None = None) -> None:
        if shift_samples < 0 or not 0.0 <= noise_level <= 1.0:
            raise ValueError("the shift must not be negative and the noise level must be in [0, 1]")
        self.shift = int(shift_samples)
        self.noise_level = float(noise_level)
        self.bank = None if noise_bank is None else noise_bank.detach().float().cpu().flatten()
        if self.bank is not None and self.bank.numel() == 0:
            raise ValueError("the noise bank holds no samples")

    @property
    def active(self) -> bool:
        """Whether it changes anything."""
        return self.shift > 0 or self.noise_level > 0

    def __repr__(self) -> str:
        bank = "generated" if self.bank is None else f"{self.bank.numel()} samples"
        return f"WaveAugment(shift={self.shift}, noise={self.noise_level:g}, noise bank={bank})"

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if x.dim() != 3:
            raise ValueError(f"WaveAugment takes clips [B, C, L], not a tensor of shape "
                             f"{list(x.shape)}")
        b, length = x.shape[0], x.shape[-1]
        if self.shift > 0:
            shifts = torch.randint(-self.shift, self.shift + 1, (b,), generator=generator)
            x = _shift(x, shifts)
        if self.noise_level > 0:
            levels = torch.rand(b, generator=generator) * self.noise_level
            noise = self._noise(b, length, generator).to(x.device, x.dtype)
            peak = x.abs().amax(dim=(1, 2))
            x = x + noise.unsqueeze(1) * (levels.to(x.device, x.dtype) * peak).view(b, 1, 1)
        return x

    def _noise(self, b: int, length: int, g: torch.Generator) -> torch.Tensor:
        """[b, length] noise with each row's peak 1, on the CPU."""
        if self.bank is not None:
            bank = self.bank
            if bank.numel() < length:
                bank = bank.repeat(-(-length // bank.numel()))
            starts = torch.randint(0, bank.numel() - length + 1, (b,), generator=g)
            noise = bank[starts.unsqueeze(1) + torch.arange(length)]
        else:
            pink = torch.rand(b, generator=g) < 0.5
            white = torch.randn(b, length, generator=g)
            spectrum = torch.fft.rfft(white, dim=1)
            scale = torch.arange(spectrum.shape[1], dtype=torch.float32).clamp_min(1.0).rsqrt()
            scale[0] = 0.0
            coloured = torch.fft.irfft(spectrum * scale, n=length, dim=1)
            noise = torch.where(pink.unsqueeze(1), coloured, white)
        return noise / noise.abs().amax(dim=1, keepdim=True).clamp_min(1e-12)


def _shift(x: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Each clip moved later by ``shifts[i]`` samples (earlier when negative), zero-filled."""
    length = x.shape[-1]
    index = torch.arange(length).unsqueeze(0) - shifts.unsqueeze(1)  # [B, L] source positions
    valid = (index >= 0) & (index < length)
    index = index.clamp(0, length - 1).to(x.device)
    moved = x.gather(2, index.unsqueeze(1).expand(-1, x.shape[1], -1))
    return moved * valid.to(x.device, x.dtype).unsqueeze(1)
