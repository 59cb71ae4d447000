"""Shared test helpers: tiny synthetic images written on the fly (never external data)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image


@pytest.fixture(autouse=True)
def _one_thread():
    """Test tensors are tiny: intra-op threads only add overhead (and stall badly on a busy
    machine). Pinned for every test and restored after it, so code under test that sets its own
    thread count (a benchmark job) cannot leak it into later tests."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True)
def _decoded_cache_in_tmp(tmp_path_factory, monkeypatch):
    """The disk cache of decoded images (``data.disk_cache: auto``) goes to a folder of this
    session, never to the user's ~/.cache."""
    monkeypatch.setenv("DSGAN_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "dsgan-cache"))


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


@pytest.fixture
def tiny_dsgan(tmp_path: Path, make_images: Callable[..., list[Path]]) -> Callable[..., Any]:
    """``tiny_dsgan(overrides=None)`` builds a ``DSGANTrainer`` on three random 40x40 images.

    CPU, fp32, x2, LR crop 8, batch 3, no perceptual term, G with 2 blocks of 16 channels, D with
    16; ``overrides`` (config keys, e.g. ``{"loss.d_batch": "joint"}``) replace any of these. Each
    call gets its own run folder.
    """
    from dsgan.config.base import load_config
    from dsgan.config.dsgan import DSGANConfig
    from dsgan.training.dsgan_trainer import DSGANTrainer

    hr = tmp_path / "hr"
    make_images(hr, 3, 40)
    runs = iter(range(1_000))

    def _make(overrides: dict[str, Any] | None = None) -> DSGANTrainer:
        cfg = load_config(
            DSGANConfig,
            overrides={
                "data.hr": str(hr),
                "data.crop": 8,
                "data.scale": 2,
                "batch_size": 3,
                "loss.perceptual": "none",
                "iterations": 10,
                "device": "cpu",
                "amp": "off",
                "channels_last": True,
                "out": str(tmp_path / f"run{next(runs)}"),
                "model.n_res_blocks": 2,
                "model.channels": 16,
                "model.d_channels": 16,
                **(overrides or {}),
            },
        )
        return DSGANTrainer(cfg)

    return _make


@pytest.fixture
def run_cli(capsys, caplog) -> Callable[[list[str]], tuple[int, str, str]]:
    """``run_cli(argv)`` runs ``dsgan argv`` in-process: (exit code, stdout, stderr + log)."""
    from dsgan.cli.main import main

    def _run(argv: list[str]) -> tuple[int, str, str]:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            code = main(argv)
        cap = capsys.readouterr()
        return code, cap.out, cap.err + caplog.text

    return _run
