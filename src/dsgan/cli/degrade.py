"""``dsgan degrade``: apply a trained generator to HR images to make realistic LR / LR-HR pairs."""

from __future__ import annotations

import argparse

from dsgan.cli.common import (
    add_folder_args,
    int_at_least,
    rank_and_device,
    report_counts,
    seed_type,
)

NAME = "degrade"
HELP = "degrade HR images with a trained DSGAN generator (LR images or SDSR/TDSR pair folders)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_folder_args(
        p,
        checkpoint_help="run dir, generator .safetensors, authors' .pth, or 'bicubic' (no model)",
        input_help="folder of HR images",
    )
    p.add_argument(
        "--scale", type=int_at_least(2), help="default: the scale the model was trained for"
    )
    p.add_argument("--layout", choices=("lr", "sdsr", "tdsr"), default="sdsr")
    p.add_argument(
        "--tile", type=int_at_least(0), default=0, help="tile size in LR pixels (0 = whole image)"
    )
    p.add_argument(
        "--cleanup", type=int_at_least(1), default=2, help="TDSR clean-up downscale factor"
    )
    p.add_argument("--seed", type=seed_type, default=0, help="seed of the generator's noise input")
    p.add_argument("--workers", type=int_at_least(0), default=2, help="decoding worker processes")
    p.add_argument(
        "--writers",
        type=int_at_least(0),
        default=0,
        help="PNG-writing threads (0: max(2, workers)); on a GPU the writers can bound the run",
    )


def run(args: argparse.Namespace) -> int:
    from dsgan.checkpoints.load import load_generator
    from dsgan.inference.degrade import DegradeOptions, degrade_folder

    if args.checkpoint == "bicubic":
        g, trained_scale = None, None
    else:
        g, info = load_generator(args.checkpoint)
        trained_scale = info.get("scale")
        if g.codec is not None:
            print(f"generator with a JPEG stage of learned quality {float(g.codec.quality):.1f}")
    scale = args.scale or trained_scale or 4
    if trained_scale and args.scale and args.scale != trained_scale:
        print(f"warning: the model was trained for x{trained_scale}, degrading at x{scale}")
    opts = DegradeOptions(
        scale=scale,
        layout=args.layout,
        tile=args.tile,
        cleanup=args.cleanup,
        seed=args.seed,
        overwrite=args.overwrite,
        workers=args.workers,
        writers=args.writers,
        on_error=args.on_error,
        batch_size=args.batch_size,
    )
    dist_info, device = rank_and_device(args.device)
    counts = degrade_folder(
        g,
        args.input,
        args.output,
        opts,
        device,
        rank=dist_info.rank,
        world_size=dist_info.world_size,
    )
    return report_counts(counts, args.output, dist_info)
