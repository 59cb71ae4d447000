"""Radially averaged log power spectra and their distance in the upper frequency band.

Each image is turned to luma (BT.601 weights), its mean removed, a Hann window applied, and its 2-D
power spectrum ``|FFT|^2 / (H*W)`` averaged over rings of radial frequency ``r`` in cycles/pixel
(``n_bins`` equal bins over [0, 0.5]; the corners beyond 0.5 are dropped), so images of different
sizes give comparable curves. A folder's curve is the mean of its images' ``log10`` curves. Noise
raises the high band, blur lowers it; the distance is taken over ``band`` (default [0.25, 0.5]).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

LUMA = (0.299, 0.587, 0.114)


def radial_log_spectrum(image: torch.Tensor, n_bins: int = 64) -> torch.Tensor:
    """log10 radially averaged power spectrum of one image.

    Args:
        image: (3, H, W) (or (1, H, W)) float in [0, 1], H, W >= 8.
        n_bins: rings over radial frequency [0, 0.5] cycles/pixel.

    Returns:
        (n_bins,) float64; bin ``i`` covers ``[i, i+1) * 0.5 / n_bins``. Empty rings (tiny images)
        are filled from their neighbours.
    """
    x = image.detach().double()
    x = (x * torch.tensor(LUMA, dtype=x.dtype)[:, None, None]).sum(0) if x.shape[0] == 3 else x[0]
    h, w = x.shape
    x = x - x.mean()
    win = torch.outer(
        torch.hann_window(h, periodic=False, dtype=x.dtype),
        torch.hann_window(w, periodic=False, dtype=x.dtype),
    )
    power = torch.fft.fft2(x * win).abs().pow(2) / (h * w)
    fy = torch.fft.fftfreq(h, dtype=x.dtype)[:, None]
    fx = torch.fft.fftfreq(w, dtype=x.dtype)[None, :]
    r = torch.sqrt(fy**2 + fx**2)
    idx = torch.floor(r / 0.5 * n_bins).long()
    keep = idx < n_bins
    sums = torch.zeros(n_bins, dtype=x.dtype).index_add_(0, idx[keep], power[keep])
    counts = torch.zeros(n_bins, dtype=x.dtype).index_add_(
        0, idx[keep], torch.ones_like(power[keep])
    )
    curve = sums / counts.clamp(min=1)
    empty = counts == 0
    if empty.any():  # fill rings no FFT sample fell in by nearest filled neighbour
        filled = torch.nonzero(~empty).flatten()
        nearest = filled[(torch.arange(n_bins)[:, None] - filled[None]).abs().argmin(dim=1)]
        curve = curve[nearest]
    return torch.log10(curve + 1e-12)


def mean_log_spectrum(images: Sequence[torch.Tensor], n_bins: int = 64) -> torch.Tensor:
    """Mean of :func:`radial_log_spectrum` over images: (n_bins,) float64."""
    return torch.stack([radial_log_spectrum(im, n_bins) for im in images]).mean(dim=0)


def bin_frequencies(n_bins: int = 64) -> torch.Tensor:
    """Centre frequency (cycles/pixel) of each bin: (n_bins,)."""
    return (torch.arange(n_bins, dtype=torch.float64) + 0.5) * 0.5 / n_bins


@dataclass(frozen=True)
class SpectrumComparison:
    """Curves and distances (mean |diff| ``l1`` and RMS ``l2`` of log10 power over ``band``)."""

    freqs: list[float]
    gen: list[float]
    real: list[float]
    band: tuple[float, float]
    l1: float
    l2: float
    high_band_diff: float  # mean(gen - real) over the band: > 0 gen has more HF power (noisier)


def compare_spectra(
    gen: Sequence[torch.Tensor],
    real: Sequence[torch.Tensor],
    n_bins: int = 64,
    band: tuple[float, float] = (0.25, 0.5),
) -> SpectrumComparison:
    """Distance between the mean log spectra of two image sets over a frequency band.

    Args:
        gen, real: (3, H, W) float images in [0, 1].
        band: (low, high) radial frequency in cycles/pixel, within [0, 0.5].
    """
    lo, hi = band
    if not 0 <= lo < hi <= 0.5:
        raise ValueError(f"band must satisfy 0 <= low < high <= 0.5, got {band}")
    g = mean_log_spectrum(gen, n_bins)
    r = mean_log_spectrum(real, n_bins)
    f = bin_frequencies(n_bins)
    sel = (f >= lo) & (f <= hi)
    d = (g - r)[sel]
    return SpectrumComparison(
        freqs=f.tolist(),
        gen=g.tolist(),
        real=r.tolist(),
        band=(lo, hi),
        l1=float(d.abs().mean()),
        l2=float(d.pow(2).mean().sqrt()),
        high_band_diff=float(d.mean()),
    )
