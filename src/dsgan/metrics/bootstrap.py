"""Bootstrap confidence intervals over images, so a small difference is not read as a win.

Percentile bootstrap (Efron & Tibshirani 1993, ch. 13): resample the per-image values with
replacement, take the statistic of each resample, report the central ``level`` quantiles. For a
comparison of two methods on the same images, :func:`paired_diff_ci` resamples the images once and
differences the two methods on each resample, which keeps the image-to-image variation (much larger
than the methods' difference) out of the interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Interval:
    """A mean over images and its bootstrap interval (``lo``, ``hi``) at ``level``."""

    mean: float
    lo: float
    hi: float
    n: int
    level: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _finite(values: Sequence[float]) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    return arr[np.isfinite(arr)]


def mean_ci(
    values: Sequence[float], level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> Interval:
    """Mean of the finite ``values`` and its percentile-bootstrap interval.

    One value gives a zero-width interval; no finite value gives NaNs.
    """
    arr = _finite(values)
    if arr.size == 0:
        return Interval(math.nan, math.nan, math.nan, 0, level)
    rng = np.random.default_rng(seed)
    means = arr[rng.integers(0, arr.size, size=(resamples, arr.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(arr.mean()), float(lo), float(hi), int(arr.size), level)


def paired_diff_ci(
    a: Sequence[float],
    b: Sequence[float],
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """Mean of ``a[i] - b[i]`` over images and its paired bootstrap interval.

    Raises:
        ValueError: the two lists have different lengths (they must be the same images).
    """
    if len(a) != len(b):
        raise ValueError(f"paired values need the same images: {len(a)} vs {len(b)}")
    return mean_ci(np.asarray(a, np.float64) - np.asarray(b, np.float64), level, resamples, seed)
