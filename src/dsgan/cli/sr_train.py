"""``dsgan sr-train``: train the SR model (ESRGAN-FS) on LR/HR pairs."""

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
from dsgan.config.sr import SRConfig

NAME = "sr-train"
HELP = "train an SR model (ESRGAN-FS) on LR/HR pairs, e.g. those of `dsgan degrade --layout sdsr`"

FLAGS = {
    "pairs": "data.pairs",
    "lr": "data.lr",
    "hr": "data.hr",
    "val": "data.val",
    "scale": "data.scale",
    "patch": "data.patch",
    "model": "model.preset",
    "iterations": "iterations",
    "pretrain_iterations": "pretrain_iterations",
    "batch_size": "batch_size",
    "init": "init",
    "perceptual": "loss.perceptual",
    "perceptual_weights": "loss.perceptual_weights",
    "ema": "ema",
    **RUN_FLAGS,
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_args(p)
    p.add_argument("--pairs", type=Path, help="pair folder with LR/ and HR/ (same file names)")
    p.add_argument("--lr", type=Path, help="LR folder (with --hr, instead of --pairs)")
    p.add_argument("--hr", type=Path, help="HR folder (with --lr, instead of --pairs)")
    p.add_argument("--val", type=Path, help="held-out pair folder (LR/, HR/) for PSNR/SSIM")
    p.add_argument("--scale", type=int, choices=(1, 2, 4), help="SR factor (default 4)")
    p.add_argument("--patch", type=int, help="HR patch size (default 128)")
    p.add_argument(
        "--model",
        choices=("esrgan", "small"),
        help="RRDBNet preset: esrgan (64/23/32, default) or small (32/4/16, CPU)",
    )
    p.add_argument("--iterations", type=int, help="training steps after pre-training")
    p.add_argument("--pretrain-iterations", type=int, help="L1-only pre-training steps first")
    p.add_argument("--batch-size", type=int)
    p.add_argument(
        "--init", type=Path, help="initial G weights: our .safetensors or a BasicSR/ESRGAN .pth"
    )
    p.add_argument(
        "--psnr-only",
        action="store_true",
        help="L1 on full images only: no discriminator, no VGG (fast)",
    )
    p.add_argument(
        "--no-fs", action="store_true", help="plain ESRGAN losses (no frequency separation)"
    )
    ema = p.add_mutually_exclusive_group()
    ema.add_argument(
        "--ema",
        type=float,
        help="decay of the moving average of G that is validated and exported (default 0.999)",
    )
    ema.add_argument(
        "--no-ema", action="store_true", help="no moving average: export the last weights"
    )
    p.add_argument("--perceptual", choices=("vgg", "none"))
    p.add_argument("--perceptual-weights", type=Path, help="local torchvision VGG19 weight file")
    add_run_args(p, "runs/sr")


def run(args: argparse.Namespace) -> int:
    extra = {}
    if args.psnr_only:
        extra["loss.gan"] = False
    if args.no_fs:
        extra["loss.fs"] = False
    if args.no_ema:
        extra["ema"] = 0.0
    cfg = resolve_run_config(SRConfig, args, FLAGS, extra)
    if args.dry_run:
        print(dump_config(cfg), end="")
        return 0
    d = cfg.data
    check_run_dir(cfg.out, {"--pairs": d.pairs, "--lr": d.lr, "--hr": d.hr, "--val": d.val})
    from dsgan.training.sr_trainer import SRTrainer

    return run_training(SRTrainer, cfg, args, NAME, "SR generator")
