"""Argument helpers shared by the subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from dsgan.config.base import StrictModel, load_config, parse_set_option, read_yaml
from dsgan.errors import UserError

ConfigT = TypeVar("ConfigT", bound=StrictModel)


def add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="YAML config file (flags override it)")
    parser.add_argument(
        "--set",
        dest="set_items",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config key, e.g. --set optim.lr=1e-4 (repeatable)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")


def collect_overrides(args: argparse.Namespace, mapping: dict[str, str]) -> dict[str, Any]:
    """Dotted config overrides from flags that were given (``mapping``: attr -> config key)."""
    out: dict[str, Any] = {}
    for attr, key in mapping.items():
        value = getattr(args, attr, None)
        if value is not None:
            out[key] = str(value) if isinstance(value, Path) else value
    for item in args.set_items:
        key, value = parse_set_option(item)
        out[key] = value
    return out


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``low`` (argparse then exits 2 naming the flag)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def seed_type(text: str) -> int:
    """An argparse type: a seed in [0, 2**63)."""
    value = int_at_least(0)(text)
    if value >= 2**63:
        raise argparse.ArgumentTypeError(f"must be < 2**63, got {value}")
    return value


def add_on_error(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--on-error",
        choices=("skip", "stop"),
        default="skip",
        help="unusable input images: skip them with a warning (default) or stop with an error",
    )


# ------------------------------------------------------------------ training commands
# flags every training command has, and the config keys they set
RUN_FLAGS = {
    "workers": "data.workers",
    "device": "device",
    "out": "out",
    "seed": "seed",
    "amp": "amp",
}


def add_run_args(parser: argparse.ArgumentParser, default_out: str) -> None:
    """Device, precision, workers, run directory, seed, resume and --on-error flags."""
    parser.add_argument("--device", help="auto (default), cpu, cuda, cuda:N, mps")
    parser.add_argument(
        "--amp",
        choices=("off", "bf16", "fp16", "auto"),
        help="autocast; auto (default): bf16 on GPUs and CPUs with bf16 hardware, else fp32",
    )
    parser.add_argument("--workers", type=int_at_least(0), help="data loader worker processes")
    parser.add_argument("--out", type=Path, help=f"run directory (default {default_out})")
    parser.add_argument("--seed", type=seed_type)
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its latest checkpoint"
    )
    add_on_error(parser)


def resolve_run_config(
    cls: type[ConfigT],
    args: argparse.Namespace,
    flags: dict[str, str],
    extra: dict[str, Any] | None = None,
    preset: dict[str, Any] | None = None,
) -> ConfigT:
    """A training command's config: defaults < ``preset`` < ``--config`` YAML < flags < ``--set``.

    With ``--resume`` the run's saved ``config.yaml`` replaces the defaults and the preset, so a
    resumed run keeps its settings unless flags change them. ``extra``: overrides computed from
    other flags.
    """
    overrides = collect_overrides(args, flags)
    overrides.update(extra or {})
    base = preset
    if args.resume and args.out is not None and (args.out / "config.yaml").is_file():
        base = read_yaml(args.out / "config.yaml")
    return load_config(cls, args.config, overrides, base=base)


def check_run_dir(out: Path, inputs: dict[str, Path | None]) -> None:
    """The run directory must not be (inside) an input folder: inputs are never written to.

    ``inputs``: flag name -> folder (None for flags not given).
    """
    from dsgan.io.outputs import check_output_folder, resolve_path

    check_output_folder(None, Path(out), flag="--out")  # not a file, a broken link, uncreatable
    run_dir = resolve_path(Path(out), "--out")
    for name, folder in inputs.items():
        if folder is None:
            continue
        src = resolve_path(Path(folder), name)
        if run_dir == src or src in run_dir.parents:
            raise UserError(
                f"--out {out} is inside the {name} folder {folder}; choose a run "
                "directory outside it (inputs are never modified)"
            )


def stopped_message(command: str, step: int, out: Path) -> str:
    """What an interrupted run left: the checkpoint on disk (the stop may hit the final export)."""
    from dsgan.checkpoints import latest_checkpoint

    found = latest_checkpoint(Path(out) / "checkpoints")
    if found is None:
        return f"stopped at step {step} before the first checkpoint; start again to retrain"
    saved = int(found[0].stem.split("_")[-1])
    what = "checkpoint saved" if saved == step else f"latest checkpoint: step {saved}"
    return f"stopped at step {step}; {what}. Continue with: dsgan {command} --out {out} --resume"


# ------------------------------------------------------------------ folder-to-folder commands
def add_folder_args(parser: argparse.ArgumentParser, checkpoint_help: str, input_help: str) -> None:
    """--checkpoint, --input, --output, --batch-size, --device, --overwrite and --on-error."""
    parser.add_argument("--checkpoint", required=True, help=checkpoint_help)
    parser.add_argument("--input", type=Path, required=True, help=input_help)
    parser.add_argument("--output", type=Path, required=True, help="output folder (created)")
    parser.add_argument(
        "--batch-size",
        type=int_at_least(1),
        default=1,
        help="images of one size processed together",
    )
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N, mps")
    parser.add_argument("--overwrite", action="store_true", help="redo outputs that already exist")
    add_on_error(parser)


def report_counts(
    counts: dict[str, int],
    output: Path,
    dist_info: Any,
    prefix: str = "",
    failed: str = "failed",
) -> int:
    """Print what a folder command did; exit code 1 if some inputs failed (they were skipped).
    ``failed``: the word for those inputs."""
    part = f" (rank {dist_info.rank} of {dist_info.world_size})" if dist_info.enabled else ""
    print(
        f"{prefix}{counts['written']} written, {counts['existing']} already present, "
        f"{counts['failed']} {failed} -> {output}{part}"
    )
    return 0 if counts["failed"] == 0 else 1


def rank_and_device(device: str) -> tuple[Any, Any]:
    """(rank info, device) of this process: under ``torchrun`` rank r of N takes every N-th file
    (no process group needed) on its local device (``cuda`` -> ``cuda:LOCAL_RANK``)."""
    from dsgan.devices import resolve_device
    from dsgan.training.distributed import env_rank, local_device

    info = env_rank()
    return info, local_device(resolve_device(device), info)


def run_training(trainer_cls: Any, cfg: Any, args: argparse.Namespace, name: str, what: str) -> int:
    """Train ``trainer_cls(cfg, ...)`` as ``dsgan NAME`` does, under ``torchrun`` one process per
    device with DDP over the process group (docs/SPEED.md): rank 0 reports ``what`` written, or
    how to resume after a stop (exit 130)."""
    from dsgan.devices import resolve_device
    from dsgan.training import distributed

    device = distributed.local_device(resolve_device(cfg.device))
    with distributed.process_group(device) as dist_info:
        trainer = trainer_cls(
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
                print(stopped_message(name, trainer.step, cfg.out))
            return 130
    if dist_info.is_main:
        print(f"{what} written to {path}")
    return 0
