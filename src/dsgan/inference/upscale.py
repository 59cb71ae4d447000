"""``dsgan upscale``: super-resolve a folder of photos with a trained RRDBNet (run by PyTorch, or
exported and run by ONNX Runtime: :mod:`dsgan.inference.backends`).

Images of the same size are batched; large images can be processed in tiles (each with ``overlap``
LR pixels of context, see :func:`dsgan.ops.tiling.tiled_apply`). Outputs are ``<stem>.png``,
written atomically; existing outputs are skipped unless ``overwrite``; the output folder may not
be (inside) the input folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from dsgan.inference.backends import OnnxSR
from dsgan.inference.folders import FolderOptions, FolderTask, run_folder
from dsgan.inference.precision import bf16_trunk
from dsgan.io.images import load_image, save_image, tensor_to_uint8
from dsgan.models.rrdb import RRDBNet
from dsgan.ops.tiling import tiled_apply


@dataclass(frozen=True)
class UpscaleOptions:
    tile: int = 0  # LR tile size; 0 = whole images
    overlap: int = 32  # LR context per tile side
    batch_size: int = 1
    overwrite: bool = False
    on_error: Literal["skip", "stop"] = "skip"
    amp: Literal["off", "bf16"] = "off"  # bf16 trunk (PyTorch backend; inference/precision.py)
    channels_last: bool = False  # NHWC memory format (PyTorch backend)
    tile_batch: int = 1  # tiles per forward (ops/tiling.py)


@torch.inference_mode()
def upscale_batch(
    model: RRDBNet | OnnxSR,
    lr: torch.Tensor,
    tile: int = 0,
    overlap: int = 32,
    amp: Literal["off", "bf16"] = "off",
    channels_last: bool = False,
    tile_batch: int = 1,
) -> torch.Tensor:
    """(N, 3, h, w) in [0, 1] -> (N, 3, h*s, w*s) float32 in [0, 1], tiled when ``tile > 0``.

    Tile and overlap are rounded up to multiples of the model's pixel-unshuffle factor (x2/x1), so
    tiles stay aligned with the untiled computation. ``amp`` bf16: the trunk's dense blocks run in
    bf16, the rest in float32 (:func:`~dsgan.inference.precision.bf16_trunk`; pass a model
    converted once to skip the copy per call); ``channels_last``: input in NHWC memory format
    (the model should be too). Both apply to a PyTorch model only. ``tile_batch``: tiles of one
    size stacked into one forward (:func:`~dsgan.ops.tiling.tiled_apply`).
    """
    if amp == "bf16":
        model = bf16_trunk(model)
    f = model.unshuffle
    tile = -(-tile // f) * f if tile > 0 else 0
    overlap = -(-overlap // f) * f
    fn = model
    if channels_last and isinstance(model, torch.nn.Module):

        def fn(x: torch.Tensor) -> torch.Tensor:
            return model(x.contiguous(memory_format=torch.channels_last))

    return tiled_apply(fn, lr, tile, overlap, model.scale, tile_batch).clamp_(0, 1)


def upscale_folder(
    model: RRDBNet | OnnxSR,
    input_dir: Path,
    output_dir: Path,
    opts: UpscaleOptions,
    device: torch.device,
    rank: int = 0,
    world_size: int = 1,
) -> dict[str, int]:
    """Super-resolve every image of ``input_dir`` into ``output_dir/<stem>.png``
    (:func:`dsgan.inference.folders.run_folder`: under ``torchrun`` this process takes every
    ``world_size``-th file from ``rank``). Returns the counts ``written``, ``existing`` (skipped,
    already there) and ``failed``."""
    model = model.to(device).eval()
    if opts.amp == "bf16":
        model = bf16_trunk(model)  # once, not per batch
    if opts.channels_last and isinstance(model, torch.nn.Module):
        model = model.to(memory_format=torch.channels_last)

    def process(paths: list[Path], items: list) -> list[np.ndarray]:
        batch = torch.stack([img for img, _ in items]).to(device)
        out = upscale_batch(
            model, batch, opts.tile, opts.overlap, opts.amp, opts.channels_last, opts.tile_batch
        )
        return list(tensor_to_uint8(out))  # 8-bit here: writers only encode

    task = FolderTask(
        desc="dsgan upscale",
        targets=lambda path: {"sr": output_dir / f"{path.stem}.png"},
        decode=_decode,
        process=process,
        write=lambda where, path, result, extra: save_image(result, where["sr"]),
    )
    folder_opts = FolderOptions(
        overwrite=opts.overwrite, on_error=opts.on_error, batch_size=opts.batch_size
    )
    return run_folder(task, input_dir, output_dir, folder_opts, rank, world_size)


def _decode(path: Path) -> tuple[torch.Tensor, None]:
    return load_image(path), None
