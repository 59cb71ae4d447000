"""``dsgan upscale``: super-resolve a folder of photos with a trained RRDBNet.

Images of the same size are batched; large images can be processed in tiles (each with ``overlap``
LR pixels of context, see :func:`dsgan.ops.tiling.tiled_apply`). Outputs are ``<stem>.png``,
written atomically; existing outputs are skipped unless ``overwrite``; the output folder may not
be (inside) the input folder.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from PIL import Image
from tqdm import tqdm

from dsgan.errors import ImageError
from dsgan.io.images import list_images, load_image, save_image
from dsgan.io.outputs import check_output_folder, check_unique_stems, existing_output
from dsgan.models.rrdb import RRDBNet
from dsgan.ops.tiling import tiled_apply

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpscaleOptions:
    tile: int = 0  # LR tile size; 0 = whole images
    overlap: int = 32  # LR context per tile side
    batch_size: int = 1
    overwrite: bool = False
    on_error: Literal["skip", "stop"] = "skip"


@torch.inference_mode()
def upscale_batch(
    model: RRDBNet, lr: torch.Tensor, tile: int = 0, overlap: int = 32
) -> torch.Tensor:
    """(N, 3, h, w) in [0, 1] -> (N, 3, h*s, w*s) in [0, 1], tiled when ``tile > 0``.

    Tile and overlap are rounded up to multiples of the model's pixel-unshuffle factor (x2/x1), so
    tiles stay aligned with the untiled computation.
    """
    f = model.unshuffle
    tile = -(-tile // f) * f if tile > 0 else 0
    overlap = -(-overlap // f) * f
    return tiled_apply(model, lr, tile, overlap, model.scale).clamp_(0, 1)


def _image_size(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as img:
            return img.size
    except Exception:
        return (0, 0)  # decoded (and reported) later


def upscale_folder(
    model: RRDBNet,
    input_dir: Path,
    output_dir: Path,
    opts: UpscaleOptions,
    device: torch.device,
    rank: int = 0,
    world_size: int = 1,
) -> dict[str, int]:
    """Super-resolve every image of ``input_dir`` into ``output_dir/<stem>.png``.

    With ``world_size > 1`` (torchrun) this process takes every ``world_size``-th file from
    ``rank`` (sorted by name), so ranks never write the same file.
    Returns counts ``written``, ``existing`` (skipped, already there) and ``failed``.
    """
    check_output_folder(input_dir, output_dir)
    all_files = list_images(input_dir)
    check_unique_stems(all_files)
    files = all_files[rank::world_size]
    todo = [f for f in files if opts.overwrite or not existing_output(output_dir / f"{f.stem}.png")]
    counts = {"written": 0, "existing": len(files) - len(todo), "failed": 0}
    groups: dict[tuple[int, int], list[Path]] = defaultdict(list)
    for f in todo:
        groups[_image_size(f)].append(f)
    model = model.to(device).eval()
    bar = tqdm(
        total=len(todo), desc="dsgan upscale", unit="img", dynamic_ncols=True, disable=rank != 0
    )
    for group in groups.values():
        for i in range(0, len(group), max(1, opts.batch_size)):
            chunk = _decode(group[i : i + opts.batch_size], opts, counts)
            for paths, batch in _same_size(chunk):
                out = upscale_batch(model, batch.to(device), opts.tile, opts.overlap).cpu()
                for path, img in zip(paths, out, strict=True):
                    save_image(img, output_dir / f"{path.stem}.png")
                    counts["written"] += 1
            bar.update(len(group[i : i + opts.batch_size]))
    bar.close()
    return counts


def _decode(
    paths: list[Path], opts: UpscaleOptions, counts: dict[str, int]
) -> list[tuple[Path, torch.Tensor]]:
    out = []
    for path in paths:
        try:
            out.append((path, load_image(path)))
        except ImageError as exc:
            if opts.on_error == "stop":
                raise
            log.warning("skipping %s", exc)
            counts["failed"] += 1
    return out


def _same_size(items: list[tuple[Path, torch.Tensor]]) -> list[tuple[list[Path], torch.Tensor]]:
    """Split decoded images into stacks of equal shape (EXIF rotation can change sizes)."""
    by_shape: dict[tuple[int, ...], list[tuple[Path, torch.Tensor]]] = defaultdict(list)
    for path, img in items:
        by_shape[tuple(img.shape)].append((path, img))
    return [([p for p, _ in v], torch.stack([t for _, t in v])) for v in by_shape.values()]
