"""Image decoding (every common mode and format, broken files) and atomic writing."""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

import dsgan.io.atomic as atomic_mod
import dsgan.io.images as images_mod
from dsgan.errors import ImageError, UserError
from dsgan.io import list_images, load_image, save_image, tensor_to_uint8


def rgb_array(h: int = 6, w: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def as_uint8(t: torch.Tensor) -> np.ndarray:
    return tensor_to_uint8(t)


def check_tensor(t: torch.Tensor, h: int, w: int) -> None:
    assert t.dtype == torch.float32
    assert t.shape == (3, h, w)
    assert float(t.min()) >= 0.0 and float(t.max()) <= 1.0


@pytest.mark.parametrize(
    ("ext", "kwargs", "lossless"),
    [
        (".png", {}, True),
        (".tif", {}, True),
        (".bmp", {}, True),
        (".webp", {"lossless": True}, True),
        (".jpg", {"quality": 95}, False),
    ],
)
def test_rgb_formats(tmp_path: Path, ext, kwargs, lossless):
    if lossless:
        arr = rgb_array(16, 24)
    else:  # a flat colour survives JPEG within a few levels
        arr = np.empty((16, 24, 3), dtype=np.uint8)
        arr[...] = (100, 150, 200)
    path = tmp_path / f"x{ext}"
    Image.fromarray(arr).save(path, **kwargs)
    t = load_image(path)
    check_tensor(t, 16, 24)
    diff = np.abs(as_uint8(t).astype(int) - arr.astype(int)).max()
    assert diff == 0 if lossless else diff <= 3


def test_grey_8bit(tmp_path: Path):
    grey = np.arange(48, dtype=np.uint8).reshape(6, 8) * 5
    Image.fromarray(grey).save(tmp_path / "g.png")
    t = load_image(tmp_path / "g.png")
    check_tensor(t, 6, 8)
    for c in range(3):
        np.testing.assert_array_equal(as_uint8(t)[..., c], grey)


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_grey_16bit_scaled_by_65535(tmp_path: Path, ext):
    values = np.array([[0, 1000, 32768], [65535, 255, 12345]], dtype=np.uint16)
    img = Image.fromarray(values)
    path = tmp_path / f"g16{ext}"
    img.save(path)
    with Image.open(path) as check:
        assert check.mode.startswith("I")  # really a 16-bit file
    t = load_image(path)
    check_tensor(t, 2, 3)
    expected = torch.from_numpy(values.astype(np.float64) / 65535).float()
    for c in range(3):
        torch.testing.assert_close(t[c], expected, atol=1e-6, rtol=0)


def test_grey_16bit_dark_image_not_mistaken_for_8bit(tmp_path: Path):
    values = np.full((3, 3), 200, dtype=np.uint16)  # all values <= 255, still 16-bit
    Image.fromarray(values).save(tmp_path / "dark16.png")
    t = load_image(tmp_path / "dark16.png")
    torch.testing.assert_close(t, torch.full_like(t, 200 / 65535), atol=1e-7, rtol=0)


def test_rgba_and_la_drop_alpha(tmp_path: Path):
    rgba = np.zeros((4, 5, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 250, 100, 30, 0  # fully transparent
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    t = load_image(tmp_path / "rgba.png")
    check_tensor(t, 4, 5)
    assert as_uint8(t)[0, 0].tolist() == [250, 100, 30]

    la = Image.fromarray(np.full((4, 5), 77, dtype=np.uint8)).convert("LA")
    la.putalpha(10)
    la.save(tmp_path / "la.png")
    with Image.open(tmp_path / "la.png") as check:
        assert check.mode == "LA"
    t = load_image(tmp_path / "la.png")
    check_tensor(t, 4, 5)
    assert np.all(as_uint8(t) == 77)


@pytest.mark.parametrize("transparency", [False, True])
def test_palette(tmp_path: Path, transparency):
    pal = Image.new("P", (5, 3))
    pal.putpalette([10, 20, 30, 200, 150, 100] + [0] * (256 * 3 - 6))
    pal.putpixel((0, 0), 1)
    path = tmp_path / "p.png"
    if transparency:
        pal.save(path, transparency=1)
    else:
        pal.save(path)
    with Image.open(path) as check:
        assert check.mode == "P"
        assert ("transparency" in check.info) == transparency
    t = load_image(path)
    check_tensor(t, 3, 5)
    arr = as_uint8(t)
    assert arr[0, 0].tolist() == [200, 150, 100]
    assert arr[2, 4].tolist() == [10, 20, 30]


def test_bilevel(tmp_path: Path):
    img = Image.new("1", (4, 2))
    img.putpixel((1, 1), 1)
    img.save(tmp_path / "b.png")
    arr = as_uint8(load_image(tmp_path / "b.png"))
    assert arr[1, 1].tolist() == [255, 255, 255] and arr.sum() == 3 * 255


def test_cmyk_jpeg(tmp_path: Path):
    arr = np.zeros((8, 8, 3), dtype=np.uint8)
    arr[...] = (200, 60, 20)
    Image.fromarray(arr).convert("CMYK").save(tmp_path / "c.jpg", quality=100)
    with Image.open(tmp_path / "c.jpg") as check:
        assert check.mode == "CMYK"
    t = load_image(tmp_path / "c.jpg")
    check_tensor(t, 8, 8)
    assert np.abs(as_uint8(t).astype(int) - arr.astype(int)).max() <= 4


def test_exif_orientation_applied(tmp_path: Path):
    arr = np.zeros((16, 32, 3), dtype=np.uint8)  # stored 32 wide, 16 high
    arr[:, :8] = (255, 0, 0)  # left block red
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    path = tmp_path / "rot.jpg"
    Image.fromarray(arr).save(path, exif=exif, quality=95)
    t = load_image(path)
    check_tensor(t, 32, 16)  # displayed 16 wide, 32 high
    top, bottom = as_uint8(t)[:6].astype(int), as_uint8(t)[-6:].astype(int)
    assert top[..., 0].mean() > 200 and top[..., 1].mean() < 40  # the red left edge is now on top
    assert bottom[..., 0].mean() < 40


def test_zero_byte_file(tmp_path: Path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match=r"empty\.png.*empty") as info:
        load_image(path)
    assert info.value.path == str(path)


def test_truncated_png(tmp_path: Path):
    path = tmp_path / "cut.png"
    Image.fromarray(rgb_array(64, 64)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"cut\.png"):
        load_image(path)


def test_text_file_with_png_extension(tmp_path: Path):
    path = tmp_path / "notes.png"
    path.write_text("this is not an image\n")
    with pytest.raises(ImageError, match=r"notes\.png.*not a readable image"):
        load_image(path)


def test_missing_file_and_folder(tmp_path: Path):
    with pytest.raises(ImageError, match=r"gone\.png: file not found"):
        load_image(tmp_path / "gone.png")
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)


def test_too_many_pixels_via_max_pixels(tmp_path: Path, monkeypatch):
    path = tmp_path / "big.png"
    Image.fromarray(rgb_array(20, 30)).save(path)
    monkeypatch.setattr(images_mod, "MAX_PIXELS", 500)
    with pytest.raises(ImageError, match=r"big\.png.*30x20"):
        load_image(path)
    monkeypatch.setattr(images_mod, "MAX_PIXELS", 600)
    check_tensor(load_image(path), 20, 30)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_decompression_bomb_header(tmp_path: Path):
    """A tiny file whose header claims 40000 x 40000 pixels is refused before decoding."""
    ihdr = struct.pack(">IIBBBBB", 40_000, 40_000, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1000)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )
    path = tmp_path / "bomb.png"
    path.write_bytes(data)
    assert path.stat().st_size < 1000
    with pytest.raises(ImageError, match=r"bomb\.png"):
        load_image(path)


# --- writing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", [".png", ".tif", ".bmp", ".webp"])
def test_save_round_trip_exact_for_uint8_values(tmp_path: Path, ext):
    arr = rgb_array(7, 9, seed=3)
    t = torch.from_numpy(arr.transpose(2, 0, 1).astype(np.float32) / 255)
    path = tmp_path / "sub" / f"out{ext}"
    if ext == ".webp":
        save_image(arr, path)  # lossy webp: only check it decodes to the right shape
        check_tensor(load_image(path), 7, 9)
        return
    save_image(t, path)
    np.testing.assert_array_equal(as_uint8(load_image(path)), arr)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp files left


def test_png_compression_level_is_applied_and_lossless(tmp_path: Path):
    import io as _io

    from PIL import Image

    from dsgan.io.images import PNG_COMPRESS_LEVEL

    ramp = np.add.outer(np.arange(48), np.arange(48)) * 2  # compressible, like a photo
    arr = np.clip(ramp[..., None] + rgb_array(48, 48, seed=4) // 32, 0, 255).astype(np.uint8)
    sizes = {}
    for level in (0, PNG_COMPRESS_LEVEL, 9):
        path = tmp_path / f"l{level}.png"
        save_image(arr, path, png_level=level)
        np.testing.assert_array_equal(as_uint8(load_image(path)), arr)
        sizes[level] = path.stat().st_size
    assert sizes[0] > sizes[PNG_COMPRESS_LEVEL] >= sizes[9]
    save_image(arr, tmp_path / "default.png")
    ref = _io.BytesIO()
    Image.fromarray(arr).save(ref, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    assert (tmp_path / "default.png").read_bytes() == ref.getvalue()


def test_save_refuses_batches_and_bad_png_levels(tmp_path: Path):
    with pytest.raises(ValueError, match="one image"):
        save_image(torch.rand(1, 3, 4, 4), tmp_path / "x.png")
    with pytest.raises(ValueError, match="png_level"):
        save_image(rgb_array(4, 4), tmp_path / "x.png", png_level=10)
    assert not list(tmp_path.iterdir())


def test_save_is_atomic_on_failure(tmp_path: Path, monkeypatch):
    path = tmp_path / "keep.png"
    original = rgb_array(4, 4, seed=1)
    save_image(original, path)

    def broken_save(self, fp, *args, **kwargs):
        fp.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_image(rgb_array(4, 4, seed=2), path)
    monkeypatch.undo()
    np.testing.assert_array_equal(as_uint8(load_image(path)), original)  # old file intact
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


def test_saved_file_gets_normal_permissions(tmp_path: Path):
    path = tmp_path / "perm.png"
    save_image(rgb_array(3, 3), path)
    umask = os.umask(0)
    os.umask(umask)
    assert (path.stat().st_mode & 0o777) == (0o666 & ~umask)


def test_save_rounds_and_clamps(tmp_path: Path):
    t = torch.tensor([-0.5, 0.5 / 255, 1.6 / 255, 2.0]).view(1, 1, 4).expand(3, 1, 4)
    save_image(t, tmp_path / "r.png")
    assert as_uint8(load_image(tmp_path / "r.png"))[0, :, 0].tolist() == [0, 0, 2, 255]


def test_save_unknown_extension(tmp_path: Path):
    with pytest.raises(UserError, match="extension"):
        save_image(rgb_array(2, 2), tmp_path / "x.unknownext")


@pytest.mark.parametrize("shape", [(3, 4), (4, 4, 4), (2, 4, 4, 4), (1, 1, 3, 4, 4)])
def test_tensor_to_uint8_rejects_wrong_shape(shape):
    with pytest.raises(ValueError):
        tensor_to_uint8(torch.rand(shape))


def test_tensor_to_uint8_batch_equals_one_at_a_time():
    x = torch.rand(3, 3, 5, 7) * 1.2 - 0.1  # out of range values are clamped
    batch = tensor_to_uint8(x.contiguous(memory_format=torch.channels_last))
    assert batch.shape == (3, 5, 7, 3) and batch.dtype == np.uint8
    for i in range(3):
        np.testing.assert_array_equal(batch[i], tensor_to_uint8(x[i]))


# --- discovery ----------------------------------------------------------------------------------


def test_list_images(tmp_path: Path):
    for name in ["b.png", "a.JPG", "c.webp", "notes.txt", ".x.png.abc.tmp"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.png").write_bytes(b"x")
    assert [p.name for p in list_images(tmp_path)] == ["a.JPG", "b.png", "c.webp"]
    assert [p.name for p in list_images(tmp_path, recursive=True)] == [
        "a.JPG",
        "b.png",
        "c.webp",
        "d.png",
    ]


def test_list_images_errors(tmp_path: Path):
    with pytest.raises(UserError, match="no images"):
        list_images(tmp_path)
    with pytest.raises(UserError, match="does not exist"):
        list_images(tmp_path / "missing")
    (tmp_path / "f.png").write_bytes(b"x")
    with pytest.raises(UserError, match="not a folder"):
        list_images(tmp_path / "f.png")


@settings(max_examples=25, deadline=None)
@given(
    arrays(
        np.uint8,
        st.tuples(st.integers(1, 9), st.integers(1, 9), st.just(3)),
        elements=st.integers(0, 255),
    )
)
def test_png_round_trip_property(arr):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.png"
        save_image(arr, path)
        t = load_image(path)
        assert t.shape == (3, *arr.shape[:2])
        np.testing.assert_array_equal(as_uint8(t), arr)
        # and via the float tensor path
        save_image(t, path)
        np.testing.assert_array_equal(as_uint8(load_image(path)), arr)


def _rgb_png(path: Path, **save_kwargs) -> Path:
    Image.fromarray(rgb_array(6, 8, seed=3)).save(path, **save_kwargs)
    return path


def test_decodes_verbatim_only_for_plain_8bit_rgb_png(tmp_path: Path):
    assert images_mod.decodes_verbatim(_rgb_png(tmp_path / "plain.png"))
    assert images_mod.decodes_verbatim(_rgb_png(tmp_path / "fast.png", compress_level=1))
    rgba = np.concatenate([rgb_array(6, 8, seed=3), np.full((6, 8, 1), 200, np.uint8)], axis=2)
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    Image.fromarray(rgb_array(6, 8)[..., 0]).save(tmp_path / "grey.png")
    Image.fromarray(rgb_array(6, 8)).convert("P").save(tmp_path / "palette.png")
    _rgb_png(tmp_path / "key.png", transparency=(0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    _rgb_png(tmp_path / "rotated.png", exif=exif)
    _rgb_png(tmp_path / "photo.jpg", quality=95)
    _rgb_png(tmp_path / "lossless.webp", lossless=True)
    # a 16-bit RGB PNG (Pillow would decode it to 8-bit "RGB"): IHDR bit depth 16
    _write_png16_rgb(tmp_path / "deep.png")
    assert load_image(tmp_path / "deep.png").shape == (3, 2, 2)  # a valid image, just not 8-bit
    (tmp_path / "fake.png").write_bytes(b"not an image at all, longer than a header")
    for name in (
        "rgba.png",
        "grey.png",
        "palette.png",
        "key.png",
        "rotated.png",
        "photo.jpg",
        "lossless.webp",
        "deep.png",
        "fake.png",
        "missing.png",
    ):
        assert not images_mod.decodes_verbatim(tmp_path / name), name


def _write_png16_rgb(path: Path) -> None:
    """A 2x2 16-bit truecolour PNG written by hand (Pillow cannot write one)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + struct.pack(">6H", *([40000, 20000, 100] * 2)) for _ in range(2))
    ihdr = struct.pack(">IIBBBBB", 2, 2, 16, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_copy_image_is_byte_identical_and_atomic(tmp_path: Path, monkeypatch):
    src = _rgb_png(tmp_path / "src.png", compress_level=0)
    images_mod.copy_image(src, tmp_path / "out" / "dst.png")
    assert (tmp_path / "out" / "dst.png").read_bytes() == src.read_bytes()
    with pytest.raises(ImageError, match=r"missing\.png"):
        images_mod.copy_image(tmp_path / "missing.png", tmp_path / "out" / "x.png")

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic_mod.os, "fsync", full)
    with pytest.raises(UserError, match=r"dst2.png: cannot write the image: disk full"):
        images_mod.copy_image(src, tmp_path / "out" / "dst2.png")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dst.png"]
