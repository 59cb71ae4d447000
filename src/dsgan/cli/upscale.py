"""``dsgan upscale``: super-resolve a folder of images with a trained SR model."""

from __future__ import annotations

import argparse

from dsgan.cli.common import add_folder_args, rank_and_device, report_counts
from dsgan.errors import UserError

NAME = "upscale"
HELP = "super-resolve a folder of images with an `sr-train` model or a BasicSR/ESRGAN checkpoint"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_folder_args(
        p,
        checkpoint_help="sr-train run dir, generator .safetensors, or a BasicSR/ESRGAN .pth",
        input_help="folder of LR images",
    )
    p.add_argument(
        "--tile",
        type=int,
        default=0,
        help="tile size in input pixels for large images (0 = whole image)",
    )
    p.add_argument(
        "--overlap", type=int, default=32, help="context pixels around each tile (default 32)"
    )
    p.add_argument(
        "--backend",
        choices=("torch", "onnxruntime"),
        default="torch",
        help="torch (default) or onnxruntime: an .onnx from `dsgan export`, or any SR checkpoint "
        "(exported on the fly); needs pip install 'dsgan[export]'",
    )


def run(args: argparse.Namespace) -> int:
    from dsgan.inference.backends import load_sr_backend
    from dsgan.inference.upscale import UpscaleOptions, upscale_folder

    if args.tile < 0 or args.overlap < 0 or args.batch_size < 1:
        raise UserError("--tile and --overlap must be >= 0, --batch-size >= 1")
    dist_info, device = rank_and_device(args.device)
    model, scale = load_sr_backend(args.checkpoint, args.backend, device)
    opts = UpscaleOptions(
        tile=args.tile,
        overlap=args.overlap,
        batch_size=args.batch_size,
        overwrite=args.overwrite,
        on_error=args.on_error,
    )
    counts = upscale_folder(
        model, args.input, args.output, opts, device, dist_info.rank, dist_info.world_size
    )
    return report_counts(counts, args.output, dist_info, prefix=f"x{scale}: ")
