"""Shared test helpers: tiny synthetic images written on the fly (never external data)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

# Test tensors are tiny: intra-op threads only add overhead (and stall badly on a busy machine).
torch.set_num_threads(1)


def smooth_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A random smooth (H, W, 3) uint8 image: bilinearly upsampled 4x4 noise plus a little grain."""
    coarse = rng.uniform(0, 255, size=(4, 4, 3))
    ys = np.linspace(0, 3, height)
    xs = np.linspace(0, 3, width)
    y0 = np.clip(np.floor(ys).astype(int), 0, 2)
    x0 = np.clip(np.floor(xs).astype(int), 0, 2)
    fy = (ys - y0)[:, None, None]
    fx = (xs - x0)[None, :, None]
    top = coarse[y0][:, x0] * (1 - fx) + coarse[y0][:, x0 + 1] * fx
    bottom = coarse[y0 + 1][:, x0] * (1 - fx) + coarse[y0 + 1][:, x0 + 1] * fx
    img = top * (1 - fy) + bottom * fy + rng.normal(0, 4, size=(height, width, 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


@pytest.fixture
def make_images() -> Callable[..., list[Path]]:
    """``make_images(folder, n, size, seed=0, ext=".png")`` writes ``n`` random smooth RGB images.

    ``size`` is an int (square), an (H, W) tuple, or a list of those (one per image). Returns the
    paths, sorted.
    """

    def _make(
        folder: Path,
        n: int,
        size: int | tuple[int, int] | list[int | tuple[int, int]],
        seed: int = 0,
        ext: str = ".png",
    ) -> list[Path]:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(seed)
        sizes = size if isinstance(size, list) else [size] * n
        paths = []
        for i, s in zip(range(n), sizes, strict=False):
            h, w = (s, s) if isinstance(s, int) else s
            path = folder / f"img_{i:03d}{ext}"
            Image.fromarray(smooth_image(rng, h, w)).save(path)
            paths.append(path)
        return sorted(paths)

    return _make
