"""``dsgan train``: train the DSGAN degradation model from image folders."""

from __future__ import annotations

import argparse
from pathlib import Path

from dsgan.cli.common import (
    RUN_FLAGS,
    add_config_args,
    add_run_args,
    check_run_dir,
    resolve_run_config,
    run_training,
)
from dsgan.config.base import dump_config
from dsgan.config.dsgan import DSGANConfig
from dsgan.config.presets import DEFAULT_PRESET, load_preset, preset_names, presets_help

NAME = "train"
HELP = "train a DSGAN degradation model (same-domain: --hr only; unpaired: --hr and --lr)"

FLAGS = {
    "hr": "data.hr",
    "lr": "data.lr",
    "scale": "data.scale",
    "crop": "data.crop",
    "iterations": "iterations",
    "batch_size": "batch_size",
    "perceptual": "loss.perceptual",
    "perceptual_weights": "loss.perceptual_weights",
    "gan": "loss.gan",
    "codec": "model.codec",
    **RUN_FLAGS,
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", choices=preset_names(), help=presets_help())
    add_config_args(p)
    p.add_argument("--hr", type=Path, help="folder of HR (clean) images")
    p.add_argument("--lr", type=Path, help="folder of real LR images (unpaired mode)")
    p.add_argument("--scale", type=int, help="downscaling factor (>= 2; default 4)")
    p.add_argument("--crop", type=int, help="LR crop size in pixels; 0 = whole images")
    p.add_argument("--iterations", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--perceptual", choices=("vgg", "lpips", "none"))
    p.add_argument(
        "--perceptual-weights",
        type=Path,
        help="local weight file for the perceptual network (VGG19 or AlexNet)",
    )
    p.add_argument("--gan", choices=("bce", "ragan", "wgan-gp"))
    p.add_argument(
        "--codec",
        choices=("none", "jpeg"),
        help="jpeg: code G's output with a JPEG of learned quality (on in the default preset)",
    )
    add_run_args(p, "runs/dsgan")


def run(args: argparse.Namespace) -> int:
    preset = load_preset(args.preset or DEFAULT_PRESET)
    cfg = resolve_run_config(DSGANConfig, args, FLAGS, preset=preset)
    if args.dry_run:
        print(dump_config(cfg), end="")
        return 0
    check_run_dir(cfg.out, {"--hr": cfg.data.hr, "--lr": cfg.data.lr})
    from dsgan.training.dsgan_trainer import DSGANTrainer

    return run_training(DSGANTrainer, cfg, args, NAME, "generator")
