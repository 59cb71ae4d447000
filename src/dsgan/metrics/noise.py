"""Noise level and colour structure of the high-frequency residual.

- :func:`noise_sigma`: Immerkaer's fast noise variance estimator (1996): convolve with the
  Laplacian difference mask ``N = [[1,-2,1],[-2,4,-2],[1,-2,1]]`` (which cancels smooth structure up
  to second order), then ``sigma = sqrt(pi/2) * mean|I*N| / 6`` (``immerkaer``), or the robust
  ``median|I*N| / (0.6745 * 6)`` (``mad``, less sensitive to edges). Units: 0..255.
- :func:`channel_correlation`: Pearson correlation between colour channels of the high-pass
  residual ``x - box5(x)``. Real sensor noise after demosaicing is partly correlated across channels;
  independent per-channel synthetic noise gives ~0, grey (luma-only) noise ~1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F

from dsgan.ops.filters import HighPass

NoiseMethod = Literal["immerkaer", "mad"]

_MASK = torch.tensor([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])


def noise_sigma(image: torch.Tensor, method: NoiseMethod = "immerkaer") -> float:
    """Estimated additive noise std of one image, averaged over its channels.

    Args:
        image: (3, H, W) or (C, H, W) float in [0, 1], H, W >= 3.
        method: ``immerkaer`` (mean absolute response) or ``mad`` (median).

    Returns:
        sigma in 0..255 units (e.g. ~10 for Gaussian noise of std 10/255).
    """
    if image.ndim != 3 or image.shape[-1] < 3 or image.shape[-2] < 3:
        raise ValueError(f"expected a (C, H, W) image with H, W >= 3, got {tuple(image.shape)}")
    x = image.detach().double()[:, None]  # (C, 1, H, W)
    resp = F.conv2d(x, _MASK.double()[None, None]).abs().flatten(1)  # valid: (C, (H-2)(W-2))
    if method == "immerkaer":
        sigma = math.sqrt(math.pi / 2) * resp.mean(dim=1) / 6.0
    elif method == "mad":
        sigma = resp.median(dim=1).values / (0.6744897501960817 * 6.0)
    else:
        raise ValueError(f"unknown noise method {method!r}; use 'immerkaer' or 'mad'")
    return float(sigma.mean() * 255.0)


def mean_noise_sigma(images: Sequence[torch.Tensor], method: NoiseMethod = "immerkaer") -> float:
    """Mean of :func:`noise_sigma` over images (0..255 units)."""
    return float(sum(noise_sigma(im, method) for im in images) / len(images))


PAIRS = (("rg", 0, 1), ("rb", 0, 2), ("gb", 1, 2))


def channel_correlation(image: torch.Tensor, kernel_size: int = 5) -> dict[str, float]:
    """Cross-channel Pearson correlation of the high-pass residual of one RGB image.

    Args:
        image: (3, H, W) float in [0, 1].
        kernel_size: box size of the low-pass that the residual removes.

    Returns:
        ``{"rg", "rb", "gb", "mean"}`` in [-1, 1]; a pair with a flat channel counts as 0.
    """
    hp = HighPass("box", kernel_size)(image.detach().double()[None])[0].flatten(1)
    hp = hp - hp.mean(dim=1, keepdim=True)
    std = hp.pow(2).mean(dim=1).sqrt()
    out: dict[str, float] = {}
    for name, a, b in PAIRS:
        denom = float(std[a] * std[b])
        out[name] = float((hp[a] * hp[b]).mean() / denom) if denom > 1e-12 else 0.0
    out["mean"] = sum(out[n] for n, _, _ in PAIRS) / len(PAIRS)
    return out


def mean_channel_correlation(
    images: Sequence[torch.Tensor], kernel_size: int = 5
) -> dict[str, float]:
    """:func:`channel_correlation` averaged over images (each key separately)."""
    per = [channel_correlation(im, kernel_size) for im in images]
    return {k: float(sum(p[k] for p in per) / len(per)) for k in per[0]}
