"""Training speed at the paper's sizes, bf16, with and without torch.compile (issue #19).

    PYTHONPATH=src python benchmarks/paper_scale.py --device cuda     # the paper's sizes
    PYTHONPATH=src python benchmarks/paper_scale.py --quick           # tiny sizes: a CPU smoke test

Two stages, each built as the CLI builds it (config, trainer, run directory):

* ``dsgan``: ``dsgan train`` with the default recipe (preset ``camera``), batch 16, LR crops of
  128 (HR crops of 512, bicubic-downscaled on the device every step, as training does).
* ``sr``: ``dsgan sr-train``'s ESRGAN-FS: RRDBNet 64/23/32 x4 and the VGG-style D, batch 16, HR
  patches of 128, the GAN phase (L1 of low-passes + VGG19 conv5_4 + RaGAN on high-passes) and
  the EMA of G (0.999). The loss's VGG19 gets random weights from a file this script writes
  (torchvision's key layout; the unused classifier as zero-stride tensors, so the file is small):
  the same compute as ImageNet weights, which an offline machine lacks.

Each stage runs in each mode (``eager``, ``compile``): warm-up steps (the first one compiles, and
on CUDA cuDNN times its algorithms, as in training: ``warmup_s`` is their total), then timed
steps, each followed by a device sync, of what the training loop does per step: the batch's
transfer and preparation, ``train_step``, the schedulers and the EMA update. Data loading is not
timed: one batch from the trainer's own loader is reused (the loader runs in worker processes
beside the step; docs/SPEED.md measures it). Peak memory on CUDA is
``torch.cuda.max_memory_allocated`` over the warm-up (autotuning workspaces included) and over
the timed steps alone; on a CPU, the growth of the process's high-water mark RSS during the row
(0 where an earlier row went higher).

The projected wall time is the median step time times the paper's schedule: DSGAN 300 epochs
over DF2K (3,450 images, one crop each, the last batch kept: 216 iterations per epoch at batch
16, 64,800 in all; the seed document says 80,000), ESRGAN-FS 60,000 iterations (the paper's
51,000-60,000); data loading, validation, samples and checkpoints not included.

Writes ``paper-scale-<device>.json`` and ``.md`` under ``--results``, after every measured
stage and mode, so a run stopped by a time limit keeps what it measured.
"""

from __future__ import annotations

import argparse
import gc
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torchvision

from benchlib import ROOT, write_result
from dsgan.config.base import load_config
from dsgan.config.dsgan import DSGANConfig
from dsgan.config.presets import DEFAULT_PRESET, load_preset
from dsgan.config.sr import SRConfig
from dsgan.devices import resolve_device
from dsgan.training.dsgan_trainer import DSGANTrainer
from dsgan.training.loop import TrainLoop
from dsgan.training.sr_trainer import SRTrainer
from speed import peak_memory_mb, reset_peak, sync, write_images

#: iterations of the paper's schedules at batch 16 (module docstring)
SCHEDULES = {
    "dsgan": {"authors, 300 epochs of DF2K": 300 * -(-3450 // 16), "seed document": 80_000},
    "sr": {"ESRGAN-FS, upper end": 60_000},
}


def paper_sizes(quick: bool) -> dict[str, dict[str, Any]]:
    """Per stage: batch size and crop (LR crop for dsgan, HR patch for sr), and model size."""
    if quick:
        return {
            "dsgan": {"batch": 2, "crop": 16},
            "sr": {"batch": 2, "crop": 32, "model": "small"},
        }
    return {"dsgan": {"batch": 16, "crop": 128}, "sr": {"batch": 16, "crop": 128}}


def build_dsgan(work: Path, size: dict[str, Any], device: str, compile_: bool) -> DSGANTrainer:
    """The default recipe's trainer on a folder of generated HR images."""
    hr = work / "dsgan-hr"
    if not hr.is_dir():
        write_images(hr, 8, size["crop"] * 4 + 64, seed=1)
    overrides = {
        "data.hr": str(hr),
        "data.crop": size["crop"],
        "batch_size": size["batch"],
        "device": device,
        "amp": "bf16",
        "compile": compile_,
        "out": str(work / f"run-dsgan-{int(compile_)}"),
        "iterations": 10**6,
    }
    cfg = load_config(DSGANConfig, overrides=overrides, base=load_preset(DEFAULT_PRESET))
    return DSGANTrainer(cfg)


def build_sr(work: Path, size: dict[str, Any], device: str, compile_: bool) -> SRTrainer:
    """ESRGAN-FS's trainer (GAN phase) on generated pairs, VGG19 with random weights."""
    pairs, vgg = work / "sr-pairs", work / "vgg19-random.pth"
    if not pairs.is_dir():
        side = size["crop"] + 64
        write_images(pairs / "HR", 4, side, seed=2)
        write_images(pairs / "LR", 4, side // 4, seed=3)
        with torch.device("meta"):
            shapes = {k: v.shape for k, v in torchvision.models.vgg19().state_dict().items()}
        torch.save(
            {
                k: torch.randn(s) * 0.05 if k.startswith("features.") else torch.zeros(1).expand(s)
                for k, s in shapes.items()
            },
            vgg,
        )
    overrides: dict[str, Any] = {
        "data.pairs": str(pairs),
        "data.patch": size["crop"],
        "batch_size": size["batch"],
        "loss.perceptual_weights": str(vgg),
        "device": device,
        "amp": "bf16",
        "compile": compile_,
        "out": str(work / f"run-sr-{int(compile_)}"),
        "iterations": 10**6,
    }
    if "model" in size:
        overrides["model.preset"] = size["model"]
    return SRTrainer(load_config(SRConfig, overrides=overrides))


def loop_step(trainer: TrainLoop, batch: tuple[torch.Tensor, ...]) -> None:
    """One step as ``TrainLoop._run_steps`` does it (without logging and checkpoints)."""
    trainer._before_step()
    losses = trainer.train_step(*trainer._prepare(*batch))
    if losses is None:
        raise RuntimeError(f"step {trainer.step}: non-finite loss or gradient")
    for sched in trainer._schedulers():
        sched.step()
    trainer.step += 1
    if trainer.ema is not None:
        trainer.ema.update_parameters(trainer._nets()["g"])


def measure(
    stage: str, trainer: TrainLoop, size: dict[str, Any], warmup: int, steps: int
) -> dict[str, Any]:
    """Warm-up then timed steps of ``trainer``; one result row."""
    dev = trainer.device
    batch = next(iter(trainer._loader()))
    for net in trainer._nets().values():
        net.train()
    sync(dev)
    reset_peak(dev)
    before = peak_memory_mb(dev)
    t = time.perf_counter()
    for _ in range(warmup):
        loop_step(trainer, batch)
    sync(dev)
    warmup_s = time.perf_counter() - t
    warmup_peak = peak_memory_mb(dev) - (0.0 if dev.type == "cuda" else before)
    reset_peak(dev)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        loop_step(trainer, batch)
        sync(dev)
        times.append(time.perf_counter() - t)
    s_it = statistics.median(times)
    peak = peak_memory_mb(dev) - (0.0 if dev.type == "cuda" else before)
    row: dict[str, Any] = {
        "stage": stage,
        "batch_size": size["batch"],
        "crop": size["crop"],
        "crop_kind": "LR crop (HR x4)" if stage == "dsgan" else "HR patch",
        "warmup_steps": warmup,
        "warmup_s": warmup_s,
        "steps": steps,
        "s_per_it": s_it,
        "s_per_it_min": min(times),
        "s_per_it_max": max(times),
        "iterations_per_s": 1 / s_it,
        "images_per_s": size["batch"] / s_it,
        "peak_memory_mb": peak,
        "warmup_peak_memory_mb": warmup_peak,
        "projected_hours": {k: n * s_it / 3600 for k, n in SCHEDULES[stage].items()},
    }
    return row


def release(device: torch.device) -> None:
    """Free the last trainer's memory and compiled graphs before the next one."""
    gc.collect()
    torch._dynamo.reset()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def markdown(rows: list[dict[str, Any]], device_name: str, peak_kind: str) -> str:
    lines = [
        f"# Training speed at the paper's sizes: {device_name}",
        "",
        "Written by `benchmarks/paper_scale.py` (what it times: its docstring). bf16 autocast, "
        "channels_last; median of the timed steps; projections exclude data loading and "
        f"validation. Peak memory: {peak_kind}.",
        "",
        "| stage | mode | batch | crop | s/it (min-max) | it/s | img/s | warm-up | peak memory "
        "(GiB), timed steps / warm-up | projected schedule |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        proj = "; ".join(
            f"{k}: {n:,} it, {r['projected_hours'][k]:.1f} h"
            for k, n in SCHEDULES[r["stage"]].items()
        )
        lines.append(
            f"| {r['stage']} | {r['mode']} | {r['batch_size']} | {r['crop']} ({r['crop_kind']}) "
            f"| {r['s_per_it']:.4f} ({r['s_per_it_min']:.4f}-{r['s_per_it_max']:.4f}) "
            f"| {r['iterations_per_s']:.2f} | {r['images_per_s']:.1f} "
            f"| {r['warmup_steps']} steps, {r['warmup_s']:.1f} s "
            f"| {r['peak_memory_mb'] / 1024:.2f} / {r['warmup_peak_memory_mb'] / 1024:.2f} "
            f"| {proj} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cuda, cpu, ...")
    p.add_argument("--quick", action="store_true", help="tiny sizes: a CPU smoke test")
    p.add_argument("--stages", nargs="+", default=["dsgan", "sr"], choices=("dsgan", "sr"))
    p.add_argument("--modes", nargs="+", default=["eager", "compile"], choices=("eager", "compile"))
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (compiles)")
    p.add_argument("--steps", type=int, help="timed steps (default 20; --quick 2)")
    p.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args(argv)
    steps = args.steps or (2 if args.quick else 20)
    device = resolve_device(args.device)
    sizes = paper_sizes(args.quick)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    peak_kind = (
        "torch.cuda.max_memory_allocated"
        if device.type == "cuda"
        else "growth of the process's high-water mark RSS during the row (0 where an earlier "
        "row went higher)"
    )
    stem = args.results / f"paper-scale-{device.type}{'-quick' if args.quick else ''}"
    rows: list[dict[str, Any]] = []
    work = Path(tempfile.mkdtemp(prefix="dsgan-paper-scale-"))
    build = {"dsgan": build_dsgan, "sr": build_sr}
    try:
        for stage in args.stages:
            for mode in args.modes:
                trainer = build[stage](work, sizes[stage], str(device), mode == "compile")
                row = measure(stage, trainer, sizes[stage], args.warmup, steps)
                row["mode"] = mode
                rows.append(row)
                print(
                    f"{stage} {mode}: {row['s_per_it']:.4f} s/it, "
                    f"{row['peak_memory_mb']:.0f} MB, warm-up {row['warmup_s']:.1f} s",
                    flush=True,
                )
                del trainer
                release(device)
                data = {
                    "device": str(device),
                    "device_name": name,
                    "amp": "bf16",
                    "schedules": SCHEDULES,
                    "peak_memory_kind": peak_kind,
                    "process_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                    / 1024,
                    "rows": rows,
                }
                write_result(stem, data, markdown(rows, name, peak_kind))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
