"""Datasets larger than memory: the image pools keep decoded images up to a byte budget
(``data.cache_gb``), read only headers for the rest at start-up, decode those on demand (once,
through the disk cache of decoded images, ``data.disk_cache``) with the same result, and handle a
file found broken only when it is first decoded."""

from __future__ import annotations

import logging

import pytest
import torch

import dsgan.data.pool as pool_module
from dsgan.data.cache import Budget, cache_budget, machine_memory
from dsgan.data.pairs import PairDataset
from dsgan.data.pool import ImagePool
from dsgan.errors import ImageError
from dsgan.io.images import image_size, load_image, save_image


def test_budget_defaults_and_options(monkeypatch) -> None:
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert cache_budget(False, 5.0) == 0
    assert cache_budget(True, 0.5) == 500_000_000
    assert cache_budget(True, None) == machine_memory() // 4 > 0
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")  # torchrun: the node's share split by process
    assert cache_budget(True, None) == machine_memory() // 16
    b = Budget(100)
    assert b.take(60) and not b.take(60) and b.take(40) and b.left == 0


@pytest.mark.parametrize("budget", [0, 2 * 3 * 24 * 24, True])
def test_pool_caches_within_budget_and_decodes_the_rest(tmp_path, make_images, budget) -> None:
    files = make_images(tmp_path / "img", 4, 24)
    pool = ImagePool(tmp_path / "img", cache=budget)
    assert pool.cached == {0: 0, 2 * 3 * 24 * 24: 2, True: 4}[budget]
    assert pool.sizes == [(24, 24)] * 4
    for i, path in enumerate(files):  # cached or decoded on demand: the same pixels
        expect = load_image(path).mul(255).round().to(torch.uint8)
        assert torch.equal(pool.get(i), expect)


def test_start_up_reads_headers_only_beyond_the_budget(tmp_path, make_images, monkeypatch):
    make_images(tmp_path / "img", 5, [(20, 30), (24, 24), (30, 20), (24, 24), (24, 24)])
    decoded = []
    real = pool_module.load_image_u8
    monkeypatch.setattr(pool_module, "load_image_u8", lambda p: decoded.append(p) or real(p))
    pool = ImagePool(tmp_path / "img", min_size=(21, 21), cache=3 * 24 * 24)
    assert decoded == [pool.files[0]]  # the one image that fit; sizes came from headers
    assert len(pool) == 3 and pool.sizes == [(24, 24)] * 3  # 20x30 and 30x20: too small
    assert (image_size(tmp_path / "img" / "img_000.png")) == (20, 30)


def test_file_broken_beyond_its_header_is_skipped_or_stops(tmp_path, make_images, caplog):
    files = make_images(tmp_path / "img", 3, 64)
    data = files[1].read_bytes()
    files[1].write_bytes(data[: len(data) * 3 // 4])  # header intact, pixels truncated
    pool = ImagePool(tmp_path / "img", cache=0)  # nothing decoded at start-up: not found yet
    assert len(pool) == 3
    with caplog.at_level(logging.WARNING):
        got = pool.get(1)
    assert torch.equal(got, pool.get(2))  # the next usable image instead
    assert "img_001" in caplog.text
    strict = ImagePool(tmp_path / "img", cache=0, on_error="stop")
    with pytest.raises(ImageError, match="img_001"):
        strict.get(1)


def test_pairs_cache_within_budget(tmp_path, make_images) -> None:
    for i, hr in enumerate(make_images(tmp_path / "HR", 3, 32)):
        save_image(load_image(hr)[:, ::2, ::2], tmp_path / "LR" / hr.name)
        if i == 0:
            one_pair = 3 * 16 * 16 * (1 + 4)
    full = PairDataset(tmp_path / "LR", tmp_path / "HR", 2, 16, cache=True)
    part = PairDataset(tmp_path / "LR", tmp_path / "HR", 2, 16, cache=Budget(one_pair))
    none = PairDataset(tmp_path / "LR", tmp_path / "HR", 2, 16, cache=0)
    assert (full.cached, part.cached, none.cached) == (3, 1, 0)
    for i in range(3):
        for a, b in zip(full.get(i), none.get(i), strict=True):
            assert torch.equal(a, b)
        item = (i, 1234 + i)
        for a, b in zip(full[item], part[item], strict=True):  # same crops and augmentation
            assert torch.equal(a, b)


def test_dsgan_training_batches_do_not_depend_on_the_cache(tiny_dsgan) -> None:
    cached = tiny_dsgan()
    uncached = tiny_dsgan({"data.cache_gb": 0})
    assert uncached.data.hr.cached == 0 and cached.data.hr.cached == len(cached.data.hr)
    for a, b in zip(cached._loader(), uncached._loader(), strict=True):
        for x, y in zip(a, b, strict=True):
            assert torch.equal(x, y)


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_header_size_follows_exif_rotation(tmp_path, ext) -> None:
    """A photo stored 40x24 with EXIF orientation 6 (rotate 90) decodes as 24 wide, 40 high;
    the header read says the same."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / f"rotated{ext}"
    Image.new("RGB", (40, 24), (10, 200, 30)).save(path, exif=exif.tobytes())
    assert image_size(path) == tuple(load_image(path).shape[-2:]) == (40, 24)
