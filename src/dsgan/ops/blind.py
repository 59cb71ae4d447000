"""Hand-crafted blind degradation pipelines that turn an HR image into a synthetic LR image.

Two standard baselines for "SR trained on synthetic pairs", implemented from the published
parameter ranges (written here from the papers and the authors' published settings; no code
copied):

* :func:`realesrgan_degrade`: the second-order degradation of X. Wang, L. Xie, C. Dong, Y. Shan,
  "Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure Synthetic Data", ICCVW 2021,
  with the ranges of its ``options/train_realesrnet_x4plus.yml``.
* :func:`bsrgan_degrade`: the randomly shuffled degradation of K. Zhang, J. Liang, L. Van Gool,
  R. Timofte, "Designing a Practical Degradation Model for Deep Blind Image Super-Resolution",
  ICCV 2021 (``degradation_bsrgan`` in its ``utils/utils_blindsr.py``).

Both map a (3, H, W) float tensor in [0, 1] (H, W multiples of ``scale``) to a (3, H/scale,
W/scale) float tensor in [0, 1] on 8-bit levels, on the input's device and dtype (the work itself
runs on the CPU: JPEG goes through Pillow). Every random choice comes from the ``generator``
argument, so one seed gives one output.

No maintained library was usable: ``basicsr`` (last release 1.4.2, 2022) fails to import
``basicsr.data.degradations`` with torchvision >= 0.17 (``torchvision.transforms.functional_tensor``
is gone; the upstream fix is unmerged, only unofficial forks carry it); the ``realesrgan`` package
builds on ``basicsr``, and its second-order loop lives in a training model, not a function; the
BSRGAN code is numpy/OpenCV drawing from global random state.

Simplifications:

* Both: JPEG by Pillow (integer quality, 4:2:0) instead of DiffJPEG (Real-ESRGAN, float quality)
  or OpenCV (BSRGAN); OpenCV's linear/cubic/area resizes become ``F.interpolate`` bilinear/bicubic/
  area; kernels are not zero-padded to 21x21 (the same filter); borders are mirrored, or replicated
  on images too small to mirror. Per image, no batch: nothing is shared across a batch, and the
  training-loop parts (random crops, Real-ESRGAN's pair pool and USM sharpening of the HR target)
  are left out.
* Real-ESRGAN: the resize scale is turned into an output size, floor(side * scale), and used
  as such.
* BSRGAN: the optional camera-sensor (ISP) noise is skipped, so six steps are shuffled; no
  mod-crop or minimum size (sizes must divide, or ValueError); the general-covariance noise uses
  (25/255)^2 U^T D U itself (the reference takes its element-wise absolute value, which need not
  stay positive semi-definite); blur widths drawn as ~0 are floored at sigma 0.1; the shifted
  kernel of the nearest-downsampling branch is built at its offset instead of interpolated.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from dsgan.ops.blind_kernels import (
    KERNEL_SIZES,
    anisotropic_kernel,
    filter2d,
    poisson,
    rand,
    randint,
    randn,
    random_mixed_kernel,
    random_sinc_kernel,
    uniform,
)
from dsgan.ops.corrupt import jpeg, quantize
from dsgan.ops.resize import imresize

_MODES = ("area", "bilinear", "bicubic")
_GRAY = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)


def _prepare(hr: torch.Tensor, scale: int) -> tuple[torch.Tensor, int, int]:
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive int, got {scale!r}")
    if hr.ndim != 3 or hr.shape[0] != 3 or not hr.is_floating_point():
        raise ValueError(f"expected a (3, H, W) float tensor, got {tuple(hr.shape)} {hr.dtype}")
    h, w = hr.shape[-2:]
    if h % scale or w % scale:
        raise ValueError(f"H and W must be multiples of scale={scale}, got {h}x{w}")
    return hr.detach().float().cpu().clamp(0, 1), h, w


def _resize(x: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    """Resize a (C, H, W) tensor to ``size`` (each side at least 1) with an interpolate mode."""
    size = (max(1, size[0]), max(1, size[1]))
    extra = {} if mode in ("area", "nearest") else {"align_corners": False}
    return F.interpolate(x[None], size=size, mode=mode, **extra)[0]


def _random_mode(generator: torch.Generator | None) -> str:
    return _MODES[randint(generator, 0, len(_MODES) - 1)]


# ----------------------------------------------------------------------------- Real-ESRGAN


class _Round(NamedTuple):
    """One round of Real-ESRGAN's degradation (``train_realesrnet_x4plus.yml``)."""

    blur_sigma: tuple[float, float]
    resize_probs: tuple[float, float, float]  # up, down, keep
    resize_range: tuple[float, float]
    noise_sigma: tuple[float, float]  # Gaussian, in 0..255 units
    poisson_scale: tuple[float, float]
    gaussian_prob: float = 0.5
    gray_prob: float = 0.4


_ROUND1 = _Round((0.2, 3.0), (0.2, 0.7, 0.1), (0.15, 1.5), (1.0, 30.0), (0.05, 3.0))
_ROUND2 = _Round((0.2, 1.5), (0.3, 0.4, 0.3), (0.3, 1.2), (1.0, 25.0), (0.05, 2.5))
_SECOND_BLUR_PROB = 0.8
_FINAL_SINC_PROB = 0.8
_JPEG_RANGE = (30, 95)


def _resize_factor(generator: torch.Generator | None, rnd: _Round) -> float:
    u = uniform(generator, 0.0, 1.0)
    up, down, _ = rnd.resize_probs
    if u < up:
        return uniform(generator, 1.0, rnd.resize_range[1])
    if u < up + down:
        return uniform(generator, rnd.resize_range[0], 1.0)
    return 1.0


def _gaussian_noise(x: torch.Tensor, generator: torch.Generator | None, rnd: _Round):
    sigma = uniform(generator, *rnd.noise_sigma) / 255.0
    gray = uniform(generator, 0.0, 1.0) < rnd.gray_prob
    c, h, w = x.shape
    return x + sigma * randn(generator, 1 if gray else c, h, w).expand(c, h, w)


def _poisson_noise(x: torch.Tensor, generator: torch.Generator | None, rnd: _Round):
    """Shot noise: counts at 2^ceil(log2(#distinct 8-bit levels)) levels, times a scale."""
    scale = uniform(generator, *rnd.poisson_scale)
    gray = uniform(generator, 0.0, 1.0) < rnd.gray_prob
    src = quantize((x * _GRAY).sum(0, keepdim=True) if gray else x)
    levels = 2.0 ** math.ceil(math.log2(len(torch.unique(src))))
    noise = poisson(src * levels, generator) / levels - src
    return x + scale * noise.expand_as(x)


def _noise(x: torch.Tensor, generator: torch.Generator | None, rnd: _Round) -> torch.Tensor:
    if uniform(generator, 0.0, 1.0) < rnd.gaussian_prob:
        return _gaussian_noise(x, generator, rnd).clamp(0, 1)
    return _poisson_noise(x, generator, rnd).clamp(0, 1)


def realesrgan_degrade(
    hr: torch.Tensor, scale: int = 4, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Real-ESRGAN's second-order degradation of one HR image.

    Round 1: blur (mixed kernel, sigma [0.2, 3]), random resize (up/down/keep 0.2/0.7/0.1,
    [0.15, 1.5]), Gaussian (sigma [1, 30]) or Poisson (scale [0.05, 3]) noise, JPEG [30, 95].
    Round 2: blur with prob 0.8 (sigma [0.2, 1.5]), resize relative to the LR size (0.3/0.4/0.3,
    [0.3, 1.2]), noise (sigma [1, 25], Poisson [0.05, 2.5]). Final: {resize to the LR size +
    sinc filter (prob 0.8)} and JPEG [30, 95], in random order.

    Args:
        hr: (3, H, W) float tensor in [0, 1]; H and W multiples of ``scale``.
        scale: integer downscaling factor.
        generator: source of all randomness (``None``: torch's global generator).

    Returns:
        (3, H // scale, W // scale) tensor in [0, 1] on 8-bit levels, ``hr``'s device and dtype.

    Raises:
        ValueError: on a non-(3, H, W) input, a bad scale, or sides not multiples of it.
    """
    x, h, w = _prepare(hr, scale)
    g = generator
    target = (h // scale, w // scale)
    k1 = random_mixed_kernel(g, _ROUND1.blur_sigma)
    k2 = random_mixed_kernel(g, _ROUND2.blur_sigma)
    if uniform(g, 0.0, 1.0) < _FINAL_SINC_PROB:
        size = KERNEL_SIZES[randint(g, 0, len(KERNEL_SIZES) - 1)]
        final_kernel = random_sinc_kernel(g, size, final=True)
    else:
        final_kernel = None

    out = filter2d(x, k1)
    f = _resize_factor(g, _ROUND1)
    out = _resize(out, (int(h * f), int(w * f)), _random_mode(g))
    out = _noise(out, g, _ROUND1)
    out = jpeg(out, randint(g, *_JPEG_RANGE))

    if uniform(g, 0.0, 1.0) < _SECOND_BLUR_PROB:
        out = filter2d(out, k2)
    f = _resize_factor(g, _ROUND2)
    out = _resize(out, (int(target[0] * f), int(target[1] * f)), _random_mode(g))
    out = _noise(out, g, _ROUND2)

    def resize_and_sinc(y: torch.Tensor) -> torch.Tensor:
        y = _resize(y, target, _random_mode(g))
        return y if final_kernel is None else filter2d(y, final_kernel)

    if uniform(g, 0.0, 1.0) < 0.5:
        out = jpeg(resize_and_sinc(out).clamp(0, 1), randint(g, *_JPEG_RANGE))
    else:
        out = resize_and_sinc(jpeg(out, randint(g, *_JPEG_RANGE)))
    return quantize(out).to(hr.device, hr.dtype)


# ----------------------------------------------------------------------------- BSRGAN

_BSR_MODES = ("bilinear", "bicubic", "area")  # OpenCV INTER_LINEAR / INTER_CUBIC / INTER_AREA
_MIN_SIGMA = 0.1


def _bsrgan_blur(x: torch.Tensor, g: torch.Generator | None, sf: int) -> torch.Tensor:
    """Isotropic (sigma U[0, 2 + 0.2 sf]) or anisotropic (variances U[0, 4 + sf]) Gaussian,
    kernel size 7..25 (odd), each with probability 1/2."""
    size = 2 * randint(g, 2, 11) + 3
    if uniform(g, 0.0, 1.0) < 0.5:
        var1, var2 = uniform(g, 0.0, 4.0 + sf), uniform(g, 0.0, 4.0 + sf)
        theta = uniform(g, 0.0, math.pi)
        sx, sy = (max(math.sqrt(v), _MIN_SIGMA) for v in (var1, var2))
        return filter2d(x, anisotropic_kernel(size, sx, sy, theta))
    sigma = max(uniform(g, 0.0, 2.0 + 0.2 * sf), _MIN_SIGMA)
    return filter2d(x, anisotropic_kernel(size, sigma, sigma))


def _bsrgan_noise(x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
    """Gaussian noise, level 2..25 (/255): per channel (0.4), gray (0.4) or with a random colour
    covariance (0.2)."""
    level = randint(g, 2, 25) / 255.0
    kind = uniform(g, 0.0, 1.0)
    c, h, w = x.shape
    if kind > 0.6:
        noise = level * randn(g, c, h, w)
    elif kind < 0.4:
        noise = level * randn(g, 1, h, w).expand(c, h, w)
    else:  # covariance (25/255)^2 U^T D U, U orthonormal, D diagonal in [0, 1)
        d = rand(g, 3)
        u = torch.linalg.qr(rand(g, 3, 3))[0]
        mix = (25.0 / 255.0) * u.T @ torch.diag(d.sqrt())
        noise = (mix @ randn(g, 3, h * w)).reshape(3, h, w)
    return (x + noise).clamp(0, 1)


def _bsrgan_downsample(x: torch.Tensor, g: torch.Generator | None, sf: int) -> torch.Tensor:
    """A random intermediate downsampling: resize by 1/U[1, 2 sf] (0.75), else a Gaussian blur
    (sigma U[0.1, 0.6 sf], 25x25) shifted so that taking every sf-th pixel samples block centres."""
    h, w = x.shape[-2:]
    if uniform(g, 0.0, 1.0) < 0.75:
        sf1 = uniform(g, 1.0, 2.0 * sf)
        mode = _BSR_MODES[randint(g, 0, 2)]
        return _resize(x, (int(h / sf1), int(w / sf1)), mode).clamp(0, 1)
    sigma = uniform(g, 0.1, 0.6 * sf)
    kernel = anisotropic_kernel(25, sigma, sigma, offset=(sf - 1) / 2)
    return filter2d(x, kernel)[:, ::sf, ::sf].clamp(0, 1)


def bsrgan_degrade(
    hr: torch.Tensor, scale: int = 4, generator: torch.Generator | None = None
) -> torch.Tensor:
    """BSRGAN's shuffled degradation of one HR image.

    For scale 4, with probability 0.25 the image is first halved (random OpenCV-style mode or
    MATLAB bicubic) and the rest runs at scale 2. Then, in random order (the intermediate
    downsampling always before the final one): blur, blur, intermediate downsampling, final
    resize to the LR size (bilinear/bicubic/area), Gaussian noise, JPEG [30, 95] with
    probability 0.9; finally JPEG [30, 95].

    Args:
        hr: (3, H, W) float tensor in [0, 1]; H and W multiples of ``scale``.
        scale: integer downscaling factor.
        generator: source of all randomness (``None``: torch's global generator).

    Returns:
        (3, H // scale, W // scale) tensor in [0, 1] on 8-bit levels, ``hr``'s device and dtype.

    Raises:
        ValueError: on a non-(3, H, W) input, a bad scale, or sides not multiples of it.
    """
    x, h, w = _prepare(hr, scale)
    g = generator
    target = (h // scale, w // scale)
    sf = scale
    if sf == 4 and uniform(g, 0.0, 1.0) < 0.25:
        if uniform(g, 0.0, 1.0) < 0.5:
            x = _resize(x, (h // 2, w // 2), _BSR_MODES[randint(g, 0, 2)])
        else:
            x = imresize(x, 0.5)
        x, sf = x.clamp(0, 1), 2

    order = torch.randperm(6, generator=g, device=g.device if g is not None else "cpu").tolist()
    i2, i3 = order.index(2), order.index(3)
    if i2 > i3:  # the intermediate downsampling (2) must come before the final one (3)
        order[i2], order[i3] = 3, 2
    for step in order:
        if step in (0, 1):
            x = _bsrgan_blur(x, g, sf)
        elif step == 2:
            x = _bsrgan_downsample(x, g, sf)
        elif step == 3:
            x = _resize(x, target, _BSR_MODES[randint(g, 0, 2)]).clamp(0, 1)
        elif step == 4:
            x = _bsrgan_noise(x, g)
        elif uniform(g, 0.0, 1.0) < 0.9:
            x = jpeg(x, randint(g, *_JPEG_RANGE))
    x = jpeg(x, randint(g, *_JPEG_RANGE))
    return quantize(x).to(hr.device, hr.dtype)
