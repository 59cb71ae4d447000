"""Colour loss: L1 between low-passes, so degradation never changes colours or shading."""

from __future__ import annotations

import torch
from torch import nn

from dsgan.ops.filters import FilterKind, LowPass


class ColorLoss(nn.Module):
    """mean |L(x) - L(y)| with a valid-padded low-pass (the authors' colour filter).

    Args:
        kind, kernel_size: the low-pass filter.
    Shapes: x, y (N, C, H, W) with H, W >= kernel_size -> scalar.
    """

    def __init__(self, kind: FilterKind = "box", kernel_size: int = 5) -> None:
        super().__init__()
        self.low = LowPass(kind, kernel_size, padding="valid")

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if x.shape != y.shape:
            raise ValueError(f"shape mismatch {tuple(x.shape)} vs {tuple(y.shape)}")
        return (self.low(x) - self.low(y)).abs().mean()
