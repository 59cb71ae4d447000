"""``dsgan corrupt``: the paper's synthetic real-world datasets (noise, JPEG, blur)."""

from __future__ import annotations

import argparse
from pathlib import Path

from dsgan.cli.common import (
    add_on_error,
    int_at_least,
    rank_and_device,
    report_counts,
    seed_type,
)
from dsgan.errors import UserError

NAME = "corrupt"
HELP = (
    "corrupt images with Gaussian or Poisson-Gaussian noise / blur / JPEG (the paper's datasets, "
    "or a camera's), deterministically"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", type=Path, required=True)
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--noise", type=float, default=0.0, help="Gaussian noise sigma (0..255 units)")
    p.add_argument("--jpeg", type=int, help="JPEG quality (1..100)")
    p.add_argument("--blur", type=float, default=0.0, help="Gaussian blur sigma in pixels")
    p.add_argument(
        "--shot-peak",
        type=float,
        default=0.0,
        help="signal-dependent (Poisson) noise: photons at white, e.g. 400 (std 9 of 255 at "
        "mid-grey); --noise is then the read noise",
    )
    p.add_argument(
        "--camera-order",
        action="store_true",
        help="blur before the noise, as a camera does (default: noise, blur, JPEG as the authors)",
    )
    p.add_argument(
        "--downscale",
        type=int,
        default=1,
        help="bicubic downscale factor applied before corrupting (real-LR test sets)",
    )
    p.add_argument("--seed", type=seed_type, default=0)
    p.add_argument("--overwrite", action="store_true")
    p.add_argument(
        "--workers",
        type=int_at_least(0),
        default=0,
        help="processes decoding and corrupting images in parallel (default 0: this one)",
    )
    add_on_error(p)


def run(args: argparse.Namespace) -> int:
    values = {"--noise": args.noise, "--blur": args.blur, "--shot-peak": args.shot_peak}
    for flag, value in values.items():
        if not (value >= 0 and value < float("inf")):  # also refuses nan
            raise UserError(f"{flag} must be a finite number >= 0, got {value}")
    if args.jpeg is not None and not 1 <= args.jpeg <= 100:
        raise UserError("--jpeg must be in 1..100")
    if args.downscale < 1:
        raise UserError(f"--downscale must be >= 1, got {args.downscale}")
    nothing = args.noise == 0 and args.blur == 0 and args.shot_peak == 0
    if nothing and args.jpeg is None and args.downscale == 1:
        raise UserError("nothing to do: give --noise, --shot-peak, --jpeg, --blur or --downscale")
    from dsgan.inference.corrupt import Corruption, corrupt_folder
    from dsgan.inference.folders import FolderOptions

    corruption = Corruption(
        noise=args.noise,
        blur=args.blur,
        jpeg=args.jpeg,
        shot_peak=args.shot_peak,
        camera_order=args.camera_order,
        downscale=args.downscale,
        seed=args.seed,
    )
    opts = FolderOptions(overwrite=args.overwrite, on_error=args.on_error, workers=args.workers)
    dist_info, _ = rank_and_device("cpu")
    counts = corrupt_folder(
        corruption, args.input, args.output, opts, dist_info.rank, dist_info.world_size
    )
    return report_counts(counts, args.output, dist_info, failed="skipped (unusable)")
