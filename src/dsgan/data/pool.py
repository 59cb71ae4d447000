"""A pool of training images, decoded once and cached as uint8 (4x smaller than float)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from dsgan.errors import ImageError, UserError
from dsgan.io.images import list_images, load_image

log = logging.getLogger(__name__)


class ImagePool:
    """Images of a folder as (3, H, W) uint8 tensors.

    Args:
        folder: image folder.
        min_size: (min_h, min_w) an image must have; smaller ones are skipped with a warning.
        cache: keep decoded images in memory (else decode on each access).
        on_error: ``skip`` unusable files with a warning, or ``stop`` with an error naming the file.
    """

    def __init__(
        self,
        folder: str | Path,
        min_size: tuple[int, int] = (1, 1),
        cache: bool = True,
        on_error: str = "skip",
    ) -> None:
        self.folder = Path(folder)
        self.cache = cache
        self.files: list[Path] = []
        self._images: list[torch.Tensor] = []
        self.skipped: list[str] = []
        for path in list_images(folder):
            try:
                img = load_image(path)
            except ImageError as exc:
                if on_error == "stop":
                    raise
                self.skipped.append(str(exc))
                log.warning("skipping %s", exc)
                continue
            h, w = img.shape[-2:]
            if h < min_size[0] or w < min_size[1]:
                msg = f"{path}: {w}x{h} is smaller than the {min_size[1]}x{min_size[0]} needed"
                if on_error == "stop":
                    raise UserError(msg + "; use a smaller --crop or remove the file")
                self.skipped.append(msg)
                log.warning("skipping %s", msg)
                continue
            self.files.append(path)
            if cache:
                self._images.append(img.mul(255).round().to(torch.uint8))
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

    def __len__(self) -> int:
        return len(self.files)

    def get(self, index: int) -> torch.Tensor:
        """(3, H, W) uint8."""
        if self.cache:
            return self._images[index]
        return load_image(self.files[index]).mul(255).round().to(torch.uint8)
