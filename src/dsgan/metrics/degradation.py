"""A degradation in physical terms: noise vs intensity, noise whiteness and channel correlation,
blur width, colour shift, and the parameters a generator's physical stages learned.

Noise estimators share one residual: Immerkaer's mask ``N = [1,-2,1]^T [1,-2,1]`` (as
:mod:`dsgan.metrics.noise`), which cancels linear shading and whose gain on white noise is
``sqrt(sum N^2) = 6``; a per-channel std is ``1.4826 * median|I * N| / 6`` (robust: a few edge
pixels do not move a median; on 8-bit images an interpolated median, see :func:`_sigma`). Only
the flattest pixels are used: the ``keep`` = 30% with the lowest gradient magnitude of the
3x3-box-smoothed luma (Sobel; a lower share loses pixels, a higher one lets texture in: on images
of 5-px blocks, 50% reads 10% high, 30% 7%, all pixels 20%). That gradient is an odd filter and ``N``
an even one, so for noise with a symmetric autocorrelation the two responses are uncorrelated
(independent if Gaussian): dropping high-gradient pixels removes edges without biasing the noise
estimate on flat images. Pixels whose 5x5 window touches 0 or 255 in a channel are left out of that
channel (clipping hides noise). Units: 0..255 grey levels; images are (3, H, W) in [0, 1].
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image, JpegImagePlugin

from dsgan.metrics.blocking import blockiness, min_side

CHANNELS = ("r", "g", "b")
_PAIRS = (("rg", 0, 1), ("rb", 0, 2), ("gb", 1, 2))
_N = torch.tensor([1.0, -2.0, 1.0])
_MASK = torch.outer(_N, _N).double()[None, None]  # white-noise gain 6
_MAD = 1.482602218505602  # 1 / Phi^-1(3/4): median|x| -> std of a Gaussian
_LUMA = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64)
_SOBEL = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=torch.float64)
# Annex K luminance quantisation table (natural order), what libjpeg scales by the quality
_JPEG_LUMA = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]  # fmt: skip
_SAMPLING = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}
# re-blur width of :func:`blur_width`, and the width a sharp sampled step reads (pixel aperture
# and the central difference), removed in quadrature: calibrated on Gaussian-blurred edges
_REBLUR, _FLOOR2 = 1.5, 0.34


def _residuals(image: torch.Tensor, keep: float) -> tuple[torch.Tensor, ...]:
    """Per-channel residuals of one image on its flat pixels, each (3, P) for the (H-4)(W-4)
    interior pixels: (fine ``I*N``, mid ``I*N`` dilated by 2, 3x3 mean level, usable mask)."""
    if image.ndim != 3 or image.shape[0] != 3 or min(image.shape[-2:]) < 8:
        raise ValueError(f"expected a (3, H, W) image with H, W >= 8, got {tuple(image.shape)}")
    x = image.detach().double().cpu()[:, None]  # (3, 1, H, W)
    fine = F.conv2d(x, _MASK)[..., 1:-1, 1:-1]
    mid = F.conv2d(x, _MASK, dilation=2)  # peaks at 0.25 cycles/pixel instead of 0.5
    level = F.avg_pool2d(x, 3, stride=1)[..., 1:-1, 1:-1]
    eps = 0.5 / 255
    clipped = F.max_pool2d(((x <= eps) | (x >= 1 - eps)).double(), 5, stride=1) > 0
    luma = F.avg_pool2d((x[:, 0] * _LUMA[:, None, None]).sum(0)[None, None], 3, stride=1)
    grad = torch.hypot(F.conv2d(luma, _SOBEL[None, None]), F.conv2d(luma, _SOBEL.T[None, None]))
    flat = grad <= _quantile(grad, keep)
    usable = flat & ~clipped
    return tuple(t.flatten(1) for t in (fine, mid, level, usable))


def _quantile(t: torch.Tensor, q: float) -> torch.Tensor:
    """The ``q`` quantile (lower) of all of ``t``'s values (torch.quantile caps the size)."""
    flat = t.flatten()
    return flat.kthvalue(max(1, min(flat.numel(), math.ceil(q * flat.numel())))).values


def _pooled(images: Sequence[torch.Tensor], keep: float) -> tuple[torch.Tensor, ...]:
    parts = [_residuals(im, keep) for im in images]
    return tuple(torch.cat([p[i] for p in parts], dim=1) for i in range(4))


def _sigma(values: torch.Tensor) -> float:
    """Noise std (0..255) from ``N`` responses (P,). On 8-bit images the responses are whole
    grey levels, so the median is the interpolated median of grouped data (class k spans
    k +- 0.5): otherwise a noise of about one grey level would read in steps of 25%."""
    v = values.abs() * 255.0
    med = v.median()
    if (v - v.round()).abs().max() < 1e-3:
        k = med.round()
        below, at = float((v < k - 0.5).sum()), float(((v - k).abs() <= 0.5).sum())
        lo, width = (0.0, 0.5) if k == 0 else (float(k) - 0.5, 1.0)
        med = torch.tensor(lo + (v.numel() / 2 - below) / at * width)
    return float(_MAD * med / 6.0)


def noise_level_function(
    images: Sequence[torch.Tensor], bins: int = 8, keep: float = 0.3, min_pixels: int = 100
) -> dict[str, Any]:
    """Noise std per channel as a function of local intensity (a noise level function).

    Pixels are binned by their channel's 3x3 mean into ``bins`` equal bins of [0, 1]; a bin with
    fewer than ``min_pixels`` usable pixels gets None. ``keep``: fraction of flattest pixels used.

    Returns:
        ``levels`` (bins,) bin centres in [0, 1]; ``std`` / ``pixels``: per channel ``r g b`` a
        (bins,) list of std (0..255, None where too few pixels) / pixel counts; ``overall``: std
        per channel over all usable pixels.
    """
    fine, _, level, usable = _pooled(images, keep)
    idx = (level * bins).long().clamp(0, bins - 1)
    out: dict[str, Any] = {"levels": [(b + 0.5) / bins for b in range(bins)]}
    out["std"], out["pixels"], out["overall"] = {}, {}, {}
    for c, name in enumerate(CHANNELS):
        stds, counts = [], []
        for b in range(bins):
            vals = fine[c][usable[c] & (idx[c] == b)]
            counts.append(int(vals.numel()))
            stds.append(_sigma(vals) if vals.numel() >= min_pixels else None)
        out["std"][name], out["pixels"][name] = stds, counts
        vals = fine[c][usable[c]]
        out["overall"][name] = _sigma(vals) if vals.numel() >= min_pixels else None
    return out


def _mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def noise_structure(images: Sequence[torch.Tensor], keep: float = 0.3) -> dict[str, Any]:
    """Whiteness and cross-channel correlation of the noise on flat pixels.

    ``whiteness`` per channel: (std at 0.5 cycles/pixel / std at 0.25 cycles/pixel)^2, from the
    mask ``N`` and ``N`` dilated by 2 (equal gain on white noise): 1 = white, < 1 = spatially
    correlated (smoothed, demosaiced or JPEG'd noise), > 1 = more high-frequency than white. None
    when the noise is below 0.1 grey levels. ``correlation``: Pearson correlation of the ``N``
    residuals of channel pairs ``rg rb gb`` (and their ``mean``), on pixels usable in all three.
    """
    fine, mid, _, usable = _pooled(images, keep)
    white: dict[str, float | None] = {}
    for c, name in enumerate(CHANNELS):
        hi, lo = (_sigma(t[c][usable[c]]) if usable[c].sum() > 1 else 0.0 for t in (fine, mid))
        white[name] = (hi / lo) ** 2 if lo > 0.1 else None
    white["mean"] = _mean(white.values())
    common = usable.all(dim=0)
    r = fine[:, common]
    r = r - r.mean(dim=1, keepdim=True)
    std = r.pow(2).mean(dim=1).sqrt()
    corr: dict[str, float | None] = {}
    for name, a, b in _PAIRS:
        ok = r.shape[1] >= 2 and float(std[a] * std[b]) > 1e-12
        corr[name] = float((r[a] * r[b]).mean() / (std[a] * std[b])) if ok else None
    corr["mean"] = _mean(corr.values())
    return {"whiteness": white, "correlation": corr}


def _gaussian_blur(y: torch.Tensor, sigma: float) -> torch.Tensor:
    r = math.ceil(3 * sigma)
    t = torch.arange(-r, r + 1, dtype=y.dtype)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    y = F.pad(y, (r, r, r, r), mode="reflect")
    return F.conv2d(F.conv2d(y, k.view(1, 1, 1, -1)), k.view(1, 1, -1, 1))


def _grad(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Central differences x, y of (1, 1, H, W) -> (H-2, W-2) each."""
    y = y[0, 0]
    return (y[1:-1, 2:] - y[1:-1, :-2]) / 2, (y[2:, 1:-1] - y[:-2, 1:-1]) / 2


def blur_width(
    images: Sequence[torch.Tensor], edge_fraction: float = 0.05, min_step: float = 4.0
) -> float | None:
    """Gaussian width (pixels) that best explains the luma edges (re-blur gradient ratio).

    No reference needed (Zhuo and Sim, "Defocus map estimation from a single image", 2011): a step
    blurred by sigma has peak gradient ``h / (sqrt(2 pi) sigma)``; blurring again by ``s0`` = 1.5
    px divides it by ``R = sqrt(sigma^2 + s0^2) / sigma``, so ``sigma = s0 / sqrt(R^2 - 1)``. R is
    read on edge pixels (gradient maxima of the re-blurred luma along x or y, in its top
    ``edge_fraction`` and at least ``min_step`` grey levels per pixel); the result is the median
    over all images' edge pixels, less the ~0.58 px a sharp sampled step reads (in quadrature).
    It rises monotonically with blur; noise lowers it a little (it steepens edges). None if no
    edge is found (flat images, or images under 16 px).
    """
    sigmas = []
    for image in images:
        if min(image.shape[-2:]) < 16:
            continue
        y = (image.detach().double().cpu() * _LUMA[:, None, None]).sum(0)[None, None]
        gx, gy = _grad(y)
        bx, by = _grad(_gaussian_blur(y, _REBLUR))
        g1, g2 = torch.hypot(gx, gy)[4:-4, 4:-4], torch.hypot(bx, by)
        c = g2[4:-4, 4:-4]
        horiz = bx.abs()[4:-4, 4:-4] >= by.abs()[4:-4, 4:-4]
        peak_x = (c >= g2[4:-4, 3:-5]) & (c >= g2[4:-4, 5:-3])
        peak_y = (c >= g2[3:-5, 4:-4]) & (c >= g2[5:-3, 4:-4])
        edge = torch.where(horiz, peak_x, peak_y) & (c >= min_step / 255)
        edge &= c >= _quantile(c, 1 - edge_fraction)
        ratio2 = (g1[edge] / c[edge]).pow(2)
        sigmas.append(_REBLUR**2 / (ratio2 - 1).clamp(min=1e-3))
    if not sigmas or sum(s.numel() for s in sigmas) == 0:
        return None
    return float((torch.cat(sigmas).median() - _FLOOR2).clamp(min=0).sqrt())


def mean_rgb(images: Sequence[torch.Tensor]) -> list[float]:
    """Mean grey level (0..255) per channel over all pixels of all images."""
    total = sum(im.detach().double().sum(dim=(1, 2)).cpu() for im in images)
    n = sum(im.shape[-1] * im.shape[-2] for im in images)
    return [float(v) * 255.0 / n for v in total]  # type: ignore[union-attr]


def colour_shift(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> list[float]:
    """Mean per-channel difference ``a - b`` (0..255) over matched images of equal sizes."""
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b, strict=True)):
        raise ValueError("colour_shift needs matched images of equal sizes")
    return [x - y for x, y in zip(mean_rgb(a), mean_rgb(b), strict=True)]


def jpeg_settings(paths: Sequence[Path]) -> dict[str, Any] | None:
    """JPEG quality (libjpeg's scale, from the luma quantisation table; median over files) and
    chroma subsampling (most common) of the JPEG files among ``paths``; None if there are none."""
    qualities, chroma = [], Counter[str]()
    for path in paths:
        with Image.open(path) as im:
            if im.format != "JPEG" or not getattr(im, "quantization", None):
                continue
            table = list(im.quantization[0])
            pairs = [(q, s) for q, s in zip(table, _JPEG_LUMA, strict=True) if 1 < q < 255]
            scale = 100.0 * sum(q for q, _ in pairs) / sum(s for _, s in pairs) if pairs else 0
            qualities.append((200 - scale) / 2 if scale <= 100 else 5000 / scale)
            chroma[_SAMPLING.get(JpegImagePlugin.get_sampling(im), "other")] += 1
    if not qualities:
        return None
    return {
        "files": len(qualities),
        "quality": float(torch.tensor(qualities).median()),
        "chroma": chroma.most_common(1)[0][0],
    }


def degradation_stats(images: Sequence[torch.Tensor], bins: int = 8) -> dict[str, Any]:
    """All measured statistics of one set of (3, H, W) images (H, W >= 8)."""
    big = [im for im in images if min(im.shape[-2:]) >= min_side(8)]
    return {
        "noise_level": noise_level_function(images, bins),
        **noise_structure(images),
        "blur_sigma": blur_width(images),
        "mean_rgb": mean_rgb(images),
        "blockiness": sum(blockiness(im) for im in big) / len(big) if big else None,
    }


@torch.no_grad()
def learned_stages(g: torch.nn.Module, levels: Sequence[float]) -> dict[str, Any]:
    """A generator's physical parameters; each None where its stage is absent.

    ``sensor_std``: per channel its noise std (0..255) at ``levels`` (in [0, 1]).
    """
    blur, sensor, codec = (getattr(g, k, None) for k in ("blur", "sensor", "codec"))
    radius = int(getattr(g, "receptive_radius", 0))
    curve = sensor.curve(torch.tensor(list(levels))).tolist() if sensor is not None else None
    return {
        "output": getattr(g, "output", None),
        "noise_channels": int(getattr(g, "noise_channels", 0)),
        "network_noise": bool(getattr(g, "network_noise", True)),
        "receptive_field": 2 * radius + 1,
        "blur_sigma": float(blur.sigma) if blur is not None else None,
        "blur_radius": int(blur.radius) if blur is not None else None,
        "sensor_levels": list(levels) if sensor is not None else None,
        "sensor_std": dict(zip(CHANNELS, curve, strict=True)) if curve is not None else None,
        "sensor_correlation": sensor.correlation().cpu().tolist() if sensor is not None else None,
        "codec_quality": float(codec.quality) if codec is not None else None,
        "codec_gate": float(codec.gate) if codec is not None else None,
        "codec_chroma": "4:2:0" if codec is not None else None,
    }
