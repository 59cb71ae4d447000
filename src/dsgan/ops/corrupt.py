"""The paper's synthetic corruptions: Gaussian noise, JPEG compression, Gaussian blur.

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
) -> torch.Tensor:
    """Noise, then blur, then JPEG (the authors' order); the result is 8-bit quantised."""
    out = image
    if noise_sigma > 0:
        out = gaussian_noise(out, noise_sigma, generator)
    if blur_sigma > 0:
        out = gaussian_blur(out, blur_sigma)
    if jpeg_quality is not None:
        out = jpeg(out, jpeg_quality)
    return quantize(out)
