"""``dsgan pipeline``: from unpaired image folders to a trained SR model in one command.

Stages, each in its own folder under ``out`` and each resumable (rerun the same command):

1. ``1_dsgan``: train DSGAN (skipped once ``generator.safetensors`` exists; else resumes from the
   latest checkpoint);
2. ``2_pairs``: degrade the HR images into LR/HR pairs (existing files are kept; ``.done`` marks
   completion);
3. ``3_sr``: train the SR model on the pairs (as stage 1);
4. ``4_upscaled``: super-resolve ``upscale.input`` if given.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from dsgan.checkpoints import checkpoint_files, latest_checkpoint
from dsgan.cli.common import add_config_args, collect_overrides
from dsgan.config.base import dump_config, load_config, read_yaml
from dsgan.config.pipeline import PipelineConfig
from dsgan.config.presets import DEFAULT_PRESET, load_preset
from dsgan.devices import resolve_device
from dsgan.errors import UserError
from dsgan.io.atomic import write_text_atomic
from dsgan.io.images import list_images
from dsgan.io.outputs import check_output_folder

NAME = "pipeline"
HELP = "train DSGAN, make LR/HR pairs, train SR and upscale a test folder, resumably"
STAGES = ("1_dsgan", "2_pairs", "3_sr", "4_upscaled")
log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_args(p)
    p.add_argument("--out", type=Path, help="pipeline output folder (default runs/pipeline)")
    p.add_argument("--device", help="auto (default), cpu, cuda, cuda:N, mps")


def _train_stage(name: str, run_dir: Path, train) -> Path:
    """Run (or resume, or skip) one training stage; returns its exported generator."""
    final = run_dir / "generator.safetensors"
    if final.is_file():
        print(f"[{name}] done already: {final}")
        return final
    folder = run_dir / "checkpoints"
    resume = latest_checkpoint(folder) is not None or bool(checkpoint_files(folder))
    print(f"[{name}] {'resuming' if resume else 'training'} in {run_dir}")
    return train(resume)


def check_paths(cfg: PipelineConfig) -> None:
    """Every input of every stage exists and holds images, and ``out`` neither lies inside an
    input nor holds one, checked before the first stage runs (so a mistake in stage 4's paths
    is not found after hours of training).

    Raises:
        UserError: naming the config key and the fix.
    """
    inputs = {
        "dsgan.data.hr": cfg.dsgan.data.hr,
        "dsgan.data.lr": cfg.dsgan.data.lr,
        "degrade.input": cfg.degrade.input,
        "sr.data.val": cfg.sr.data.val,
        "upscale.input": cfg.upscale.input,
    }
    check_output_folder(None, Path(cfg.out), flag="out")
    for key, folder in inputs.items():
        if folder is None:
            continue
        check_output_folder(Path(folder), Path(cfg.out), flag="out", input_flag=key)
        if key != "sr.data.val":  # a validation folder holds HR/ and LR/, checked by sr-train
            try:
                list_images(folder)
            except UserError as exc:
                raise UserError(f"{key}: {exc}") from None


def run_pipeline(cfg: PipelineConfig) -> dict[str, Path]:
    """Run all stages; returns the stage outputs."""
    from dsgan.checkpoints.load import load_generator, load_sr_model
    from dsgan.inference.degrade import DegradeOptions, degrade_folder
    from dsgan.inference.upscale import UpscaleOptions, upscale_folder
    from dsgan.training.dsgan_trainer import DSGANTrainer
    from dsgan.training.sr_trainer import SRTrainer

    out = Path(cfg.out)
    dirs = {s: out / s for s in STAGES}
    device = resolve_device(cfg.device)
    dcfg = cfg.dsgan.model_copy(update={"out": dirs["1_dsgan"], "device": cfg.device})
    g_path = _train_stage(
        "dsgan", dirs["1_dsgan"], lambda resume: DSGANTrainer(dcfg, resume=resume).train()
    )

    pairs, done = dirs["2_pairs"], dirs["2_pairs"] / ".done"
    if done.is_file():
        print(f"[degrade] done already: {pairs}")
    else:
        d = cfg.degrade
        hr = Path(d.input or cfg.dsgan.data.hr)  # type: ignore[arg-type]
        g, _ = load_generator(g_path)
        opts = DegradeOptions(
            scale=cfg.dsgan.data.scale,
            layout=d.layout,
            tile=d.tile,
            cleanup=d.cleanup,
            seed=d.seed,
            workers=d.workers,
        )
        counts = degrade_folder(g, hr, pairs, opts, device)
        print(f"[degrade] {counts} -> {pairs}")
        done.write_text(json.dumps(counts))

    data = cfg.sr.data.model_copy(update={"pairs": pairs, "lr": None, "hr": None})
    scfg = cfg.sr.model_copy(update={"out": dirs["3_sr"], "device": cfg.device, "data": data})
    sr_path = _train_stage(
        "sr", dirs["3_sr"], lambda resume: SRTrainer(scfg, resume=resume).train()
    )
    result = {"dsgan": g_path, "pairs": pairs, "sr": sr_path}

    u = cfg.upscale
    if u.input is not None:
        model, _ = load_sr_model(sr_path)
        opts_u = UpscaleOptions(tile=u.tile, overlap=u.overlap, batch_size=u.batch_size)
        counts = upscale_folder(model, Path(u.input), dirs["4_upscaled"], opts_u, device)
        print(f"[upscale] {counts} -> {dirs['4_upscaled']}")
        result["upscaled"] = dirs["4_upscaled"]
    return result


def run(args: argparse.Namespace) -> int:
    overrides = collect_overrides(args, {"out": "out", "device": "device"})
    # the preset is the dsgan section's base: named by --set preset=..., else in the YAML
    name = overrides.get("preset") or (read_yaml(args.config) if args.config else {}).get(
        "preset", DEFAULT_PRESET
    )
    preset = load_preset(str(name))
    cfg = load_config(PipelineConfig, args.config, overrides, base={"dsgan": preset})
    saved = cfg.out / STAGES[0] / "config.yaml"
    if saved.is_file():  # a started DSGAN stage keeps its settings, as `dsgan train --resume` does
        cfg = load_config(PipelineConfig, args.config, overrides, base={"dsgan": read_yaml(saved)})
    if args.dry_run:
        print(dump_config(cfg), end="")
        return 0
    check_paths(cfg)
    write_text_atomic(cfg.out / "pipeline.yaml", dump_config(cfg))
    try:
        result = run_pipeline(cfg)
    except KeyboardInterrupt:
        print("stopped; checkpoint saved. Rerun the same command to resume.")
        return 130
    print(f"SR model: {result['sr']}")
    return 0
