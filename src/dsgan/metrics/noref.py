"""No-reference image quality: NIQE and BRISQUE, as their authors' releases compute them (NIQE's
MATLAB release, BRISQUE's C++ release, whose regressor we ship).

Both model the statistics of mean-subtracted, contrast-normalised (MSCN) luminance at two scales:

- **NIQE** (Mittal, Soundararajan, Bovik, "Making a 'completely blind' image quality analyzer",
  IEEE SPL 2013): 36 natural-scene features per 96x96 patch, a Gaussian fitted to the patches, and
  its distance to the Gaussian of pristine photos. **Lower is better** (pristine photos about 3,
  noisy or blocky ones 6-20).
- **BRISQUE** (Mittal, Moorthy, Bovik, "No-reference image quality assessment in the spatial
  domain", IEEE TIP 2012): the same kind of 36 features over the whole image, mapped by an RBF
  support-vector regressor trained on LIVE opinion scores to a DMOS-like score. **Lower is
  better** (about 0-20 for clean photos, up to about 100 for heavy distortion; it can leave
  [0, 100]).

The fitted parameters ship in ``dsgan/metrics/data`` (sources and licences in ``NOTICE.md`` there),
so both work offline. No library on PyPI both ships these parameters and imports with our
PyTorch/NumPy (``pyiqa`` downloads them at first use; ``basicsr`` does not import with current
torchvision; ``brisque`` needs ``libsvm``), so the feature code is written here from the
algorithm's published definition and checked against reference implementations
(docs/EVALUATION.md; ``benchmarks/noref_calibration.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import torch
from scipy import ndimage
from scipy.special import gamma as gamma_fn

from dsgan.ops.resize import imresize

NIQE_PATCH = 96
# MATLAB's rgb2gray weights (NIQE's release).
_MATLAB_GRAY = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
# The shape grid both MATLAB releases search (gam = 0.2:0.001:10).
_SHAPES = np.arange(200, 10001) / 1000.0
_R_AGGD = gamma_fn(2 / _SHAPES) ** 2 / (gamma_fn(1 / _SHAPES) * gamma_fn(3 / _SHAPES))
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))  # NIQE's circular shifts
_SHIFTS_CPP = ((0, 1), (1, 0), (1, 1), (-1, 1))  # BRISQUE's zero-filled shifts


def _uint8(image: torch.Tensor) -> np.ndarray:
    return (image.detach().float().clamp(0, 1) * 255).round().cpu().numpy().astype(np.int64)


def to_gray(image: torch.Tensor) -> np.ndarray:
    """MATLAB ``double(rgb2gray(uint8(image)))``: (H, W) float64 in 0..255, integer-valued.

    Args:
        image: (3, H, W) or (1, H, W) float tensor in [0, 1].
    """
    u8 = _uint8(image).astype(np.float64)
    return u8[0] if u8.shape[0] == 1 else np.round(np.tensordot(_MATLAB_GRAY, u8, axes=1))


def to_gray_opencv(image: torch.Tensor) -> np.ndarray:
    """OpenCV ``cvtColor(..., COLOR_BGR2GRAY)`` of the 8-bit image (the 14-bit fixed point of OpenCV 2-4):
    (H, W) float64 in 0..255, as BRISQUE's C++ release reads a photo."""
    u8 = _uint8(image)
    if u8.shape[0] == 1:
        return u8[0].astype(np.float64)
    r, g, b = u8
    return ((r * 4899 + g * 9617 + b * 1868 + (1 << 13)) >> 14).astype(np.float64)


def _gaussian_window(sigma: float, separable: bool) -> np.ndarray:
    """7x7 Gaussian summing to 1, normalised as each release builds it (the last bits differ, and
    flat image regions amplify them): MATLAB's ``fspecial('gaussian', 7, sigma)`` normalises the 2-D
    kernel (NIQE); OpenCV's ``getGaussianKernel(7, sigma)`` normalises the 1-D one, applied along
    both axes (``separable``; BRISQUE's C++ release)."""
    ax = np.arange(-3, 4, dtype=np.float64)
    if separable:
        g = np.exp(-(ax**2) / (2 * sigma**2))
        g /= g.sum()
        return np.outer(g, g)
    g = np.exp(-(ax[:, None] ** 2 + ax[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


_WINDOW = _gaussian_window(7 / 6, separable=False)
_CV_WINDOW = _gaussian_window(1.16666, separable=True)


def mscn(image: np.ndarray, window: np.ndarray, c: float) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients (I - mu) / (sigma + c), (H, W) float64;
    local mean and deviation under ``window`` with replicated borders (MATLAB's ``imfilter(...,
    'replicate')``, OpenCV's ``BORDER_REPLICATE``)."""
    mu = ndimage.correlate(image, window, mode="nearest")
    var = ndimage.correlate(image * image, window, mode="nearest") - mu * mu
    return (image - mu) / (np.sqrt(np.abs(var)) + c)


def _std_to_scale(shape: float) -> float:
    """The factor from a generalised Gaussian's standard deviation to its scale (beta)."""
    return float(np.sqrt(gamma_fn(1 / shape) / gamma_fn(3 / shape)))


def aggd(values: np.ndarray) -> tuple[float, float, float]:
    """Asymmetric generalised Gaussian fit by moment matching: (shape, left std, right std).

    As the MATLAB release: a side without values has a NaN std, and an undefined moment ratio
    gives the grid's first shape (0.2); NIQE then drops such patches (``nanmean``/``nancov``).
    """
    v = values.ravel()
    left, right = v[v < 0], v[v > 0]
    lstd = np.sqrt(np.mean(left * left)) if left.size else np.nan
    rstd = np.sqrt(np.mean(right * right)) if right.size else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        g = lstd / rstd
        r = np.mean(np.abs(v)) ** 2 / np.mean(v * v)
        rnorm = r * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    shape = _SHAPES[np.argmin((_R_AGGD - rnorm) ** 2)] if np.isfinite(rnorm) else _SHAPES[0]
    return float(shape), float(lstd), float(rstd)


def _pair_products(coeffs: np.ndarray) -> list[np.ndarray]:
    """Products of each coefficient with its 4 neighbours (circular shifts, as ``circshift``)."""
    return [coeffs * np.roll(coeffs, s, axis=(0, 1)) for s in _SHIFTS]


def niqe_patch_features(coeffs: np.ndarray) -> list[float]:
    """18 NIQE features of one MSCN patch: AGGD shape and mean scale, then per neighbour
    direction (shape, mean, left scale, right scale)."""
    shape, lstd, rstd = aggd(coeffs)
    c = _std_to_scale(shape)
    feats = [shape, (lstd * c + rstd * c) / 2]
    for pair in _pair_products(coeffs):
        shape, lstd, rstd = aggd(pair)
        c = _std_to_scale(shape)
        bl, br = lstd * c, rstd * c
        mean = (br - bl) * gamma_fn(2 / shape) / gamma_fn(1 / shape)
        feats += [shape, mean, bl, br]
    return feats


def brisque_features(gray: np.ndarray) -> np.ndarray:
    """36 BRISQUE features of a (H, W) 0..255 image, as the authors' C++ release computes them.

    The shipped regressor was trained on these features (LIVE's ``brisque_revised``; OpenCV's
    ``quality`` module ports the same code): Gaussian 7x7 (sigma 1.16666) local statistics with
    replicated borders on the image scaled to [0, 1], an AGGD fit to the MSCN coefficients
    (shape, mean of the two variances), then per neighbour direction (shape, mean, left and right
    variance) of the products with zero-filled shifts; the second scale is a half-size bicubic
    resize (a = -0.75, no antialiasing).
    """
    feats: list[float] = []
    im = gray / 255.0
    for scale in range(2):
        if scale == 1:
            im = _half_cubic(im)
        coeffs = mscn(im, _CV_WINDOW, 1 / 255)
        shape, lstd, rstd = aggd(coeffs)
        feats += [shape, (lstd**2 + rstd**2) / 2]
        for shift in _SHIFTS_CPP:
            shape, lstd, rstd = aggd(coeffs * _shift_zero(coeffs, shift))
            c = _std_to_scale(shape)
            mean = (rstd - lstd) * gamma_fn(2 / shape) / gamma_fn(1 / shape) * c
            feats += [shape, mean, lstd**2, rstd**2]
    return np.array(feats)


def _shift_zero(a: np.ndarray, shift: tuple[int, int]) -> np.ndarray:
    """out[i, j] = a[i + di, j + dj] where that lies inside the image, else 0."""
    di, dj = shift
    h, w = a.shape
    out = np.zeros_like(a)
    out[max(0, -di) : h - max(0, di), max(0, -dj) : w - max(0, dj)] = a[
        max(0, di) : h + min(0, di), max(0, dj) : w + min(0, dj)
    ]
    return out


def _cubic_weights(t: np.ndarray, a: float = -0.75) -> np.ndarray:
    """OpenCV's cubic interpolation weights of the 4 taps around fraction ``t``: (n, 4)."""
    x = np.stack([1 + t, t, 1 - t, 2 - t], axis=1)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x <= 1, near, far)


def _half_cubic(im: np.ndarray) -> np.ndarray:
    """Resize to (H // 2, W // 2) as OpenCV ``INTER_CUBIC`` does (a = -0.75, replicated borders;
    for an odd side the step is in/out, not exactly 2)."""

    def along(x: np.ndarray, axis: int) -> np.ndarray:
        n_in = x.shape[axis]
        n_out = n_in // 2
        pos = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
        left = np.floor(pos)
        w = _cubic_weights(pos - left)  # (n_out, 4)
        idx = np.clip(left[:, None].astype(int) + np.arange(-1, 3)[None, :], 0, n_in - 1)
        picked = np.take(x, idx, axis=axis)  # the axis becomes (n_out, 4)
        w = w.reshape((1,) * axis + w.shape + (1,) * (x.ndim - axis - 1))
        return (picked * w).sum(axis=axis + 1)

    return along(along(im, 0), 1)


def _half(gray: np.ndarray) -> np.ndarray:
    """MATLAB ``imresize(gray, 0.5)`` (bicubic, antialiased), float64."""
    return imresize(torch.from_numpy(gray)[None], 0.5)[0].numpy()


@cache
def _niqe_model() -> tuple[np.ndarray, np.ndarray]:
    with resources.files("dsgan.metrics").joinpath("data/niqe_pristine.npz").open("rb") as f:
        d = np.load(f)
        return d["mu"], d["cov"]


@dataclass(frozen=True)
class _Svr:
    support_vectors: np.ndarray
    dual_coef: np.ndarray
    rho: float
    gamma: float
    feature_min: np.ndarray
    feature_max: np.ndarray


@cache
def _brisque_model() -> _Svr:
    with resources.files("dsgan.metrics").joinpath("data/brisque_live.npz").open("rb") as f:
        d = np.load(f)
        return _Svr(
            d["support_vectors"],
            d["dual_coef"],
            float(d["rho"]),
            float(d["gamma"]),
            d["feature_min"],
            d["feature_max"],
        )


def niqe_gray(gray: np.ndarray) -> float:
    """NIQE of a (H, W) 0..255 image; both sides must be at least 96 px (one patch)."""
    h, w = gray.shape
    nh, nw = h // NIQE_PATCH, w // NIQE_PATCH
    if nh == 0 or nw == 0:
        raise ValueError(
            f"NIQE needs an image of at least {NIQE_PATCH}x{NIQE_PATCH} px, got {h}x{w}"
        )
    im = gray[: nh * NIQE_PATCH, : nw * NIQE_PATCH]
    per_scale = []
    for scale in (1, 2):
        coeffs = mscn(im, _WINDOW, 1.0)
        p = NIQE_PATCH // scale
        per_scale.append(
            [
                niqe_patch_features(coeffs[i * p : (i + 1) * p, j * p : (j + 1) * p])
                for i in range(nh)
                for j in range(nw)
            ]
        )
        if scale == 1:
            im = _half(im)
    feats = np.concatenate([np.array(f) for f in per_scale], axis=1)
    mu_p, cov_p = _niqe_model()
    mu_d = np.nanmean(feats, axis=0)
    rows = feats[~np.isnan(feats).any(axis=1)]
    cov_d = np.cov(rows, rowvar=False) if len(rows) > 1 else np.zeros_like(cov_p)
    diff = mu_p - mu_d
    return float(np.sqrt(diff @ np.linalg.pinv((cov_p + cov_d) / 2) @ diff))


def brisque_gray(gray: np.ndarray) -> float:
    """BRISQUE of a (H, W) 0..255 image: the authors' LIVE-trained RBF regressor on
    :func:`brisque_features` scaled to [-1, 1] by the training ranges."""
    m = _brisque_model()
    f = brisque_features(gray)
    x = -1 + 2 * (f - m.feature_min) / (m.feature_max - m.feature_min)
    d2 = ((m.support_vectors - x) ** 2).sum(axis=1)
    return float(m.dual_coef @ np.exp(-m.gamma * d2) - m.rho)


MIN_SIDE = {"niqe": NIQE_PATCH, "brisque": 16}  # NIQE: one patch; BRISQUE: a useful half scale
DIRECTION = {"niqe": "lower is better", "brisque": "lower is better"}


def niqe(image: torch.Tensor) -> float:
    """NIQE of a (3, H, W) [0, 1] image (lower is better); sides >= 96 px."""
    return niqe_gray(to_gray(image))


def brisque(image: torch.Tensor) -> float:
    """BRISQUE of a (3, H, W) [0, 1] image (lower is better)."""
    return brisque_gray(to_gray_opencv(image))


SCORERS = {"niqe": niqe, "brisque": brisque}  # metric name -> (3, H, W) [0, 1] image -> score
