"""``dsgan corrupt``: the paper's synthetic real-world datasets (noise, JPEG, blur)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from dsgan.cli.common import add_on_error, seed_type
from dsgan.errors import ImageError, UserError
from dsgan.io.images import list_images, load_image, save_image
from dsgan.io.outputs import check_output_folder, check_unique_stems, existing_output, file_seed
from dsgan.ops.corrupt import apply_corruptions
from dsgan.ops.resize import crop_to_multiple, imresize

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
    check_output_folder(args.input, args.output)
    files = list_images(args.input)
    check_unique_stems(files)
    # every output checked before the first is written
    todo = [p for p in files if args.overwrite or not existing_output(_target(args.output, p))]
    written = failed = 0
    existing = len(files) - len(todo)
    for path in tqdm(todo, desc="dsgan corrupt", unit="img"):
        target = _target(args.output, path)
        try:
            img = load_image(path)
            if min(img.shape[-2:]) < args.downscale:
                raise ImageError(
                    path,
                    f"{img.shape[-1]}x{img.shape[-2]} is too small for "
                    f"--downscale {args.downscale}",
                )
        except ImageError as exc:
            if args.on_error == "stop":
                raise
            print(f"warning: skipping {exc}", file=sys.stderr)
            failed += 1
            continue
        if args.downscale > 1:
            img = imresize(crop_to_multiple(img, args.downscale), 1 / args.downscale).clamp(0, 1)
        # one stream per file: the result does not depend on which other files are present
        g = torch.Generator().manual_seed(file_seed(args.seed, path))
        out = apply_corruptions(
            img,
            args.noise,
            args.blur,
            args.jpeg,
            generator=g,
            shot_peak=args.shot_peak,
            blur_first=args.camera_order,
        )
        save_image(out, target)
        written += 1
    print(
        f"{written} written, {existing} already present, {failed} skipped (unusable) "
        f"-> {args.output}"
    )
    return 0 if failed == 0 else 1


def _target(output: Path, path: Path) -> Path:
    return output / f"{path.stem}.png"
