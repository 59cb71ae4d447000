"""Step-reproducible sampling and the DSGAN training dataset."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from dsgan.config import DataConfig
from dsgan.data import StepSampler, augment, random_crop
from dsgan.data.dsgan_data import DSGANDataset
from dsgan.errors import UserError


def batches(sampler: StepSampler) -> list[list[tuple[int, int]]]:
    return list(iter(sampler))


def test_step_sampler_is_deterministic_per_seed_and_step():
    a = batches(StepSampler(50, 4, seed=1, start=0, stop=5))
    b = batches(StepSampler(50, 4, seed=1, start=0, stop=5))
    assert a == b and len(a) == 5 and all(len(batch) == 4 for batch in a)
    assert all(0 <= i < 50 for batch in a for i, _ in batch)
    assert len({tuple(batch) for batch in a}) == 5  # different steps differ
    assert batches(StepSampler(50, 4, seed=2, start=0, stop=5)) != a  # seeds matter
    # resuming at step 3 continues the very same stream
    assert batches(StepSampler(50, 4, seed=1, start=3, stop=5)) == a[3:]
    assert len(StepSampler(50, 4, seed=1, start=3, stop=5)) == 2


def test_ranks_partition_the_world_batch():
    whole = batches(StepSampler(30, 6, seed=7, start=10, stop=13))
    rank0 = batches(StepSampler(30, 3, seed=7, start=10, stop=13, rank=0, world_size=2))
    rank1 = batches(StepSampler(30, 3, seed=7, start=10, stop=13, rank=1, world_size=2))
    for w, r0, r1 in zip(whole, rank0, rank1, strict=True):
        assert r0 + r1 == w
        assert r0 != r1


def test_random_crop_and_augment():
    img = torch.arange(3 * 6 * 8).reshape(3, 6, 8)
    g = torch.Generator().manual_seed(0)
    crop = random_crop(img, 4, g)
    assert crop.shape == (3, 4, 4)
    # the crop is a contiguous window of the image
    y, x = divmod(int(crop[0, 0, 0]), 8)
    assert torch.equal(crop, img[:, y : y + 4, x : x + 4])
    assert random_crop(img, 0, g) is img
    seen = {
        tuple(augment(crop, torch.Generator().manual_seed(s), True, True).flatten().tolist())
        for s in range(64)
    }
    assert len(seen) == 8  # the 8 symmetries of a square
    rect = augment(img, torch.Generator().manual_seed(1), True, True)
    assert rect.shape == img.shape  # non-square images are never rotated


def config(hr: Path, lr: Path | None = None, **kw) -> DataConfig:
    return DataConfig(hr=hr, lr=lr, **kw)


def test_same_domain_mode(tmp_path: Path, make_images):
    make_images(tmp_path / "hr", 3, [(40, 50), (48, 48), (64, 40)])
    ds = DSGANDataset(config(tmp_path / "hr", scale=4, crop=8))
    assert len(ds) == 3
    for item in [(0, 1), (1, 2), (2, 3)]:
        hr, real = ds[item]
        assert hr.dtype == real.dtype == torch.uint8
        assert hr.shape == (3, 32, 32) and real.shape == (3, 8, 8)
        # the real sample is a native-resolution crop of the same HR crop
        windows = hr.unfold(1, 8, 1).unfold(2, 8, 1)  # (3, 25, 25, 8, 8)
        match = (windows == real[:, None, None]).all(dim=(0, 3, 4))
        assert match.any()
    a, b = ds[(1, 5)], ds[(1, 5)]
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])  # reproducible per seed
    c = ds[(1, 6)]
    assert not torch.equal(a[0], c[0])


def test_unpaired_mode(tmp_path: Path, make_images):
    make_images(tmp_path / "hr", 2, 40, seed=1)
    make_images(tmp_path / "lr", 4, [(12, 20), 16, 30, (10, 10)], seed=2)
    ds = DSGANDataset(config(tmp_path / "hr", tmp_path / "lr", scale=2, crop=10))
    assert len(ds) == 2 and len(ds.lr) == 4
    hr, real = ds[(0, 0)]
    assert hr.shape == (3, 20, 20) and real.shape == (3, 10, 10)
    assert hr.dtype == real.dtype == torch.uint8
    loader = torch.utils.data.DataLoader(
        ds, batch_sampler=StepSampler(len(ds), 3, seed=0, start=0, stop=2)
    )
    for hr_b, real_b in loader:
        assert hr_b.shape == (3, 3, 20, 20) and real_b.shape == (3, 3, 10, 10)


def test_small_images_are_skipped_with_a_warning(tmp_path: Path, make_images, caplog):
    make_images(tmp_path / "hr", 3, [40, 20, (40, 31)])
    with caplog.at_level(logging.WARNING):
        ds = DSGANDataset(config(tmp_path / "hr", scale=4, crop=8))
    assert len(ds) == 1
    assert "img_001.png" in caplog.text and "img_002.png" in caplog.text
    assert len(ds.hr.skipped) == 2


def test_all_images_too_small_is_a_user_error(tmp_path: Path, make_images):
    make_images(tmp_path / "hr", 2, 16)
    with pytest.raises(UserError, match="no usable images"):
        DSGANDataset(config(tmp_path / "hr", scale=4, crop=8))
    with pytest.raises(UserError, match="smaller"):
        DSGANDataset(config(tmp_path / "hr", scale=4, crop=8), on_error="stop")


def test_no_hr_folder(tmp_path: Path):
    with pytest.raises(UserError, match="--hr"):
        DSGANDataset(DataConfig())
    with pytest.raises(UserError, match="does not exist"):
        DSGANDataset(config(tmp_path / "nothing"))


def test_whole_images(tmp_path: Path, make_images):
    make_images(tmp_path / "hr", 2, (24, 32))
    ds = DSGANDataset(config(tmp_path / "hr", scale=4, crop=0, rotations=False))
    hr, real = ds[(0, 3)]
    assert hr.shape == (3, 24, 32) and real.shape == (3, 6, 8)
    make_images(tmp_path / "lr", 2, (6, 8))
    ds = DSGANDataset(config(tmp_path / "hr", tmp_path / "lr", scale=4, crop=0))
    hr, real = ds[(1, 3)]
    assert hr.shape == (3, 24, 32) and real.shape == (3, 6, 8)


def test_whole_images_of_mixed_sizes_are_a_user_error(tmp_path: Path, make_images):
    make_images(tmp_path / "hr", 2, [(24, 32), (32, 32)])
    with pytest.raises(UserError, match="one size"):
        DSGANDataset(config(tmp_path / "hr", scale=4, crop=0))
    make_images(tmp_path / "hr2", 1, (26, 32))
    with pytest.raises(UserError, match="divisible"):
        DSGANDataset(config(tmp_path / "hr2", scale=4, crop=0))
    make_images(tmp_path / "hr3", 2, (24, 32))
    make_images(tmp_path / "lr3", 2, [(6, 8), (7, 8)])
    with pytest.raises(UserError, match=r"lr3.*size 8x6.*found 8x6, 8x7"):
        DSGANDataset(config(tmp_path / "hr3", tmp_path / "lr3", scale=4, crop=0))
