"""The disk cache of decoded images (``data.disk_cache``): images beyond the memory cache are
decoded once and then read from a memory-mapped uint8 file with the same pixels; an edited image
is decoded afresh; a damaged entry is replaced; a full or unwritable disk turns writing off with a
warning instead of failing training; the images themselves are never written."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest
import torch
from PIL import Image

import dsgan.data.decoded as decoded_module
from dsgan.data.decoded import DiskCache, default_dir, disk_cache
from dsgan.data.pairs import PairDataset
from dsgan.data.pool import ImagePool
from dsgan.io.images import load_image, load_image_u8, save_image


def _as_u8(path) -> torch.Tensor:
    return load_image(path).mul(255).round().to(torch.uint8)


@pytest.mark.parametrize("mode", ["RGB", "L", "P", "RGBA", "I;16", "F"])
def test_u8_loader_equals_the_float_loader_rounded(tmp_path, mode) -> None:
    rng = np.random.default_rng(3)
    rgb = Image.fromarray(rng.integers(0, 256, (9, 13, 3), dtype=np.uint8))
    img = {
        "RGB": rgb,
        "L": rgb.convert("L"),
        "P": rgb.convert("P"),
        "RGBA": rgb.convert("RGBA"),
        "I;16": Image.fromarray(rng.integers(0, 65536, (9, 13), dtype=np.uint16)),
        "F": Image.fromarray(rng.random((9, 13), dtype=np.float32)),
    }[mode]
    path = tmp_path / ("img.tif" if mode == "F" else "img.png")
    img.save(path)
    got = load_image_u8(path)
    assert got.dtype == torch.uint8 and got.shape == (3, 9, 13)
    assert torch.equal(got, _as_u8(path))


def test_default_folder_follows_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DSGAN_CACHE_DIR", str(tmp_path / "a"))
    assert default_dir() == tmp_path / "a" / "decoded"
    monkeypatch.delenv("DSGAN_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_dir() == tmp_path / "xdg" / "dsgan" / "decoded"
    assert disk_cache(None).root is None
    assert disk_cache("auto").root == default_dir()
    assert disk_cache(str(tmp_path / "mine")).root == tmp_path / "mine"


def test_decoded_once_then_read_from_the_mapped_entry(tmp_path, make_images, monkeypatch):
    files = make_images(tmp_path / "img", 2, (20, 30))
    before = [f.read_bytes() for f in files]
    cache = DiskCache(tmp_path / "cache")
    decodes = []
    real = decoded_module.load_image_u8
    monkeypatch.setattr(decoded_module, "load_image_u8", lambda p: decodes.append(p) or real(p))
    first = [cache.load(f) for f in files]
    again = [cache.load(f) for f in files]
    assert decodes == files  # the second round read the entries
    entries = sorted((tmp_path / "cache").rglob("*.npy"))
    assert len(entries) == 2 and not list((tmp_path / "cache").rglob("*.tmp"))
    for f, a, b in zip(files, first, again, strict=True):
        assert torch.equal(a, _as_u8(f)) and torch.equal(b, a)
    assert [f.read_bytes() for f in files] == before  # inputs untouched
    # the mapping is copy-on-write: changing a returned tensor never changes the entry
    again[0][:, 0, 0] = 0
    assert torch.equal(cache.load(files[0]), first[0])


def test_edited_image_is_decoded_afresh(tmp_path, make_images) -> None:
    (path,) = make_images(tmp_path / "img", 1, 16)
    cache = DiskCache(tmp_path / "cache")
    old = cache.load(path).clone()
    save_image(1 - load_image(path), path)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a later mtime, even if coarse
    new = cache.load(path)
    assert torch.equal(new, _as_u8(path)) and not torch.equal(new, old)


def test_damaged_entry_is_replaced(tmp_path, make_images, caplog) -> None:
    (path,) = make_images(tmp_path / "img", 1, 16)
    cache = DiskCache(tmp_path / "cache")
    cache.load(path)
    cache.entry(path).write_bytes(b"not an array")
    with caplog.at_level(logging.WARNING):
        got = cache.load(path)
    assert "unreadable" in caplog.text and torch.equal(got, _as_u8(path))
    assert torch.equal(torch.from_numpy(np.load(cache.entry(path))).permute(2, 0, 1), got)


def test_full_disk_stops_writing_with_a_warning(tmp_path, make_images, monkeypatch, caplog):
    files = make_images(tmp_path / "img", 2, 16)
    cache = DiskCache(tmp_path / "cache")
    monkeypatch.setattr(decoded_module, "RESERVE_BYTES", 10**18)  # no disk is that large
    with caplog.at_level(logging.WARNING):
        got = [cache.load(f) for f in files]
    assert not cache.writable and not list((tmp_path / "cache").rglob("*.npy"))
    assert caplog.text.count("no more entries written") == 1 and "data.disk_cache" in caplog.text
    assert all(torch.equal(g, _as_u8(f)) for g, f in zip(got, files, strict=True))


def test_unwritable_folder_stops_writing_with_a_warning(tmp_path, make_images, caplog) -> None:
    (path,) = make_images(tmp_path / "img", 1, 16)
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    cache = DiskCache(blocker)
    with caplog.at_level(logging.WARNING):
        got = cache.load(path)
    assert torch.equal(got, _as_u8(path)) and not cache.writable
    assert "no more entries written" in caplog.text


def test_pools_read_through_the_disk_cache(tmp_path, make_images) -> None:
    """Beyond the memory budget, pools and pair sets give the pixels and crops of a fully
    cached pool, whether read through the disk cache (cold, then warm) or decoded each time."""
    hr_files = make_images(tmp_path / "HR", 3, 32)
    for hr in hr_files:
        save_image(load_image(hr)[:, ::2, ::2], tmp_path / "LR" / hr.name)
    disk = DiskCache(tmp_path / "cache")
    full = ImagePool(tmp_path / "HR", cache=True)
    for pool in (
        ImagePool(tmp_path / "HR", cache=0, disk=disk),
        ImagePool(tmp_path / "HR", cache=0),
    ):
        for _ in range(2):
            assert all(torch.equal(pool.get(i), full.get(i)) for i in range(3))
    pairs_full = PairDataset(tmp_path / "LR", tmp_path / "HR", 2, 16, cache=True)
    pairs_disk = PairDataset(tmp_path / "LR", tmp_path / "HR", 2, 16, cache=0, disk=disk)
    for _ in range(2):
        for i in range(3):
            for a, b in zip(pairs_full[(i, 77 + i)], pairs_disk[(i, 77 + i)], strict=True):
                assert torch.equal(a, b)
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 6  # 3 HR + 3 LR, each once


def test_training_writes_entries_to_the_configured_folder(tiny_dsgan, tmp_path) -> None:
    folder = tmp_path / "decoded"
    trainer = tiny_dsgan({"data.cache_gb": 0, "data.disk_cache": str(folder)})
    cached = tiny_dsgan()
    for a, b in zip(trainer._loader(), cached._loader(), strict=True):
        assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert list(folder.rglob("*.npy"))
