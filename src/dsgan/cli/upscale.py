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
        "--tile-batch",
        type=int,
        default=1,
        help="tiles of one size run in one forward (default 1: one at a time); more uses more "
        "memory and is faster where one tile does not fill the device",
    )
    p.add_argument(
        "--backend",
        choices=("torch", "onnxruntime"),
        default="torch",
        help="torch (default) or onnxruntime: an .onnx from `dsgan export`, or any SR checkpoint "
        "(exported on the fly); needs pip install 'dsgan[export]'",
    )
    p.add_argument(
        "--amp",
        choices=("off", "bf16"),
        default="off",
        help="bf16 for the trunk's convolutions, float32 elsewhere (PyTorch backend; faster "
        "where the hardware has bf16; about 1e-3 from float32 at the worst pixel)",
    )
    p.add_argument(
        "--channels-last", action="store_true", help="NHWC memory format (PyTorch backend)"
    )


def run(args: argparse.Namespace) -> int:
    from dsgan.inference.backends import load_sr_backend
    from dsgan.inference.upscale import UpscaleOptions, upscale_folder

    if args.tile < 0 or args.overlap < 0 or args.batch_size < 1 or args.tile_batch < 1:
        raise UserError("--tile and --overlap must be >= 0, --batch-size and --tile-batch >= 1")
    if args.backend != "torch" and (args.amp != "off" or args.channels_last):
        raise UserError("--amp and --channels-last apply to --backend torch only")
    dist_info, device = rank_and_device(args.device)
    model, scale = load_sr_backend(args.checkpoint, args.backend, device)
    opts = UpscaleOptions(
        tile=args.tile,
        overlap=args.overlap,
        batch_size=args.batch_size,
        overwrite=args.overwrite,
        on_error=args.on_error,
        amp=args.amp,
        channels_last=args.channels_last,
        tile_batch=args.tile_batch,
    )
    counts = upscale_folder(
        model, args.input, args.output, opts, device, dist_info.rank, dist_info.world_size
    )
    return report_counts(counts, args.output, dist_info, prefix=f"x{scale}: ")
