"""``dsgan upscale``: super-resolve a folder of images with a trained SR model."""

from __future__ import annotations

import argparse
from pathlib import Path

from dsgan.cli.common import add_on_error
from dsgan.devices import resolve_device
from dsgan.errors import UserError

NAME = "upscale"
HELP = "super-resolve a folder of images with an `sr-train` model or a BasicSR/ESRGAN checkpoint"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--checkpoint",
        required=True,
        help="sr-train run dir, generator .safetensors, or a BasicSR/ESRGAN .pth",
    )
    p.add_argument("--input", type=Path, required=True, help="folder of LR images")
    p.add_argument("--output", type=Path, required=True, help="output folder (created)")
    p.add_argument(
        "--tile",
        type=int,
        default=0,
        help="tile size in input pixels for large images (0 = whole image)",
    )
    p.add_argument(
        "--overlap", type=int, default=32, help="context pixels around each tile (default 32)"
    )
    p.add_argument("--batch-size", type=int, default=1, help="images of equal size per batch")
    p.add_argument("--device", default="auto")
    p.add_argument("--overwrite", action="store_true", help="redo outputs that already exist")
    add_on_error(p)


def run(args: argparse.Namespace) -> int:
    from dsgan.inference.upscale import UpscaleOptions, load_sr_model, upscale_folder

    if args.tile < 0 or args.overlap < 0 or args.batch_size < 1:
        raise UserError("--tile and --overlap must be >= 0, --batch-size >= 1")
    model, info = load_sr_model(args.checkpoint)
    opts = UpscaleOptions(
        tile=args.tile,
        overlap=args.overlap,
        batch_size=args.batch_size,
        overwrite=args.overwrite,
        on_error=args.on_error,
    )
    from dsgan.training.distributed import env_rank, local_device

    dist_info = env_rank()  # under torchrun each rank upscales every WORLD_SIZE-th file
    device = local_device(resolve_device(args.device), dist_info)
    counts = upscale_folder(
        model, args.input, args.output, opts, device, dist_info.rank, dist_info.world_size
    )
    part = f" (rank {dist_info.rank} of {dist_info.world_size})" if dist_info.enabled else ""
    print(
        f"x{info['scale']}: {counts['written']} written, {counts['existing']} already present, "
        f"{counts['failed']} failed -> {args.output}{part}"
    )
    return 0 if counts["failed"] == 0 else 1
