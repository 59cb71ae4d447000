"""Synthetic corruptions: the paper's (Gaussian noise, JPEG compression, Gaussian blur) and a
camera's signal-dependent (Poisson-Gaussian) noise.

All take and return (3, H, W) float tensors in [0, 1]; randomness comes from an explicit
``torch.Generator`` so a dataset is reproducible from its seed.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, ImageFilter

from dsgan.io.images import tensor_to_uint8


def gaussian_noise(
    image: torch.Tensor, sigma: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Add i.i.d. Gaussian noise of std ``sigma`` (in 0..255 units) per pixel and channel, clamp."""
    noise = torch.randn(image.shape, generator=generator, dtype=torch.float32) * (sigma / 255.0)
    return (image + noise.to(image.device, image.dtype)).clamp(0, 1)


def poisson_gaussian_noise(
    image: torch.Tensor,
    peak: float,
    read_sigma: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """A sensor's noise: photon counts ``Poisson(peak * x) / peak`` (shot noise, std
    ``sqrt(x / peak)``: it grows with brightness) plus Gaussian read noise of std ``read_sigma``
    (0..255 units), independent per pixel and channel; clamped. ``peak``: photons at white (> 0);
    400 gives std 9 (of 255) at mid-grey, 4 at 10% grey."""
    if peak <= 0:
        raise ValueError(f"peak must be > 0, got {peak}")
    x = image.detach().float().cpu().clamp(0, 1)
    counts = torch.poisson(x * peak, generator=generator) / peak
    read = torch.randn(x.shape, generator=generator) * (read_sigma / 255.0)
    return (counts + read).clamp(0, 1).to(image.device, image.dtype)


def jpeg(image: torch.Tensor, quality: int) -> torch.Tensor:
    """Round-trip through Pillow's JPEG encoder at ``quality`` (1-95), 4:2:0 subsampling."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {quality}")
    buf = io.BytesIO()
    Image.fromarray(tensor_to_uint8(image)).save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as img:
        arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(arr.transpose(2, 0, 1).copy()).to(image.device, image.dtype)


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of std ``sigma`` pixels (Pillow's filter, as the authors' script)."""
    blurred = Image.fromarray(tensor_to_uint8(image)).filter(ImageFilter.GaussianBlur(sigma))
    arr = np.asarray(blurred, dtype=np.float32) / 255.0
    return torch.from_numpy(arr.transpose(2, 0, 1).copy()).to(image.device, image.dtype)


def quantize(image: torch.Tensor) -> torch.Tensor:
    """Round to 8-bit levels, as saving to PNG would."""
    return image.clamp(0, 1).mul(255).round().div(255)


def apply_corruptions(
    image: torch.Tensor,
    noise_sigma: float = 0.0,
    blur_sigma: float = 0.0,
    jpeg_quality: int | None = None,
    generator: torch.Generator | None = None,
    shot_peak: float = 0.0,
    blur_first: bool = False,
) -> torch.Tensor:
    """Noise, then blur, then JPEG (the authors' order); the result is 8-bit quantised.

    ``shot_peak`` > 0 makes the noise signal-dependent (:func:`poisson_gaussian_noise`, with
    ``noise_sigma`` as its read noise). ``blur_first``: blur before the noise, as in a camera
    (optics, then sensor), so the noise stays white.
    """
    out = image
    if blur_first and blur_sigma > 0:
        out = gaussian_blur(out, blur_sigma)
    if shot_peak > 0:
        out = poisson_gaussian_noise(out, shot_peak, noise_sigma, generator)
    elif noise_sigma > 0:
        out = gaussian_noise(out, noise_sigma, generator)
    if blur_sigma > 0 and not blur_first:
        out = gaussian_blur(out, blur_sigma)
    if jpeg_quality is not None:
        out = jpeg(out, jpeg_quality)
    return quantize(out)
