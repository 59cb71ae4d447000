"""``dsgan degrade``: turn HR images into realistic LR images (and LR/HR training pairs).

Layouts (SPEC.md, the authors' ``create_dataset``):

* ``lr``:   OUT/<name>.png = G(bicubic(HR))
* ``sdsr``: OUT/HR/<name>.png = HR (cropped to a multiple of the scale), OUT/LR/<name>.png = G(bicubic(HR))
* ``tdsr``: HR' = bicubic(HR, 1/cleanup), OUT/HR = HR', OUT/LR = G(bicubic(HR'))

The folder is run by :func:`dsgan.inference.folders.run_folder`: decoding in loader worker
processes (on a CPU the bicubic downscale too; a GPU receives 8-bit HR images and downscales
them itself), G on the device with its output made 8-bit there, PNG encoding in writer threads,
overlapping the model's compute; under ``torchrun`` each rank takes every ``world_size``-th file.
An HR output that would equal its input file (an 8-bit RGB PNG already a multiple of the scale)
is copied, not re-encoded. With ``generator=None`` the LR images are plain bicubic (the baseline
pairs).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from dsgan.devices import OOM_ERRORS
from dsgan.errors import UserError
from dsgan.inference.folders import FolderOptions, FolderTask, run_folder
from dsgan.io.images import copy_image, load_image_verbatim, save_image, tensor_to_uint8
from dsgan.io.outputs import file_seed
from dsgan.models.dsgan import Generator, block_phase
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
    batch_size: int = 1
    writers: int = 0  # PNG-encoding threads (0: max(2, workers))


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
    # once for the whole image: its block grid starts at the top left (skipped when snapped off)
    if g.codec is not None and not g.codec.is_off():
        out = g.codec(out)
    return out.clamp(0, 1)


def prepare_generator(g: Generator, device: torch.device) -> Generator:
    """G on ``device`` in eval mode, channels_last (about 20% faster on CPU, faster on CUDA)."""
    return g.to(device, memory_format=torch.channels_last).eval()


def targets(out: Path, layout: Layout, name: str) -> dict[str, Path]:
    if layout == "lr":
        return {"lr": out / f"{name}.png"}
    return {"hr": out / "HR" / f"{name}.png", "lr": out / "LR" / f"{name}.png"}


@dataclass(frozen=True)
class _Decoder:
    """Decode one HR file (in a loader worker) into (x, (hr_u8, resized)).

    ``x``: the bicubic LR (3, h, w) in [0, 1] if ``resize`` (on a CPU, where the workers are the
    parallel part), else the HR (3, H, W) cropped to the scale, for the device to downscale:
    uint8 for 8-bit files (a quarter of float32's bytes to move), float32 in [0, 1] for 16-bit
    ones and for layout ``tdsr`` (its HR is a downscale already). ``hr_u8``: the HR output's
    pixels, an (H, W, 3) uint8 tensor (the loader would turn an array into one), or None where it
    needs none: layout ``lr``, or the HR output equals the input file's pixels (sdsr, no crop, a
    plain 8-bit RGB PNG), which is then copied instead of re-encoded (PNG encoding of the HR image
    is most of a CPU degrade's cost)."""

    opts: DegradeOptions
    resize: bool

    def __call__(self, path: Path) -> tuple[torch.Tensor, tuple[torch.Tensor | None, bool]]:
        # tdsr downscales the HR here first: float
        compact = not self.resize and self.opts.layout != "tdsr"
        img, verbatim = load_image_verbatim(path, compact=compact)
        hr = _crop_hr(img, path, self.opts)
        copy = verbatim and self.opts.layout == "sdsr" and hr.shape == img.shape
        hr_u8 = None
        if not copy and self.opts.layout != "lr":
            hr_u8 = (
                hr.permute(1, 2, 0)
                if hr.dtype == torch.uint8
                else torch.from_numpy(tensor_to_uint8(hr))
            )
        if self.resize:
            return imresize(hr.unsqueeze(0), 1.0 / self.opts.scale)[0], (hr_u8, True)
        return hr, (hr_u8, False)


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
    """Degrade every image of ``input_dir`` (:func:`dsgan.inference.folders.run_folder`);
    returns the counts written / existing / failed."""
    if g is not None:
        g = prepare_generator(g, device)

    def process(paths: list[Path], items: list) -> list[tuple[np.ndarray, np.ndarray | Path]]:
        batch = [
            (path, None, x.unsqueeze(0)) if resized else (path, x, None)
            for path, (x, (_, resized)) in zip(paths, items, strict=True)
        ]
        lrs = tensor_to_uint8(_degrade_on_device(g, batch, opts, device))
        # 8-bit here (converted on the device), so the writer threads only encode
        return [
            (lr, path if hr_u8 is None else hr_u8.numpy())
            for lr, path, (_, (hr_u8, _)) in zip(lrs, paths, items, strict=True)
        ]

    task = FolderTask(
        desc="dsgan degrade",
        targets=lambda path: targets(output_dir, opts.layout, path.stem),
        decode=_Decoder(opts, resize=_downscale_in_workers(device)),
        process=process,
        write=lambda where, path, result, extra: _write_outputs(where, *result),
    )
    folder_opts = FolderOptions(
        overwrite=opts.overwrite,
        on_error=opts.on_error,
        workers=opts.workers,
        batch_size=opts.batch_size,
        writers=opts.writers,
    )
    return run_folder(task, input_dir, output_dir, folder_opts, rank, world_size)


def _downscale_in_workers(device: torch.device) -> bool:
    """Bicubic downscale in the decoding step (True: on a CPU, where the loader workers are the
    parallel part), or on ``device`` in the main process (a GPU downscales far faster than a
    worker: 100 ms for a 2K image on one CPU thread, more than its decoding)."""
    return device.type == "cpu"


def _write_outputs(where: dict[str, Path], lr: np.ndarray, hr: np.ndarray | Path) -> None:
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


def degrade_batch(
    g: Generator | None,
    batch: list[tuple[Path, torch.Tensor | None, torch.Tensor | None]],
    opts: DegradeOptions,
    device: torch.device,
) -> list[torch.Tensor]:
    """G on a batch of same-size HR images: (3, h, w) LR outputs in [0, 1], on the CPU.

    ``batch``: (path, HR (3, H, W) float32 in [0, 1] or uint8, or None; its bicubic LR
    (1, 3, h, w) or None to downscale the HR here); the path seeds G's noise
    (:func:`dsgan.io.outputs.file_seed`)."""
    return list(_degrade_on_device(g, batch, opts, device).float().cpu().unbind(0))


#: uint8 value -> float32 in [0, 1], divided on the CPU: a CUDA division by a scalar multiplies by
#: its reciprocal, which is one ulp off for half the values
_U8_TO_UNIT = torch.arange(256, dtype=torch.float32) / 255


def _downscale(
    path: Path, hr: torch.Tensor | None, scale: int, device: torch.device
) -> torch.Tensor:
    """The bicubic LR (1, 3, h, w) of an HR image (3, H, W), float32 in [0, 1] or uint8, on
    ``device``; uint8 becomes exactly the float32 values the float decoder gives."""
    if hr is None:
        raise ValueError(f"{path}: neither an HR image nor its LR given")
    hr = hr.to(device)
    if hr.dtype == torch.uint8:
        hr = _U8_TO_UNIT.to(device)[hr.long()]
    return imresize(hr.unsqueeze(0), 1.0 / scale)


def _size(item: tuple[Path, torch.Tensor | None, torch.Tensor | None]) -> str:
    """'WxH' of an item's LR (or, before the downscale, of its HR), for messages."""
    _, hr, lr = item
    t = lr if lr is not None else hr
    return "?" if t is None else f"{t.shape[-1]}x{t.shape[-2]}"


def _degrade_on_device(
    g: Generator | None,
    batch: list[tuple[Path, torch.Tensor | None, torch.Tensor | None]],
    opts: DegradeOptions,
    device: torch.device,
) -> torch.Tensor:
    """:func:`degrade_batch`'s outputs as one (N, 3, h, w) tensor on ``device``."""
    seeds = [file_seed(opts.seed, p) for p, *_ in batch]
    try:
        lrs = [
            lr if lr is not None else _downscale(path, hr, opts.scale, device)
            for path, hr, lr in batch
        ]
        x = torch.cat([t.to(device) for t in lrs]).contiguous(memory_format=torch.channels_last)
        out = apply_generator(g, x, opts.tile, seeds)
    except OOM_ERRORS as exc:
        raise UserError(
            f"{batch[0][0]}: out of memory on {device} for {len(batch)} image(s) of "
            f"{_size(batch[0])}; pass --tile 256 (or smaller) to process them in tiles, a smaller "
            "--batch-size, or use --device cpu"
        ) from exc
    return out
