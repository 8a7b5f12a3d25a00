"""What each source hands to the loader before splitting and normalisation."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Raw:
    """Samples as read from a source.

    ``x``: every sample (or the pool that train and val are drawn from when the source has
    its own ``test``). Images are [N, C, H, W], uint8 (0-255) or float (0-1); ``text``
    replaces ``x`` for character corpora, which are split by position, not by sample.
    """

    kind: str
    x: torch.Tensor | None
    y: torch.Tensor | None
    target: str
    source: str
    classes: list[str] | None = None
    test: tuple[torch.Tensor, torch.Tensor | None] | None = None
    target_shape: tuple[int, ...] = ()
    text: str | None = None
