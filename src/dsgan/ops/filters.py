"""Frequency separation: low-pass L(x) and high-pass H(x) = x - L(x).

Downscaling keeps the low frequencies (colour, shading) and destroys the high ones (noise, texture),
so DSGAN keeps the former with an L1 "colour" loss and learns the latter adversarially.

Borders: the box filter averages only over pixels inside the image (``count_include_pad=False``), and
the Gaussian filter renormalises its weights the same way, so a constant image stays constant up to
the edge (no darkening) and its high-pass is exactly zero.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

FilterKind = Literal["box", "gaussian"]


def gaussian_kernel1d(kernel_size: int, sigma: float | None = None) -> torch.Tensor:
    """Normalised 1-D Gaussian; default sigma = kernel_size / 6 (as the authors' Gaussian filter)."""
    sigma = kernel_size / 6.0 if sigma is None else sigma
    x = torch.arange(kernel_size, dtype=torch.float64) - (kernel_size - 1) / 2
    k = torch.exp(-(x**2) / (2 * sigma**2))
    return (k / k.sum()).float()


class LowPass(nn.Module):
    """Low-pass filter, stride 1, output the same size as the input.

    Args:
        kind: ``box`` (average pooling, the seed's choice) or ``gaussian``.
        kernel_size: odd kernel size (default 5).
        padding: ``valid`` drops the border (output shrinks by kernel_size - 1), as the authors'
            colour loss does; ``same`` keeps the size with border-renormalised weights.
    """

    def __init__(
        self,
        kind: FilterKind = "box",
        kernel_size: int = 5,
        padding: Literal["same", "valid"] = "same",
    ) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and positive, got {kernel_size}")
        if kind not in ("box", "gaussian"):
            raise ValueError(f"unknown low-pass kind {kind!r}; use 'box' or 'gaussian'")
        if padding not in ("same", "valid"):
            raise ValueError(f"unknown padding {padding!r}; use 'same' or 'valid'")
        self.kind = kind
        self.kernel_size = kernel_size
        self.padding = padding
        k1 = (
            torch.full((kernel_size,), 1.0 / kernel_size)
            if kind == "box"
            else gaussian_kernel1d(kernel_size)
        )
        self.register_buffer("kernel", torch.outer(k1, k1)[None, None], persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, H, W), any range -> (N, C, H', W') low-pass."""
        _, c, h, w = x.shape
        k = self.kernel.to(dtype=x.dtype)
        weight = k.expand(c, 1, -1, -1)
        if self.padding == "valid":
            return F.conv2d(x, weight, groups=c)
        pad = self.kernel_size // 2
        num = F.conv2d(x, weight, padding=pad, groups=c)
        ones = torch.ones(1, 1, h, w, dtype=x.dtype, device=x.device)
        den = F.conv2d(ones, k, padding=pad)
        return num / den


class HighPass(nn.Module):
    """High-pass H(x) = x - L(x) with a same-size :class:`LowPass`."""

    def __init__(self, kind: FilterKind = "box", kernel_size: int = 5) -> None:
        super().__init__()
        self.low = LowPass(kind, kernel_size, padding="same")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, H, W) -> (N, C, H, W), zero-mean-ish detail in about [-1, 1]."""
        return x - self.low(x)
