"""``dsgan pipeline``: from unpaired image folders to a trained SR model in one command.

Parses the config (preset, ``--config``, ``--set``) and runs the stages of
:mod:`dsgan.workflows.pipeline`, which documents them.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from dsgan.cli.common import add_config_args, collect_overrides
from dsgan.config.base import dump_config, load_config, read_yaml
from dsgan.config.pipeline import PipelineConfig
from dsgan.config.presets import DEFAULT_PRESET, load_preset
from dsgan.io.atomic import write_text_atomic
from dsgan.workflows.pipeline import STAGES, check_paths, run_pipeline

NAME = "pipeline"
HELP = "train DSGAN, make LR/HR pairs, train SR and upscale a test folder, resumably"
log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_args(p)
    p.add_argument("--out", type=Path, help="pipeline output folder (default runs/pipeline)")
    p.add_argument("--device", help="auto (default), cpu, cuda, cuda:N, mps")


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
    check_paths(cfg)  # every stage's paths, before stage 1 trains
    write_text_atomic(cfg.out / "pipeline.yaml", dump_config(cfg))
    try:
        result = run_pipeline(cfg)
    except KeyboardInterrupt:
        print("stopped; checkpoint saved. Rerun the same command to resume.")
        return 130
    print(f"SR model: {result['sr']}")
    return 0
