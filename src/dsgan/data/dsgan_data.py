"""Training samples for DSGAN: (HR crop that G's input is made from, real LR-domain sample).

* same-domain (``lr`` unset, the paper): an HR crop of ``crop*scale`` pixels, and a ``crop``-pixel crop
  of the *same* HR crop at native resolution as the real sample. Its content is ``scale`` times
  coarser per pixel than G's input (the HR crop downscaled), so D can tell real from fake by
  content; ``match_content`` K > 1 draws K native crops of random HR photos instead and keeps the
  one closest in structure to G's input (docs/RESULTS.md, "Same-domain content scale").
* unpaired (``lr`` set): an HR crop of ``crop*scale`` pixels, and a ``crop``-pixel crop of a random
  image of the LR folder (``match_content``: the closest in structure of several,
  :mod:`dsgan.data.content`). ``crop = 0`` uses whole images (all HR images must be ``scale`` times the LR
  images' size, as the seed's aligned 256/128 ID photos).

The bicubic downscale happens on the training device, batched (see the trainer).
"""

from __future__ import annotations

import torch

from dsgan.config.dsgan import DataConfig
from dsgan.data import content
from dsgan.data.cache import Budget, cache_budget
from dsgan.data.decoded import disk_cache
from dsgan.data.pool import ImagePool
from dsgan.data.sampling import augment, random_crop
from dsgan.errors import UserError


class DSGANDataset(torch.utils.data.Dataset):
    """Items are built from (index, seed) pairs given by :class:`StepSampler`.

    Returns (hr, real): uint8 tensors (3, crop*scale, crop*scale) and (3, crop, crop).
    """

    def __init__(self, cfg: DataConfig, on_error: str = "skip") -> None:
        if cfg.hr is None:
            raise UserError("no HR folder given; pass --hr DIR (and --lr DIR for unpaired mode)")
        hr_min = cfg.crop * cfg.scale if cfg.crop else cfg.scale
        self.cfg = cfg
        budget = Budget(cache_budget(cfg.cache_images, cfg.cache_gb))  # shared by both pools
        disk = disk_cache(cfg.disk_cache)
        self.hr = ImagePool(cfg.hr, (hr_min, hr_min), budget, on_error, disk)
        self.lr = (
            ImagePool(cfg.lr, (cfg.crop, cfg.crop) if cfg.crop else (1, 1), budget, on_error, disk)
            if cfg.lr is not None
            else None
        )
        if cfg.crop == 0:
            self._check_whole_images()

    def _check_whole_images(self) -> None:
        sizes = set(self.hr.sizes)  # from the headers: nothing decoded
        if len(sizes) != 1:
            raise UserError(
                f"{self.cfg.hr}: --crop 0 (whole images) needs all HR images of one size, "
                f"found {len(sizes)} sizes; use --crop N for random crops"
            )
        (h, w) = sizes.pop()
        if h % self.cfg.scale or w % self.cfg.scale:
            raise UserError(f"{self.cfg.hr}: HR size {w}x{h} is not divisible by the scale")
        if self.lr is not None:
            # Whole LR images are batched as they are: they must all be the HR size / scale
            # (otherwise batching fails later with an obscure "stack expects equal size").
            want = (h // self.cfg.scale, w // self.cfg.scale)
            lr_sizes = set(self.lr.sizes)
            if lr_sizes != {want}:
                found = ", ".join(f"{b}x{a}" for a, b in sorted(lr_sizes))
                raise UserError(
                    f"{self.cfg.lr}: --crop 0 (whole images) needs all LR images of size "
                    f"{want[1]}x{want[0]} (HR {w}x{h} / {self.cfg.scale}), found {found}; "
                    "use --crop N for random crops"
                )

    def __len__(self) -> int:
        return len(self.hr)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        index, seed = item
        g = torch.Generator().manual_seed(seed)
        cfg = self.cfg
        hr_img = self.hr.get(index)
        hr = random_crop(hr_img, cfg.crop * cfg.scale, g) if cfg.crop else self._whole(hr_img)
        hr = augment(hr, g, cfg.flips, cfg.rotations)
        if self.lr is not None or cfg.match_content > 1:
            pool = self.lr if self.lr is not None else self.hr
            real = augment(self._real_crop(hr, g, pool), g, cfg.flips, cfg.rotations)
        else:
            size = cfg.crop or hr.shape[-1] // cfg.scale
            real = (
                random_crop(hr, size, g)
                if cfg.crop
                else hr[..., : hr.shape[-2] // cfg.scale, :size]
            )
        return hr.contiguous(), real.contiguous()

    def _real_crop(self, hr: torch.Tensor, g: torch.Generator, pool: ImagePool) -> torch.Tensor:
        """A crop of a random image of ``pool`` (the real LR photos; same-domain, the HR photos at
        native scale); with ``match_content`` > 1, of that many random crops the one whose
        structure is closest to the HR crop's, measured at LR (:mod:`dsgan.data.content`)."""
        cfg = self.cfg
        picks = []
        for _ in range(max(1, cfg.match_content)):
            j = int(torch.randint(len(pool), (1,), generator=g))
            picks.append(random_crop(pool.get(j), cfg.crop, g))
        if len(picks) == 1:
            return picks[0]
        want = content.structure(hr.unsqueeze(0), cfg.scale)
        return picks[content.closest(want, content.structure(torch.stack(picks)))]

    def _whole(self, img: torch.Tensor) -> torch.Tensor:
        h, w = img.shape[-2:]
        s = self.cfg.scale
        return img[..., : h - h % s, : w - w % s]
