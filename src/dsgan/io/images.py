"""Reading and writing images with Pillow.

Loaders return float32 RGB tensors of shape (3, H, W) with values in [0, 1]
(:func:`load_image_u8`: uint8 in [0, 255], for the training pools), whatever the file held:
8/16-bit, grey, RGBA or LA (alpha composited on black is *not* done: alpha is dropped), palette,
CMYK; EXIF orientation is applied. Writing is atomic: a temporary file in the destination folder is
renamed over the target, so a crash never leaves a half-written image.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from dsgan.errors import ImageError, UserError
from dsgan.io.atomic import write_atomic

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")

ORIENTATION_TAG = 0x0112  # EXIF orientation
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Pillow's own guard against decompression bombs, made an error rather than a warning.
MAX_PIXELS = 178_956_970

# Pillow modes with more than 8 bits per sample (16-bit, 32-bit integer, float).
_WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


def list_images(folder: str | Path, recursive: bool = False) -> list[Path]:
    """Sorted image files in ``folder`` (by extension); a clear error if there are none.

    A symbolic link named like an image is listed even when it is broken (or a loop), so that it
    is reported as unusable like any other bad file, never silently ignored."""
    folder = Path(folder)
    if _broken_link(folder):
        raise UserError(f"{folder}: broken symbolic link (its target is missing, or it loops)")
    if not folder.exists():
        raise UserError(f"{folder}: folder does not exist")
    if not folder.is_dir():
        raise UserError(f"{folder}: is not a folder; pass a folder of images")
    pattern = "**/*" if recursive else "*"
    files = sorted(
        p
        for p in folder.glob(pattern)
        if p.suffix.lower() in IMAGE_EXTENSIONS and (p.is_file() or _broken_link(p))
    )
    if not files:
        raise UserError(f"{folder}: no images found (looked for {', '.join(IMAGE_EXTENSIONS)})")
    return files


def _broken_link(path: Path) -> bool:
    """A symbolic link whose target is missing or which loops."""
    return path.is_symlink() and not path.exists()


def _to_rgb_array(img: Image.Image, path: Path) -> np.ndarray:
    """Convert any Pillow mode to an (H, W, 3) float32 array in [0, 1]."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
        arr = np.clip(arr / peak, 0.0, 1.0)
        return np.repeat(arr[..., None], 3, axis=2).astype(np.float32)
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        if not np.isfinite(arr).all():
            raise ImageError(
                path, "some pixels are NaN or infinite (a float image); save it as 8 or 16 bit"
            )
        peak = 1.0 if arr.max() <= 1.0 else (255.0 if arr.max() <= 255 else 65535.0)
        arr = np.clip(arr / peak, 0.0, 1.0)
        return np.repeat(arr[..., None], 3, axis=2).astype(np.float32)
    return _to_rgb8(img).astype(np.float32) / 255.0


def _to_rgb8(img: Image.Image) -> np.ndarray:
    """An 8-bit Pillow mode (grey, palette, RGBA, CMYK, ...) as an (H, W, 3) uint8 array."""
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    return np.asarray(img if img.mode == "RGB" else img.convert("RGB"), dtype=np.uint8)


def load_image(path: str | Path) -> torch.Tensor:
    """Decode an image file.

    Returns:
        float32 tensor (3, H, W), values in [0, 1].

    Raises:
        ImageError: empty, truncated, corrupt, unreadable or oversized (decompression bomb) files.
    """
    return load_image_verbatim(path)[0]


def load_image_u8(path: str | Path) -> torch.Tensor:
    """:func:`load_image` as 8-bit values: what the training pools keep.

    Returns:
        uint8 tensor (3, H, W), values in [0, 255]: a channels-first *view* of the decoded
        (H, W, 3) array (no transposing copy; crops then copy only their own pixels). Equal to
        ``load_image(path).mul(255).round()`` as uint8; 8-bit files skip the float round trip.

    Raises:
        ImageError: as :func:`load_image`.
    """
    path = Path(path)
    with _opened(path) as img:
        img.load()
        img = ImageOps.exif_transpose(img)
        if img.mode in _WIDE_MODES:  # 16-bit or float: scaled to [0, 1] first
            arr = np.round(_to_rgb_array(img, path) * 255).astype(np.uint8)
        else:
            arr = _to_rgb8(img)
    return torch.from_numpy(np.require(arr, requirements="CW")).permute(2, 0, 1)


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[Image.Image]:
    """The image file opened by Pillow (header read, size within :data:`MAX_PIXELS`); every
    failure, in the opening or in the caller's block, becomes an ImageError naming ``path``."""
    try:
        if _broken_link(path):
            raise ImageError(path, "broken symbolic link (its target is missing, or it loops)")
        if path.stat().st_size == 0:
            raise ImageError(path, "file is empty (0 bytes)")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise ImageError(
                        path, f"{img.width}x{img.height} pixels exceeds the {MAX_PIXELS} limit"
                    )
                yield img
    except ImageError:
        raise
    except FileNotFoundError as exc:
        raise ImageError(path, "file not found") from exc
    except IsADirectoryError as exc:
        raise ImageError(path, "is a folder, not an image file") from exc
    except PermissionError as exc:
        raise ImageError(path, "permission denied; make the file readable") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(path, f"refused as a possible decompression bomb ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(path, "not a readable image (unknown or corrupt format)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(path, f"corrupt or truncated image ({exc})") from exc


def image_size(path: str | Path) -> tuple[int, int]:
    """(height, width) of an image as :func:`load_image` would return it (EXIF rotation
    applied), from its header alone: no pixel is decoded (so a PNG's EXIF rotation counts only
    when its eXIf chunk precedes the pixel data, as writers put it).

    Raises:
        ImageError: as :func:`load_image` for files whose header is already unusable; a file
            damaged further in is only found when it is decoded.
    """
    with _opened(Path(path)) as img:
        w, h = img.size
        if img.format == "PNG":  # getexif() would decode a PNG to find a late eXIf chunk
            exif = Image.Exif()
            if img.info.get("exif"):
                exif.load(img.info["exif"])
        else:
            exif = img.getexif()
    return (w, h) if exif.get(ORIENTATION_TAG, 1) in (5, 6, 7, 8) else (h, w)


def load_image_verbatim(path: str | Path, compact: bool = False) -> tuple[torch.Tensor, bool]:
    """:func:`load_image`, plus whether the file is a PNG whose pixels it returns unchanged:
    8-bit truecolour RGB (IHDR bit depth 8, colour type 2; Pillow would also call 16-bit RGB
    "RGB"), no transparency, no EXIF rotation. Saving the image as PNG then gives the same pixels
    as the file itself, so callers may copy the file instead of re-encoding it (much faster). One
    decode serves both.

    ``compact``: 8-bit files come as a uint8 (3, H, W) tensor (a quarter of the bytes to move;
    ``x / 255`` in float32 equals the float result exactly), 16-bit and float ones as float32.
    """
    path = Path(path)
    with _opened(path) as img:
        img.load()
        verbatim = (
            img.format == "PNG"
            and "transparency" not in img.info
            and img.getexif().get(ORIENTATION_TAG, 1) == 1
            and _png_is_rgb8(path)
        )
        img = ImageOps.exif_transpose(img)
        wide = not compact or img.mode in _WIDE_MODES
        arr = _to_rgb_array(img, path) if wide else _to_rgb8(img)
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))), verbatim


def _png_is_rgb8(path: Path) -> bool:
    """The PNG header (first 26 bytes) says 8-bit truecolour RGB."""
    with open(path, "rb") as fh:
        head = fh.read(26)
    return head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR" and head[24:26] == b"\x08\x02"


def tensor_to_uint8(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) float in [0, 1] -> (H, W, 3) uint8, rounded, clamped; a batch (N, 3, H, W) ->
    (N, H, W, 3). Converted on the tensor's device, so only 8-bit pixels cross to the host."""
    if image.ndim not in (3, 4) or image.shape[-3] != 3:
        raise ValueError(f"expected a (3, H, W) or (N, 3, H, W) tensor, got {tuple(image.shape)}")
    arr = image.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8)
    return arr.movedim(-3, -1).cpu().numpy()


#: zlib level of written PNGs: 1 (OpenCV's default, so BasicSR's) encodes real photos about 4x
#: faster than Pillow's default 6 for files about 9% larger (docs/SPEED.md)
PNG_COMPRESS_LEVEL = 1


def save_image(
    image: torch.Tensor | np.ndarray,
    path: str | Path,
    quality: int = 95,
    png_level: int = PNG_COMPRESS_LEVEL,
) -> None:
    """Write an RGB image atomically; the format comes from the extension.

    Args:
        image: (3, H, W) float tensor in [0, 1], or an (H, W, 3) uint8 array.
        path: destination; its folder is created.
        quality: JPEG/WebP quality.
        png_level: PNG zlib compression level, 0-9 (lossless at every level).

    Raises:
        UserError: disk full, quota, read-only or unwritable destination, naming the file; neither
            a partial image nor a temporary file is left behind.
    """
    path = Path(path)
    if image.ndim != 3:
        raise ValueError(
            f"{path}: expected one image, (3, H, W) or (H, W, 3), got {tuple(image.shape)}"
        )
    if not 0 <= png_level <= 9:
        raise ValueError(f"png_level must be 0-9, got {png_level}")
    arr = tensor_to_uint8(image) if isinstance(image, torch.Tensor) else image
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise UserError(f"{path}: unknown image extension {path.suffix!r}")
    kwargs: dict[str, int] = {}
    if fmt in ("JPEG", "WEBP"):
        kwargs["quality"] = quality
    elif fmt == "PNG":
        kwargs["compress_level"] = png_level
    write_atomic(
        path, lambda fh: Image.fromarray(arr, mode="RGB").save(fh, format=fmt, **kwargs), "image"
    )


def copy_image(src: str | Path, dst: str | Path) -> None:
    """Copy an image file byte for byte, atomically and with the same errors as ``save_image``."""
    src = Path(src)
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise ImageError(src, f"cannot read the file ({exc.strerror or exc})") from exc
    write_atomic(Path(dst), lambda fh: fh.write(data), "image")


def decodes_verbatim(path: str | Path) -> bool:
    """Whether ``path`` is a PNG that :func:`load_image` returns unchanged (see
    :func:`load_image_verbatim`); False for anything unreadable."""
    try:
        return load_image_verbatim(path)[1]
    except ImageError:
        return False
