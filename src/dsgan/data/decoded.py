"""Decoded images kept on disk (``data.disk_cache``), for datasets larger than the memory cache.

An image beyond the memory budget (:mod:`dsgan.data.cache`) is decoded once, in whichever loader
worker first needs it, and written as an uncompressed (H, W, 3) uint8 ``.npy`` file; every later
read maps that file into memory, so a random crop touches only its own rows instead of decoding a
whole PNG (on a 2K photo: about 0.4 ms against 120 ms). The files live outside the run directory,
shared by every run on the same images, keyed by each image's resolved path, size and
modification time (an edited image is decoded afresh). Writing is atomic (a crash leaves no
half-written entry), stops with a warning when the disk holds less than
:data:`RESERVE_BYTES` beyond what an image needs, and never touches the images themselves.

Written by hand: the field's loaders either decode on every read (torchvision, BasicSR's disk
backend) or read pre-packed compressed patches (BasicSR's LMDB, which still decodes per read and
needs a conversion step); nothing keeps decoded pixels for region reads of a plain folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import torch

from dsgan.io.images import load_image_u8

log = logging.getLogger(__name__)

FORMAT = 1  # bump when what an entry holds changes: older entries are then ignored
RESERVE_BYTES = 2 * 10**9  # free space left to the rest of the machine


def default_dir() -> Path:
    """``$DSGAN_CACHE_DIR/decoded``, else ``$XDG_CACHE_HOME/dsgan/decoded``, else
    ``~/.cache/dsgan/decoded``."""
    if os.environ.get("DSGAN_CACHE_DIR"):
        return Path(os.environ["DSGAN_CACHE_DIR"]) / "decoded"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dsgan" / "decoded"


def disk_cache(setting: str | None) -> DiskCache:
    """The cache a ``data.disk_cache`` setting names: ``"auto"`` (:func:`default_dir`), a
    folder, or None (off: images beyond the memory cache are decoded on every read)."""
    if setting is None:
        return DiskCache(None)
    return DiskCache(default_dir() if setting == "auto" else Path(setting).expanduser())


class DiskCache:
    """Decoded images on disk; ``root`` None decodes on every :meth:`load`."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.writable = root is not None  # turned off (with a warning) when writing fails

    def entry(self, path: Path) -> Path:
        """The ``.npy`` file that holds ``path`` decoded (it may not exist yet)."""
        assert self.root is not None
        st = path.stat()
        key = f"{FORMAT}|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self.root / digest[:2] / f"{digest}.npy"

    def load(self, path: Path) -> torch.Tensor:
        """``path`` decoded: uint8 (3, H, W) in [0, 255], a view of a memory-mapped entry when
        one exists (pages are read as they are touched); else decoded now and stored.

        Raises:
            ImageError: the file is unusable (as :func:`~dsgan.io.images.load_image_u8`).
        """
        if self.root is None:
            return load_image_u8(path)
        try:
            file = self.entry(path)
        except OSError:  # gone or unreadable: the decode below names the file
            return load_image_u8(path)
        try:
            # copy-on-write mapping: writable for torch, never written back to the entry
            return torch.from_numpy(np.load(file, mmap_mode="c")).permute(2, 0, 1)
        except (FileNotFoundError, NotADirectoryError):  # not stored yet
            pass
        except (OSError, ValueError) as exc:  # damaged entry: decode again, replace it
            log.warning(
                "decoded-image cache entry %s unreadable (%s); decoding %s", file, exc, path
            )
        img = load_image_u8(path)
        if self.writable:
            self._store(file, img)
        return img

    def _store(self, file: Path, img: torch.Tensor) -> None:
        assert self.root is not None
        hwc = img.permute(1, 2, 0).numpy()
        tmp = file.with_name(f".{file.stem}.{os.getpid()}.tmp")
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(file.parent).free
            if free < hwc.nbytes + RESERVE_BYTES:
                self._stop(f"{free / 1e9:.1f} GB free, keeping {RESERVE_BYTES / 1e9:.0f} GB")
                return
            with open(tmp, "wb") as fh:
                np.save(fh, hwc, allow_pickle=False)
            os.replace(tmp, file)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            self._stop(str(exc))

    def _stop(self, why: str) -> None:
        self.writable = False
        log.warning(
            "decoded-image cache %s: no more entries written (%s); further images are decoded "
            "on every read. Set data.disk_cache to a folder with room, or null to turn it off",
            self.root,
            why,
        )
