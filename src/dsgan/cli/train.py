"""``dsgan train``: train the DSGAN degradation model from image folders."""

from __future__ import annotations

import argparse
from pathlib import Path

from dsgan.cli.common import add_config_args, add_on_error, collect_overrides
from dsgan.config.base import dump_config, load_config, read_yaml
from dsgan.config.dsgan import DSGANConfig
from dsgan.errors import UserError

NAME = "train"
HELP = "train a DSGAN degradation model (same-domain: --hr only; unpaired: --hr and --lr)"

FLAGS = {
    "hr": "data.hr",
    "lr": "data.lr",
    "scale": "data.scale",
    "crop": "data.crop",
    "workers": "data.workers",
    "iterations": "iterations",
    "batch_size": "batch_size",
    "perceptual": "loss.perceptual",
    "perceptual_weights": "loss.perceptual_weights",
    "gan": "loss.gan",
    "device": "device",
    "out": "out",
    "seed": "seed",
    "amp": "amp",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
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
    p.add_argument("--device", help="auto (default), cpu, cuda, cuda:N, mps")
    p.add_argument("--amp", choices=("off", "bf16", "fp16", "auto"))
    p.add_argument("--workers", type=int, help="data loader worker processes")
    p.add_argument("--out", type=Path, help="run directory (default runs/dsgan)")
    p.add_argument("--seed", type=int)
    p.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its latest checkpoint"
    )
    add_on_error(p)


def resolve(args: argparse.Namespace) -> DSGANConfig:
    overrides = collect_overrides(args, FLAGS)
    base = None
    if args.resume and args.out is not None and (args.out / "config.yaml").is_file():
        base = read_yaml(args.out / "config.yaml")
    return load_config(DSGANConfig, args.config, overrides, base=base)


def run(args: argparse.Namespace) -> int:
    cfg = resolve(args)
    if args.dry_run:
        print(dump_config(cfg), end="")
        return 0
    _check_out(cfg)
    from dsgan.devices import resolve_device
    from dsgan.training import distributed
    from dsgan.training.dsgan_trainer import DSGANTrainer

    # under torchrun: one process per device, DDP over the process group (docs/SPEED.md)
    device = distributed.local_device(resolve_device(cfg.device))
    with distributed.process_group(device) as dist_info:
        trainer = DSGANTrainer(
            cfg,
            resume=args.resume,
            on_error=args.on_error,
            rank=dist_info.rank,
            world_size=dist_info.world_size,
        )
        try:
            path = trainer.train()
        except KeyboardInterrupt:
            if dist_info.is_main:
                print(_stopped_message(trainer.step, cfg.out))
            return 130
    if dist_info.is_main:
        print(f"generator written to {path}")
    return 0


def _check_out(cfg: DSGANConfig) -> None:
    """The run directory must not be (inside) an input folder: inputs are never written to."""
    out = Path(cfg.out).resolve()
    for name, folder in (("--hr", cfg.data.hr), ("--lr", cfg.data.lr)):
        if folder is not None and (
            out == Path(folder).resolve() or Path(folder).resolve() in out.parents
        ):
            raise UserError(
                f"--out {cfg.out} is inside the {name} folder {folder}; choose a run "
                "directory outside it (inputs are never modified)"
            )


def _stopped_message(step: int, out: Path) -> str:
    """What an interrupted run left: the checkpoint on disk (the stop may hit the final export)."""
    from dsgan.training.checkpoint import latest_checkpoint

    found = latest_checkpoint(Path(out) / "checkpoints")
    if found is None:
        return f"stopped at step {step} before the first checkpoint; start again to retrain"
    saved = int(found[0].stem.split("_")[-1])
    what = "checkpoint saved" if saved == step else f"latest checkpoint: step {saved}"
    return f"stopped at step {step}; {what}. Continue with: dsgan train --out {out} --resume"
