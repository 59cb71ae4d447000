"""ESRGAN's VGG-style discriminator (``Discriminator_VGG_128``), made patch-size agnostic.

Five stages of (3x3 conv, 4x4 stride-2 conv) with BatchNorm and LeakyReLU(0.2), channels nf, 2nf,
4nf, 8nf, 8nf, then ``linear1`` (8nf*4*4 -> 100) and ``linear2`` (100 -> 1), with the names of
BasicSR's ``VGGStyleDiscriminator`` / mmsr's ``Discriminator_VGG_128``.

Patch size: the original flattens a 4x4 map and so only accepts 128-pixel patches. Here an
``AdaptiveAvgPool2d(4)`` sits before the flatten. For 128-pixel patches it is the identity (same
function, same weights as ESRGAN's); other sizes (>= 32, as the five stride-2 stages need) are
pooled to 4x4, so one image-level logit comes out for any patch, as the RaGAN loss expects.
"""

from __future__ import annotations

import torch
from torch import nn


class VGGDiscriminator(nn.Module):
    """Shapes: (N, in_ch, H, W) with H, W >= 32 -> (N, 1) logits."""

    MIN_SIZE = 32

    def __init__(self, in_ch: int = 3, nf: int = 64) -> None:
        super().__init__()
        chans = [nf, 2 * nf, 4 * nf, 8 * nf, 8 * nf]
        prev = in_ch
        for i, c in enumerate(chans):
            first_bias = i == 0
            setattr(self, f"conv{i}_0", nn.Conv2d(prev, c, 3, 1, 1, bias=first_bias))
            if i > 0:
                setattr(self, f"bn{i}_0", nn.BatchNorm2d(c, affine=True))
            setattr(self, f"conv{i}_1", nn.Conv2d(c, c, 4, 2, 1, bias=False))
            setattr(self, f"bn{i}_1", nn.BatchNorm2d(c, affine=True))
            prev = c
        self.n_stages = len(chans)
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.linear1 = nn.Linear(8 * nf * 4 * 4, 100)
        self.linear2 = nn.Linear(100, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if min(x.shape[-2:]) < self.MIN_SIZE:
            raise ValueError(
                f"VGGDiscriminator needs patches of at least {self.MIN_SIZE} pixels, got "
                f"{tuple(x.shape[-2:])}; use a larger HR patch size"
            )
        for i in range(self.n_stages):
            x = getattr(self, f"conv{i}_0")(x)
            if i > 0:
                x = getattr(self, f"bn{i}_0")(x)
            x = self.lrelu(x)
            x = self.lrelu(getattr(self, f"bn{i}_1")(getattr(self, f"conv{i}_1")(x)))
        x = self.pool(x).flatten(1)
        return self.linear2(self.lrelu(self.linear1(x)))
