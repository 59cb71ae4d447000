"""``dsgan degrade``: turn HR images into realistic LR images (and LR/HR training pairs).

Layouts (SPEC.md, the authors' ``create_dataset``):

* ``lr``:   OUT/<name>.png = G(bicubic(HR))
* ``sdsr``: OUT/HR/<name>.png = HR (cropped to a multiple of the scale), OUT/LR/<name>.png = G(bicubic(HR))
* ``tdsr``: HR' = bicubic(HR, 1/cleanup), OUT/HR = HR', OUT/LR = G(bicubic(HR'))

Decoding runs in loader workers and encoding in a writer thread, overlapping the model's compute.
With ``generator=None`` the LR images are plain bicubic (the baseline pairs).
"""

from __future__ import annotations

import logging
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from tqdm import tqdm

from dsgan.errors import ImageError, UserError
from dsgan.inference.safety import check_output_folder
from dsgan.io.images import list_images, load_image, save_image
from dsgan.models.dsgan import Generator
from dsgan.ops.resize import crop_to_multiple, imresize
from dsgan.ops.tiling import tiled_apply

log = logging.getLogger(__name__)
Layout = Literal["lr", "sdsr", "tdsr"]


@dataclass(frozen=True)
class DegradeOptions:
    scale: int = 4
    layout: Layout = "sdsr"
    tile: int = 0
    cleanup: int = 2
    seed: int = 0
    overwrite: bool = False
    workers: int = 2
    on_error: Literal["skip", "stop"] = "skip"


def apply_generator(g: Generator | None, lr: torch.Tensor, tile: int, seed: int) -> torch.Tensor:
    """G on a bicubic LR image (1, 3, h, w) in [0, 1] -> (1, 3, h, w) in [0, 1], tiled if asked.

    G's noise input (if any) is drawn for the whole image from ``seed`` before tiling, so tiled and
    untiled outputs agree.
    """
    if g is None:
        return lr.clamp(0, 1)
    x = lr
    if g.noise_channels:
        gen = torch.Generator().manual_seed(seed)
        noise = torch.randn(1, g.noise_channels, *lr.shape[-2:], generator=gen)
        x = torch.cat([lr, noise.to(lr)], dim=1)

    def fn(t: torch.Tensor) -> torch.Tensor:
        return g(t[:, :3], t[:, 3:] if g.noise_channels else None)

    return tiled_apply(fn, x, tile, overlap=g.receptive_radius + 2).clamp(0, 1)


def targets(out: Path, layout: Layout, name: str) -> dict[str, Path]:
    if layout == "lr":
        return {"lr": out / f"{name}.png"}
    return {"hr": out / "HR" / f"{name}.png", "lr": out / "LR" / f"{name}.png"}


class _Reader(torch.utils.data.Dataset):
    def __init__(self, files: list[Path]) -> None:
        self.files = files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor | str]:
        try:
            return i, load_image(self.files[i])
        except ImageError as exc:
            return i, str(exc)


def degrade_folder(
    g: Generator | None,
    input_dir: Path,
    output_dir: Path,
    opts: DegradeOptions,
    device: torch.device,
    rank: int = 0,
    world_size: int = 1,
) -> dict[str, int]:
    """Degrade every image of ``input_dir``; returns counts written/skipped/failed."""
    check_output_folder(input_dir, output_dir)
    files = list_images(input_dir)[rank::world_size]
    todo = [f for f in files if opts.overwrite
            or not all(p.exists() for p in targets(output_dir, opts.layout, f.stem).values())]
    counts = {"written": 0, "existing": len(files) - len(todo), "failed": 0}
    if g is not None:
        g = g.to(device).eval()
    loader = torch.utils.data.DataLoader(
        _Reader(todo), batch_size=None, num_workers=min(opts.workers, len(todo)),
    )
    pending: list[Future] = []
    with ThreadPoolExecutor(max_workers=2) as pool, torch.inference_mode():
        for i, img in tqdm(loader, total=len(todo), desc="dsgan degrade", unit="img",
                           disable=rank != 0):
            path = todo[i]
            if isinstance(img, str):
                if opts.on_error == "stop":
                    raise UserError(img)
                log.warning("skipping %s", img)
                counts["failed"] += 1
                continue
            try:
                outputs = _degrade_one(g, img, path, opts, device)
            except ImageError as exc:  # too small for the scale: the same policy as unreadable
                if opts.on_error == "stop":
                    raise
                log.warning("skipping %s", exc)
                counts["failed"] += 1
                continue
            for key, target in targets(output_dir, opts.layout, path.stem).items():
                pending.append(pool.submit(save_image, outputs[key], target))
            counts["written"] += 1
        for fut in pending:
            fut.result()
    return counts


def _degrade_one(g: Generator | None, img: torch.Tensor, path: Path, opts: DegradeOptions,
                 device: torch.device) -> dict[str, torch.Tensor]:
    s = opts.scale
    need = s * (opts.cleanup if opts.layout == "tdsr" else 1)
    if min(img.shape[-2:]) < need:
        raise ImageError(path, f"{img.shape[-1]}x{img.shape[-2]} is too small for scale {s} "
                               f"(at least {need}x{need} pixels needed)")
    hr = img
    if opts.layout == "tdsr":
        hr = imresize(crop_to_multiple(hr, opts.cleanup), 1.0 / opts.cleanup).clamp(0, 1)
    hr = crop_to_multiple(hr, s)
    lr = imresize(hr.to(device).unsqueeze(0), 1.0 / s)
    seed = (opts.seed * 1_000_003 + zlib.crc32(path.name.encode())) % (2**63)
    lr = apply_generator(g, lr, opts.tile, seed)[0].float().cpu()
    return {"hr": hr, "lr": lr}
