"""Bicubic resizing with MATLAB ``imresize`` semantics (antialiased when downscaling).

The SR literature builds its LR images with MATLAB's ``imresize(x, 1/s, 'bicubic')``; PyTorch's
``interpolate(..., antialias=True)`` differs from it by a few grey levels at borders. We build the
separable resampling matrices from MATLAB's kernel definition (Keys cubic, a = -0.5, kernel stretched by
1/scale when shrinking, symmetric border extension) and apply them as two matrix products, which is
exact, differentiable, and batched.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch


def cubic(x: torch.Tensor) -> torch.Tensor:
    """Keys cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``)."""
    ax = x.abs()
    ax2, ax3 = ax**2, ax**3
    near = (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))
    return near + far


@lru_cache(maxsize=64)
def _weights_matrix(in_len: int, out_len: int, scale: float, antialias: bool) -> torch.Tensor:
    """(out_len, in_len) float64 matrix M so that out = M @ in along one axis."""
    kernel_width = 4.0
    shrink = scale < 1 and antialias
    if shrink:
        kernel_width /= scale
    x = torch.arange(1, out_len + 1, dtype=torch.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = torch.floor(u - kernel_width / 2)
    taps = math.ceil(kernel_width) + 2
    idx = left[:, None] + torch.arange(taps, dtype=torch.float64)[None, :]
    dist = u[:, None] - idx
    w = scale * cubic(dist * scale) if shrink else cubic(dist)
    w = w / w.sum(dim=1, keepdim=True)
    # Symmetric extension at borders (MATLAB: [1:n, n:-1:1]), 1-based -> 0-based.
    idx0 = idx.long() - 1
    period = 2 * in_len
    idx0 = torch.remainder(idx0, period)
    idx0 = torch.where(idx0 >= in_len, period - 1 - idx0, idx0)
    mat = torch.zeros(out_len, in_len, dtype=torch.float64)
    mat.scatter_add_(1, idx0, w)
    return mat


def imresize(image: torch.Tensor, scale: float, antialias: bool = True) -> torch.Tensor:
    """Resize like MATLAB ``imresize(image, scale, 'bicubic')``.

    Args:
        image: (C, H, W) or (N, C, H, W) float tensor, any range (no clamping is done).
        scale: factor, e.g. 0.25 to shrink by 4. The output size is ceil(H * scale).
        antialias: stretch the kernel when shrinking (MATLAB's default).

    Returns:
        Tensor of the same dtype (float32 for integer inputs, unrounded) and device, spatial size
        (ceil(H*scale), ceil(W*scale)).
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    squeeze = image.ndim == 3
    x = image.unsqueeze(0) if squeeze else image
    if x.ndim != 4:
        raise ValueError(f"expected (C,H,W) or (N,C,H,W), got {tuple(image.shape)}")
    h, w = x.shape[-2:]
    out_h, out_w = math.ceil(h * scale), math.ceil(w * scale)
    dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    mh = _weights_matrix(h, out_h, float(scale), antialias).to(x.device, dtype)
    mw = _weights_matrix(w, out_w, float(scale), antialias).to(x.device, dtype)
    out = torch.matmul(torch.matmul(mh, x.to(dtype)), mw.t())
    if image.is_floating_point():
        out = out.to(image.dtype)  # half/bfloat16 in -> same out (computed in float32)
    return out.squeeze(0) if squeeze else out


def downscale(image: torch.Tensor, factor: int) -> torch.Tensor:
    """Bicubic antialiased downscale by an integer factor; H and W must be divisible by it."""
    h, w = image.shape[-2:]
    if h % factor or w % factor:
        raise ValueError(f"size {h}x{w} is not divisible by the scale {factor}")
    return imresize(image, 1.0 / factor)


def crop_to_multiple(image: torch.Tensor, factor: int) -> torch.Tensor:
    """Crop the bottom/right so that H and W are multiples of ``factor``."""
    h, w = image.shape[-2:]
    return image[..., : h - h % factor, : w - w % factor]
