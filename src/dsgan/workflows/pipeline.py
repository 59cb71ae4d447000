"""The pipeline workflow (``dsgan pipeline``): from unpaired image folders to a trained SR model.

Stages, each in its own folder under ``out`` and each resumable (rerun the same command):

1. ``1_dsgan``: train DSGAN (skipped once ``generator.safetensors`` exists; else resumes from the
   latest checkpoint);
2. ``2_pairs``: degrade the HR images into LR/HR pairs (existing files are kept; ``.done`` marks
   completion);
3. ``3_sr``: train the SR model on the pairs (as stage 1);
4. ``4_upscaled``: super-resolve ``upscale.input`` if given.
"""

from __future__ import annotations

import json
from pathlib import Path

from dsgan.config.pipeline import PipelineConfig
from dsgan.devices import resolve_device
from dsgan.errors import UserError
from dsgan.io.atomic import write_text_atomic
from dsgan.io.images import list_images
from dsgan.io.outputs import check_output_folder, check_unique_stems
from dsgan.workflows.runs import train_or_resume

STAGES = ("1_dsgan", "2_pairs", "3_sr", "4_upscaled")


def check_paths(cfg: PipelineConfig) -> None:
    """Every input of every stage exists and holds images (the folders a stage writes from:
    without two files of one stem), and no stage folder (``out/1_dsgan`` ...) lies inside an
    input or holds one; checked before the first stage runs, so a mistake in a later stage's
    paths is not found after hours of training. (``out`` itself may hold the inputs, e.g.
    ``out: .`` beside ``data/``.)

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
    # the folders whose files become outputs named by stem (stage 2: degrade, stage 4: upscale)
    named_outputs = {cfg.degrade.input or cfg.dsgan.data.hr, cfg.upscale.input}
    for key, folder in inputs.items():
        if folder is None:
            continue
        for stage in STAGES:
            where = Path(cfg.out) / stage
            check_output_folder(Path(folder), where, flag=f"out ({stage})", input_flag=key)
        if key != "sr.data.val":  # a validation folder holds HR/ and LR/, checked by sr-train
            try:
                files = list_images(folder)
                if folder in named_outputs:
                    check_unique_stems(files)
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
    g_path = train_or_resume(
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
        write_text_atomic(done, json.dumps(counts))

    data = cfg.sr.data.model_copy(update={"pairs": pairs, "lr": None, "hr": None})
    scfg = cfg.sr.model_copy(update={"out": dirs["3_sr"], "device": cfg.device, "data": data})
    sr_path = train_or_resume(
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
