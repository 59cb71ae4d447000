"""Full-reference metrics against ground truth: PSNR, SSIM, colour PSNR, LPIPS.

Definitions follow torchmetrics (and skimage with ``gaussian_weights=True``, ``sigma=1.5``,
``use_sample_covariance=False``, ``data_range=1``): images in [0, 1], data range 1, so PSNR matches
the usual 0..255 / 255 convention. ``y_channel=True`` uses the BT.601 luma of MATLAB's ``rgb2ycbcr``
(``16 + 65.481 R + 128.553 G + 24.966 B`` on 0..255, as SR papers report). ``crop_border`` removes
that many pixels on each side first. Colour PSNR is the PSNR of 5x5 box low-passed images: it
ignores noise and texture and measures colour/brightness fidelity only.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from dsgan.ops.filters import LowPass


def _check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape != y.shape or x.ndim != 3:
        raise ValueError(
            f"expected two (C, H, W) images of one size, got {tuple(x.shape)} and {tuple(y.shape)}"
        )


def rgb_to_y(image: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) RGB in [0, 1] -> (..., 1, H, W) BT.601 luma in [16/255, 235/255] (MATLAB
    rgb2ycbcr); a batch (N, 3, H, W) gives (N, 1, H, W)."""
    r, g, b = image[..., 0, :, :], image[..., 1, :, :], image[..., 2, :, :]
    return ((16.0 + 65.481 * r + 128.553 * g + 24.966 * b) / 255.0).unsqueeze(-3)


def prepare(image: torch.Tensor, y_channel: bool = False, crop_border: int = 0) -> torch.Tensor:
    """Crop ``crop_border`` pixels per side and optionally take the Y channel: (C, H', W') float64."""
    x = image.detach().double()
    if crop_border > 0:
        if min(x.shape[-2:]) <= 2 * crop_border:
            raise ValueError(
                f"crop_border {crop_border} leaves nothing of a {tuple(x.shape)} image"
            )
        x = x[:, crop_border:-crop_border, crop_border:-crop_border]
    return rgb_to_y(x) if y_channel else x


def psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    """PSNR in dB of (C, H, W) images in [0, 1] (data range 1); ``inf`` when identical."""
    _check_pair(x, y)
    if torch.equal(x, y):
        return math.inf
    return float(peak_signal_noise_ratio(x[None].double(), y[None].double(), data_range=1.0))


def ssim(x: torch.Tensor, y: torch.Tensor) -> float:
    """SSIM (Gaussian window 11, sigma 1.5, K1=0.01, K2=0.03, data range 1), mean over channels.

    Args:
        x, y: (C, H, W) images in [0, 1], H, W >= 11.
    """
    _check_pair(x, y)
    if min(x.shape[-2:]) < 11:
        raise ValueError(f"SSIM needs images of at least 11x11, got {tuple(x.shape)}")
    return float(
        structural_similarity_index_measure(
            x[None].double(),
            y[None].double(),
            gaussian_kernel=True,
            sigma=1.5,
            kernel_size=11,
            data_range=1.0,
            k1=0.01,
            k2=0.03,
        )
    )


def sr_quality(sr: torch.Tensor, hr: torch.Tensor, crop: int, space: str) -> tuple[float, float]:
    """(PSNR, SSIM) as SR papers report them: both images quantised to 8 bit, ``crop`` border
    pixels removed per side, on luma (``space="y"``) or ``"rgb"``.

    Args:
        sr, hr: (1, 3, H, W) or (3, H, W) images in [0, 1] (``sr`` is clamped).
    """
    a = sr.reshape(sr.shape[-3:]).clamp(0, 1).mul(255).round().div(255)
    b = hr.reshape(hr.shape[-3:]).clamp(0, 1).mul(255).round().div(255)
    a, b = (prepare(t, y_channel=space == "y", crop_border=crop) for t in (a, b))
    return psnr(a, b), ssim(a, b)


def color_psnr(x: torch.Tensor, y: torch.Tensor, kernel_size: int = 5) -> float:
    """PSNR of the ``kernel_size`` box low-passes of (C, H, W) images in [0, 1]."""
    _check_pair(x, y)
    low = LowPass("box", kernel_size, padding="same")
    return psnr(low(x[None].double())[0], low(y[None].double())[0])


def load_lpips(weights: str | Path | None = None, option: str = "--lpips-weights") -> nn.Module:
    """LPIPS (AlexNet) from :func:`dsgan.losses.perceptual.build_lpips`; ``UserError`` if no weights."""
    from dsgan.losses.perceptual import build_lpips

    return build_lpips(weights, option=option)


@torch.no_grad()
def lpips_distance(x: torch.Tensor, y: torch.Tensor, model: nn.Module) -> float:
    """LPIPS between two (3, H, W) images in [0, 1] (scaled to [-1, 1] for the network)."""
    _check_pair(x, y)
    dev = next(model.parameters()).device
    a = x.float()[None].to(dev) * 2 - 1
    b = y.float()[None].to(dev) * 2 - 1
    return float(model(a, b).mean())
