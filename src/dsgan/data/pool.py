"""A pool of training images: sizes read from headers at start-up, pixels decoded into a bounded
uint8 cache (:mod:`dsgan.data.cache`) or on demand, through the disk cache of decoded images
(:mod:`dsgan.data.decoded`) where one is set."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from dsgan.data.cache import Budget
from dsgan.data.decoded import DiskCache
from dsgan.errors import ImageError, UserError
from dsgan.io.images import image_size, list_images, load_image_u8

log = logging.getLogger(__name__)


class ImagePool:
    """Images of a folder as (3, H, W) uint8 tensors.

    Args:
        folder: image folder.
        min_size: (min_h, min_w) an image must have; smaller ones are skipped with a warning.
        cache: bytes of decoded images to keep in memory (:class:`~dsgan.data.cache.Budget`, or
            an int; ``True`` = all, ``False``/0 = none); images beyond it are decoded on each
            access.
        on_error: ``skip`` unusable files with a warning, or ``stop`` with an error naming the file.
        disk: where images beyond ``cache`` are read from (decoded once, then mapped); None
            decodes them on every access.

    Start-up reads every file's header (its size) and decodes only what it caches. A file whose
    pixels turn out unusable when it is first decoded later is skipped then (``skip``: another
    image is used and a warning names the file) or stops training (``stop``).
    """

    def __init__(
        self,
        folder: str | Path,
        min_size: tuple[int, int] = (1, 1),
        cache: Budget | int | bool = True,
        on_error: str = "skip",
        disk: DiskCache | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.on_error = on_error
        self.disk = disk or DiskCache(None)
        budget = cache if isinstance(cache, Budget) else Budget(_total(cache))
        self.files: list[Path] = []
        self.sizes: list[tuple[int, int]] = []  # (H, W) of each file, from its header
        self._cached: dict[int, torch.Tensor] = {}
        self._bad: set[int] = set()
        self.skipped: list[str] = []
        for path in list_images(folder):
            try:
                h, w = image_size(path)
                if h < min_size[0] or w < min_size[1]:
                    msg = f"{w}x{h} is smaller than the {min_size[1]}x{min_size[0]} needed"
                    raise ImageError(path, msg + "; use a smaller --crop or remove the file")
                img = load_image_u8(path) if budget.take(3 * h * w) else None
            except ImageError as exc:
                if on_error == "stop":
                    raise
                self.skipped.append(str(exc))
                log.warning("skipping %s", exc)
                continue
            if img is not None:
                self._cached[len(self.files)] = img
            self.files.append(path)
            self.sizes.append((h, w))
        if self.skipped and self.files:
            log.warning(
                "%s: %d of %d images skipped (unusable; --on-error stop makes this an "
                "error), training on the other %d",
                self.folder,
                len(self.skipped),
                len(self.skipped) + len(self.files),
                len(self.files),
            )
        if not self.files:
            detail = f" ({len(self.skipped)} skipped: {self.skipped[0]})" if self.skipped else ""
            raise UserError(f"{self.folder}: no usable images{detail}")
        if len(self._cached) < len(self.files):
            log.info(
                "%s: %d of %d images cached in memory, the rest decoded on demand (data.cache_gb)",
                self.folder,
                len(self._cached),
                len(self.files),
            )

    def __len__(self) -> int:
        return len(self.files)

    @property
    def cached(self) -> int:
        """How many images are held decoded."""
        return len(self._cached)

    def get(self, index: int) -> torch.Tensor:
        """(3, H, W) uint8 (possibly a non-contiguous view): cached, or read now (a file
        unusable now is replaced by the next usable one with ``on_error`` skip)."""
        for k in range(len(self.files)):
            i = (index + k) % len(self.files)
            if i in self._cached:
                return self._cached[i]
            if i in self._bad:
                continue
            try:
                return self.disk.load(self.files[i])
            except ImageError:
                if self.on_error == "stop":
                    raise
                self._bad.add(i)
                log.warning("skipping %s (found when first decoded)", self.files[i])
        raise UserError(f"{self.folder}: no usable images (every file failed to decode)")


def _total(cache: int | bool) -> int:
    if cache is True:
        return 2**63
    return int(cache)
