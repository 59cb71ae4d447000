"""LR/HR training pairs for the SR stage (what ``dsgan degrade --layout sdsr`` writes).

Files of the LR and HR folders are matched by name without extension; each HR image must be
``scale`` times its LR image (an HR image larger by less than ``scale`` pixels, as an uncropped
original, is cropped at the bottom/right).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from dsgan.data.sampling import augment
from dsgan.errors import ImageError, UserError
from dsgan.io.images import list_images, load_image

log = logging.getLogger(__name__)


def match_pairs(lr_dir: Path, hr_dir: Path) -> list[tuple[Path, Path]]:
    """(lr, hr) files with the same stem; an error when none match, a warning for orphans."""
    lr_files = {p.stem: p for p in list_images(lr_dir)}
    hr_files = {p.stem: p for p in list_images(hr_dir)}
    common = sorted(lr_files.keys() & hr_files.keys())
    if not common:
        raise UserError(
            f"no matching file names in {lr_dir} and {hr_dir}; pairs need the same name "
            "(e.g. LR/0001.png and HR/0001.png)"
        )
    orphans = len(lr_files) + len(hr_files) - 2 * len(common)
    if orphans:
        log.warning("%d images in %s / %s have no partner and are ignored", orphans, lr_dir, hr_dir)
    return [(lr_files[k], hr_files[k]) for k in common]


def load_pair(lr_path: Path, hr_path: Path, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode a pair: (3, h, w) and (3, h*scale, w*scale) float32 in [0, 1]."""
    lr, hr = load_image(lr_path), load_image(hr_path)
    h, w = lr.shape[-2:]
    H, W = hr.shape[-2:]
    if not (h * scale <= H < (h + 1) * scale and w * scale <= W < (w + 1) * scale):
        raise ImageError(
            hr_path,
            f"{W}x{H} does not match its LR image {lr_path.name} ({w}x{h}) at scale {scale}",
        )
    return lr, hr[:, : h * scale, : w * scale]


class PairDataset(torch.utils.data.Dataset):
    """Random aligned crops of LR/HR pairs; items built from (index, seed) of a StepSampler.

    Args:
        lr_dir, hr_dir: pair folders. scale: HR/LR size ratio.
        patch: HR crop size (multiple of scale; 0 = whole images, batch size 1 unless equal sizes).
        flips, rotations: augmentation (the same for both images of a pair).
        cache: keep decoded pairs in memory as uint8.
        on_error: ``skip`` unusable pairs with a warning, or ``stop``.

    Returns (lr, hr): uint8 tensors (3, patch/scale, patch/scale) and (3, patch, patch).
    """

    def __init__(
        self,
        lr_dir: Path,
        hr_dir: Path,
        scale: int,
        patch: int,
        flips: bool = True,
        rotations: bool = True,
        cache: bool = True,
        on_error: str = "skip",
    ) -> None:
        self.scale, self.patch = scale, patch
        self.flips, self.rotations, self.cache = flips, rotations, cache
        self.pairs: list[tuple[Path, Path]] = []
        self._images: list[tuple[torch.Tensor, torch.Tensor]] = []
        skipped: list[str] = []
        for lr_path, hr_path in match_pairs(lr_dir, hr_dir):
            try:
                lr, hr = load_pair(lr_path, hr_path, scale)
                if min(hr.shape[-2:]) < patch:
                    raise ImageError(hr_path, f"smaller than the HR patch size {patch}")
            except ImageError as exc:
                if on_error == "stop":
                    raise
                skipped.append(str(exc))
                log.warning("skipping %s", exc)
                continue
            self.pairs.append((lr_path, hr_path))
            if cache:
                self._images.append((_u8(lr), _u8(hr)))
        if not self.pairs:
            detail = f" ({len(skipped)} skipped: {skipped[0]})" if skipped else ""
            raise UserError(f"{lr_dir} / {hr_dir}: no usable pairs{detail}")

    def __len__(self) -> int:
        return len(self.pairs)

    def get(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Whole pair, uint8."""
        if self.cache:
            return self._images[index]
        lr, hr = load_pair(*self.pairs[index], self.scale)
        return _u8(lr), _u8(hr)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        index, seed = item
        lr, hr = self.get(index)
        g = torch.Generator().manual_seed(seed)
        if self.patch:
            p, s = self.patch // self.scale, self.scale
            y = int(torch.randint(lr.shape[-2] - p + 1, (1,), generator=g))
            x = int(torch.randint(lr.shape[-1] - p + 1, (1,), generator=g))
            lr = lr[:, y : y + p, x : x + p]
            hr = hr[:, y * s : (y + p) * s, x * s : (x + p) * s]
        aug_seed = int(torch.randint(2**31 - 1, (1,), generator=g))
        lr = augment(lr, torch.Generator().manual_seed(aug_seed), self.flips, self.rotations)
        hr = augment(hr, torch.Generator().manual_seed(aug_seed), self.flips, self.rotations)
        return lr.contiguous(), hr.contiguous()


def _u8(img: torch.Tensor) -> torch.Tensor:
    return img.mul(255).round().to(torch.uint8)
