"""LR/HR training pairs for the SR stage (what ``dsgan degrade --layout sdsr`` writes).

Files of the LR and HR folders are matched by name without extension; each HR image must be
``scale`` times its LR image (an HR image larger by less than ``scale`` pixels, as an uncropped
original, is cropped at the bottom/right).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch

from dsgan.data.cache import Budget
from dsgan.data.decoded import DiskCache
from dsgan.data.sampling import augment
from dsgan.errors import ImageError, UserError
from dsgan.io.images import image_size, list_images, load_image, load_image_u8

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


def check_pair_sizes(
    lr_path: Path, hr_path: Path, lr_hw: tuple[int, int], hr_hw: tuple[int, int], scale: int
) -> None:
    """An ImageError unless the HR image is ``scale`` times its LR image (up to scale - 1
    extra pixels, which are cropped)."""
    (h, w), (H, W) = lr_hw, hr_hw
    if not (h * scale <= H < (h + 1) * scale and w * scale <= W < (w + 1) * scale):
        raise ImageError(
            hr_path,
            f"{W}x{H} does not match its LR image {lr_path.name} ({w}x{h}) at scale {scale}",
        )


def load_pair(
    lr_path: Path, hr_path: Path, scale: int, load: Callable[[Path], torch.Tensor] = load_image
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode a pair with ``load``: (3, h, w) and (3, h*scale, w*scale), float32 in [0, 1] with
    :func:`~dsgan.io.images.load_image` (uint8 with the pools' loaders)."""
    lr, hr = load(lr_path), load(hr_path)
    h, w = lr.shape[-2:]
    check_pair_sizes(lr_path, hr_path, (h, w), tuple(hr.shape[-2:]), scale)
    return lr, hr[:, : h * scale, : w * scale]


class PairDataset(torch.utils.data.Dataset):
    """Random aligned crops of LR/HR pairs; items built from (index, seed) of a StepSampler.

    Args:
        lr_dir, hr_dir: pair folders. scale: HR/LR size ratio.
        patch: HR crop size (multiple of scale; 0 = whole images, batch size 1 unless equal sizes).
        flips, rotations: augmentation (the same for both images of a pair).
        cache: bytes of decoded pairs (uint8) to keep in memory (a
            :class:`~dsgan.data.cache.Budget`, or an int; ``True`` = all); the rest are decoded
            on each access. Start-up reads headers only for pairs it does not cache.
        on_error: ``skip`` unusable pairs with a warning, or ``stop``.
        disk: where pairs beyond ``cache`` are read from (decoded once, then mapped); None
            decodes them on every access.

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
        cache: Budget | int | bool = True,
        on_error: str = "skip",
        disk: DiskCache | None = None,
    ) -> None:
        self.scale, self.patch = scale, patch
        self.disk = disk or DiskCache(None)
        self.flips, self.rotations = flips, rotations
        self.on_error = on_error
        budget = cache if isinstance(cache, Budget) else Budget(2**63 if cache is True else cache)
        self.pairs: list[tuple[Path, Path]] = []
        self._cached: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self._bad: set[int] = set()
        skipped: list[str] = []
        for lr_path, hr_path in match_pairs(lr_dir, hr_dir):
            try:
                (h, w), (H, W) = image_size(lr_path), image_size(hr_path)
                check_pair_sizes(lr_path, hr_path, (h, w), (H, W), scale)
                if min(H, W) < patch:
                    raise ImageError(hr_path, f"smaller than the HR patch size {patch}")
                nbytes = 3 * h * w * (1 + scale * scale)
                keep = budget.take(nbytes)
                pair = load_pair(lr_path, hr_path, scale, load_image_u8) if keep else None
            except ImageError as exc:
                if on_error == "stop":
                    raise
                skipped.append(str(exc))
                log.warning("skipping %s", exc)
                continue
            if pair is not None:
                self._cached[len(self.pairs)] = pair
            self.pairs.append((lr_path, hr_path))
        if not self.pairs:
            detail = f" ({len(skipped)} skipped: {skipped[0]})" if skipped else ""
            raise UserError(f"{lr_dir} / {hr_dir}: no usable pairs{detail}")
        if len(self._cached) < len(self.pairs):
            log.info(
                "%s: %d of %d pairs cached in memory, the rest decoded on demand (data.cache_gb)",
                lr_dir,
                len(self._cached),
                len(self.pairs),
            )

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def cached(self) -> int:
        """How many pairs are held decoded."""
        return len(self._cached)

    def get(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Whole pair, uint8 (possibly non-contiguous views): cached, or read now (a pair
        unusable now is replaced by the next usable one with ``on_error`` skip)."""
        for k in range(len(self.pairs)):
            i = (index + k) % len(self.pairs)
            if i in self._cached:
                return self._cached[i]
            if i in self._bad:
                continue
            try:
                return load_pair(*self.pairs[i], self.scale, self.disk.load)
            except ImageError:
                if self.on_error == "stop":
                    raise
                self._bad.add(i)
                log.warning("skipping %s (found when first decoded)", self.pairs[i][1])
        raise UserError("no usable pairs (every pair failed to decode)")

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
