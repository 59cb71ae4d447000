"""``dsgan degrade``: turn HR images into realistic LR images (and LR/HR training pairs).

Layouts (SPEC.md, the authors' ``create_dataset``):

* ``lr``:   OUT/<name>.png = G(bicubic(HR))
* ``sdsr``: OUT/HR/<name>.png = HR (cropped to a multiple of the scale), OUT/LR/<name>.png = G(bicubic(HR))
* ``tdsr``: HR' = bicubic(HR, 1/cleanup), OUT/HR = HR', OUT/LR = G(bicubic(HR'))

Decoding (and, on CPU, the bicubic downscale) runs in loader worker processes and PNG encoding in
writer threads, overlapping the model's compute; an HR output that would equal its input file (an
8-bit RGB PNG already a multiple of the scale) is copied, not re-encoded; at most a few images wait
for the writers, so memory stays bounded. With ``generator=None`` the LR images are plain bicubic (the baseline pairs).
Under ``torchrun`` each rank takes every ``world_size``-th file (``rank``/``world_size``).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from tqdm import tqdm

from dsgan.devices import OOM_ERRORS
from dsgan.errors import ImageError, UserError
from dsgan.io.images import copy_image, list_images, load_image_verbatim, save_image
from dsgan.io.outputs import check_output_folder, check_unique_stems, existing_output, file_seed
from dsgan.models.dsgan import Generator, block_phase
from dsgan.ops.resize import crop_to_multiple, imresize
from dsgan.ops.tiling import tiled_apply

log = logging.getLogger(__name__)
Layout = Literal["lr", "sdsr", "tdsr"]
# one image on its way: (source path, HR (3, H, W), bicubic LR (1, 3, h, w) or None, copy HR file)
_Item = tuple[Path, torch.Tensor, torch.Tensor | None, bool]


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
    batch_size: int = 1


def apply_generator(
    g: Generator | None, lr: torch.Tensor, tile: int, seed: int | Sequence[int]
) -> torch.Tensor:
    """G on bicubic LR images (N, 3, h, w) in [0, 1] -> (N, 3, h, w) in [0, 1], tiled if asked.

    G's noise input (if any) is drawn per image from its seed (``seed``: one per image, or one
    int for N = 1) and its block-phase input (if any) laid from each image's top-left pixel, both
    for the whole image before tiling, and its JPEG codec (if any) applied to the whole image
    after, so tiled, untiled and batched outputs agree.
    """
    if g is None:
        return lr.clamp(0, 1)
    x = lr
    if g.block_period:  # the grid of the whole image, before tiling
        phase = block_phase(lr.shape[0], *lr.shape[-2:], g.block_period, device=lr.device)
        x = torch.cat([x, phase.to(lr)], dim=1)
    if g.noise_channels:
        seeds = [seed] if isinstance(seed, int) else list(seed)
        if len(seeds) != lr.shape[0]:
            raise ValueError(f"{len(seeds)} seeds for a batch of {lr.shape[0]}")
        noise = torch.cat(
            [
                torch.randn(
                    1, g.noise_channels, *lr.shape[-2:], generator=torch.Generator().manual_seed(sd)
                )
                for sd in seeds
            ]
        )
        x = torch.cat([x, noise.to(lr)], dim=1)
    n_phase = 2 if g.block_period else 0

    def fn(t: torch.Tensor) -> torch.Tensor:
        noise = t[:, 3 + n_phase :] if g.noise_channels else None
        return g(t[:, :3], noise, t[:, 3 : 3 + n_phase] if n_phase else None, codec_offset=None)

    out = tiled_apply(fn, x, tile, overlap=g.receptive_radius + 2)
    if g.codec is not None:  # once for the whole image: its block grid starts at the top left
        out = g.codec(out)
    return out.clamp(0, 1)


def prepare_generator(g: Generator, device: torch.device) -> Generator:
    """G on ``device`` in eval mode, channels_last (about 20% faster on CPU, faster on CUDA)."""
    return g.to(device, memory_format=torch.channels_last).eval()


def targets(out: Path, layout: Layout, name: str) -> dict[str, Path]:
    if layout == "lr":
        return {"lr": out / f"{name}.png"}
    return {"hr": out / "HR" / f"{name}.png", "lr": out / "LR" / f"{name}.png"}


class _Reader(torch.utils.data.Dataset):
    """Item i: (i, HR, LR or None, verbatim) — decoded, cropped to the scale, and downscaled if
    ``resize``; or (i, message, None, False) for an unusable file. ``verbatim``: the HR output
    equals the input file's pixels (sdsr layout, no crop, a plain 8-bit RGB PNG), so the file is
    copied instead of re-encoded (PNG encoding of the HR image is most of a CPU degrade's cost).
    """

    def __init__(self, files: list[Path], opts: DegradeOptions, resize: bool) -> None:
        self.files, self.opts, self.resize = files, opts, resize

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor | str, torch.Tensor | None, bool]:
        path = self.files[i]
        try:
            img, verbatim = load_image_verbatim(path)
            hr = _crop_hr(img, path, self.opts)
        except (ImageError, UserError) as exc:
            return i, str(exc), None, False
        lr = imresize(hr.unsqueeze(0), 1.0 / self.opts.scale) if self.resize else None
        return i, hr, lr, verbatim and self.opts.layout == "sdsr" and hr.shape == img.shape


def _crop_hr(img: torch.Tensor, path: Path, opts: DegradeOptions) -> torch.Tensor:
    s = opts.scale
    hr = img
    if opts.layout == "tdsr":
        hr = imresize(crop_to_multiple(hr, opts.cleanup), 1.0 / opts.cleanup).clamp(0, 1)
    hr = crop_to_multiple(hr, s)
    if hr.shape[-1] < s or hr.shape[-2] < s:
        raise UserError(f"{path}: {img.shape[-1]}x{img.shape[-2]} is too small for scale {s}")
    return hr


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
    all_files = list_images(input_dir)
    check_unique_stems(all_files)  # across ranks: every rank refuses, none writes
    files = all_files[rank::world_size]
    todo = [
        f
        for f in files
        if opts.overwrite
        or not all(existing_output(p) for p in targets(output_dir, opts.layout, f.stem).values())
    ]
    counts = {"written": 0, "existing": len(files) - len(todo), "failed": 0}
    if g is not None:
        g = prepare_generator(g, device)
    resize_in_worker = device.type == "cpu"
    workers = min(opts.workers, len(todo))  # 0 when every output exists already
    loader = torch.utils.data.DataLoader(
        _Reader(todo, opts, resize_in_worker),
        batch_size=None,
        num_workers=workers,
        prefetch_factor=4 if workers else None,
    )
    writers = max(2, opts.workers)
    pending: deque[Future] = deque()
    batch: list[_Item] = []

    def flush() -> None:
        outs = _degrade_batch(g, batch, opts, device)
        for (path, hr, _, copy), lr_out in zip(batch, outs, strict=True):
            where = targets(output_dir, opts.layout, path.stem)
            hr_src = path if copy else hr
            pending.append(pool.submit(_write_outputs, where, lr_out, hr_src))
            counts["written"] += 1
        batch.clear()
        while len(pending) > 2 * writers:  # bounded memory; surfaces write errors early
            pending.popleft().result()

    with ThreadPoolExecutor(max_workers=writers) as pool, torch.inference_mode():
        for i, hr, lr, copy in tqdm(
            loader, total=len(todo), desc="dsgan degrade", unit="img", disable=rank != 0
        ):
            path = todo[i]
            if isinstance(hr, str):
                if opts.on_error == "stop":
                    raise UserError(hr)
                log.warning("skipping %s", hr)
                counts["failed"] += 1
                continue
            if batch and batch[0][1].shape != hr.shape:
                flush()  # only images of one size share a batch
            batch.append((path, hr, lr, copy))
            if len(batch) >= opts.batch_size:
                flush()
        if batch:
            flush()
        for fut in pending:
            fut.result()
    return counts


def _write_outputs(where: dict[str, Path], lr: torch.Tensor, hr: torch.Tensor | Path) -> None:
    """Write one image's outputs: the LR image, then the HR one (``hr``: an image, or the input
    file to copy). If a write fails the other file is removed, so a pair is never left half
    written (each file is atomic on its own; a rerun redoes the pair)."""
    done: list[Path] = []
    try:
        save_image(lr, where["lr"])
        done.append(where["lr"])
        if "hr" in where:
            if isinstance(hr, Path):
                copy_image(hr, where["hr"])
            else:
                save_image(hr, where["hr"])
    except BaseException:
        for target in done:
            target.unlink(missing_ok=True)
        raise


def _degrade_batch(
    g: Generator | None,
    batch: list[_Item],
    opts: DegradeOptions,
    device: torch.device,
) -> list[torch.Tensor]:
    """(3, h, w) LR outputs on the CPU for same-size (path, HR, bicubic LR or None, _) items."""
    lrs = [
        lr if lr is not None else imresize(hr.to(device).unsqueeze(0), 1.0 / opts.scale)
        for _, hr, lr, _ in batch
    ]
    seeds = [file_seed(opts.seed, p) for p, *_ in batch]
    x = torch.cat([t.to(device) for t in lrs]).contiguous(memory_format=torch.channels_last)
    try:
        out = apply_generator(g, x, opts.tile, seeds)
    except OOM_ERRORS as exc:
        h, w = x.shape[-2:]
        raise UserError(
            f"{batch[0][0]}: out of memory on {device} for {len(batch)} LR image(s) of {w}x{h}; "
            "pass --tile 256 (or smaller) to process them in tiles, a smaller --batch-size, or "
            "use --device cpu"
        ) from exc
    return list(out.float().cpu().unbind(0))
