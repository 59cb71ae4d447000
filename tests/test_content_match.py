"""``data.match_content``: the real crop paired with an HR crop is the closest in structure of
several (crops of the LR photos unpaired, native-scale crops of the HR photos same-domain),
measured where noise barely reaches (:mod:`dsgan.data.content`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from dsgan.config.dsgan import DataConfig
from dsgan.data import content
from dsgan.data.dsgan_data import DSGANDataset


def _texture(rng: np.random.Generator, h: int, w: int, period: float) -> np.ndarray:
    """Stripes of ``period`` pixels (0: flat grey), as uint8 (h, w, 3)."""
    yy, xx = np.mgrid[:h, :w]
    angle = rng.uniform(0, np.pi)
    wave = np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period) if period else 0
    base = np.full((h, w), 128.0) + 60 * wave
    return np.repeat(np.clip(base, 0, 255)[..., None], 3, axis=2).astype(np.uint8)


def _write(folder: Path, periods: list[float], size: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for i, period in enumerate(periods):
        Image.fromarray(_texture(rng, size, size, period)).save(folder / f"{i:02d}.png")


def test_structure_sees_content_not_noise() -> None:
    g = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    flat = torch.full((1, 3, 48, 48), 0.5)
    stripes = torch.from_numpy(_texture(rng, 48, 48, 8.0)).permute(2, 0, 1)[None].float() / 255
    noisy_flat = flat + torch.randn(flat.shape, generator=g) * 8 / 255
    s_flat, s_stripes, s_noisy = (float(content.structure(x)) for x in (flat, stripes, noisy_flat))
    assert s_flat < 1e-4 and s_stripes > 3.0
    # sigma-8 white noise leaves under a grey level of band-pass std: log1p(1) = 0.69
    assert s_noisy < 0.7
    # an HR crop is measured at LR: box-averaged by the scale first, uint8 or float alike
    hr = (torch.rand(2, 3, 96, 96, generator=g) * 255).round().to(torch.uint8)
    torch.testing.assert_close(
        content.structure(hr, 2), content.structure(F.avg_pool2d(hr.float() / 255, 2))
    )
    assert content.closest(torch.tensor(1.0), torch.tensor([3.0, 0.8, 1.5])) == 1


def _real_structure(data: DSGANDataset, hr_index: int, seeds: range) -> list[float]:
    return [float(content.structure(data[(hr_index, s)][1][None])) for s in seeds]


def test_matched_real_crops_follow_the_hr_crops_content(tmp_path: Path) -> None:
    """HR: one flat, one striped image; real LR: half flat, half striped. Unmatched, either HR
    image meets both kinds alike; matched with 8 candidates, each meets its own kind."""
    _write(tmp_path / "hr", [0, 6.0], 64, seed=1)
    _write(tmp_path / "lr", [0, 0, 0, 7.0, 7.0, 7.0], 40, seed=2)
    base = {"hr": tmp_path / "hr", "lr": tmp_path / "lr", "scale": 2, "crop": 16}
    seeds = range(40)
    plain = DSGANDataset(DataConfig(**base))
    flat_hr, striped_hr = (_real_structure(plain, i, seeds) for i in (0, 1))
    # random pairing: about half of the real crops are striped for either HR image
    for got in (flat_hr, striped_hr):
        assert 0.2 < np.mean([s > 1 for s in got]) < 0.8
    matched = DSGANDataset(DataConfig(**base, match_content=8))
    flat_hr, striped_hr = (_real_structure(matched, i, seeds) for i in (0, 1))
    assert np.mean([s > 1 for s in flat_hr]) < 0.05
    assert np.mean([s > 1 for s in striped_hr]) > 0.95
    # reproducible: the same (index, seed) gives the same pair
    a, b = matched[(1, 7)], matched[(1, 7)]
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_same_domain_matching_draws_native_crops_of_alike_content(tmp_path: Path) -> None:
    """Same-domain, the paper's real sample is a crop of the same HR crop at native scale:
    stripes of period 12 in HR become period 6 in G's input (scale 2) but stay 12 in the real
    crop. Matched, the real crop comes from the photo whose native stripes are like G's input."""
    _write(tmp_path / "hr", [0, 12.0, 6.0, 0], 64, seed=1)
    cfg = {"hr": tmp_path / "hr", "scale": 2, "crop": 16}
    paper = DSGANDataset(DataConfig(**cfg))
    hr, real = paper[(1, 3)]
    # the paper's real sample is a piece of the HR crop itself
    assert any(
        torch.equal(hr[:, y : y + 16, x : x + 16], real) for y in range(17) for x in range(17)
    )
    matched = DSGANDataset(DataConfig(**cfg, match_content=16))
    want = content.structure(torch.stack([matched[(1, s)][0] for s in range(30)]), 2)
    got = torch.stack([content.structure(matched[(1, s)][1][None])[0] for s in range(30)])
    unmatched = torch.stack([content.structure(paper[(1, s)][1][None])[0] for s in range(30)])
    # G's input (period 6) is as textured as photo 2's native crops, not as its own (period 12)
    assert (got - want).abs().mean() < 0.5 * (unmatched - want).abs().mean()
    # drawn as unpaired matching draws from an LR folder holding the same photos
    same_folder = DSGANDataset(DataConfig(**cfg, lr=tmp_path / "hr", match_content=16))
    for s in range(5):
        a, b = matched[(1, s)], same_folder[(1, s)]
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_same_domain_matching_needs_crops(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs --crop N"):
        DataConfig(hr=tmp_path, crop=0, match_content=8)
    DataConfig(hr=tmp_path, lr=tmp_path, crop=0, match_content=8)  # unpaired: whole LR images
    DataConfig(hr=tmp_path, crop=0, match_content=1)  # 1 = no matching
