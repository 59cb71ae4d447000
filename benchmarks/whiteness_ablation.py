"""Which training setting makes DSGAN's noise white? One DSGAN per setting, its noise measured.

Trains DSGAN (residual G with noise input, the quality benchmark's CPU budget: 800 iterations,
batch 8, LR crop 32, no perceptual term) on the noise-sigma-8 data of a quality-benchmark work
directory, in same-domain and unpaired mode, once per setting below; degrades the val photos and
reports the residual statistics of ``noise_whiteness.py`` (lag-1/lag-2 autocorrelation, 0 for white
noise; residual std, real 7.97; share of power above 0.35 cycles/pixel, about 0.62 when white).
Runs one training per CPU core; finished runs are reused.

    python benchmarks/whiteness_ablation.py runs/quality/cpu
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from dsgan.inference.degrade import DegradeOptions, degrade_folder  # noqa: E402
from dsgan.inference.loading import load_generator  # noqa: E402
from dsgan.io.images import list_images, load_image  # noqa: E402
from noise_whiteness import residual_stats  # noqa: E402
from quality import SCALE, git_commit, keyed, run_jobs, train_job  # noqa: E402

SETTINGS: dict[str, dict[str, Any]] = {
    "w_col 1, separate D batches (residual)": {},
    "w_col 1, colour loss of the antithetic mean": {"loss.color_mean": True},
    "w_col 1, joint D batch": {"loss.d_batch": "joint"},
    "w_col 0.1, separate D batches": {"loss.w_col": 0.1},
    "w_col 0.1, joint D batch (balanced)": {"loss.w_col": 0.1, "loss.d_batch": "joint"},
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("work", type=Path, help="a quality-benchmark work dir, e.g. runs/quality/cpu")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--iterations", type=int, default=800)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=32, help="LR crop")
    args = p.parse_args(argv)
    data = sorted(args.work.glob("data-*"))
    if not data:
        p.error(f"{args.work}: no data-* folder; run benchmarks/quality.py first")
    d = data[-1]
    jobs: dict[str, dict[str, Any]] = {}
    for name, extra in SETTINGS.items():
        for mode in ("same", "unpaired"):
            o: dict[str, Any] = {
                "data.hr": str(d / "noise8" / "source" if mode == "same" else d / "unpaired_hr"),
                "data.lr": None if mode == "same" else str(d / "noise8" / "unpaired_lr"),
                "data.scale": SCALE,
                "data.crop": args.crop,
                "iterations": args.iterations,
                "batch_size": args.batch,
                "loss.perceptual": "none",
                "model.output": "residual",
                "model.noise_channels": 3,
                "seed": 0,
                "log_every": 50,
                "image_every": 200,
                "checkpoint_every": 400,
                **extra,
            }
            o["out"] = str(keyed(args.work / "ablation", "dsgan", o))
            jobs[f"{name}|{mode}"] = {
                "kind": "dsgan",
                "out": o["out"],
                "overrides": o,
                "threads": 1,
            }
    paths = run_jobs(train_job, jobs, args.jobs)
    bicubic = {f.stem: load_image(f) for f in list_images(d / "val_bicubic_lr")}
    real = [load_image(f) - bicubic[f.stem] for f in list_images(d / "noise8" / "test_lr")]
    rows = [("real LR", "-", residual_stats(real))]
    for key, path in paths.items():
        name, mode = key.split("|")
        out = Path(path).parent / "val_lr"
        opts = DegradeOptions(scale=SCALE, layout="lr", workers=0, seed=7)
        degrade_folder(load_generator(path)[0], d / "val_hr", out, opts, torch.device("cpu"))
        res = [load_image(f) - bicubic[f.stem] for f in list_images(out)]
        rows.append((name, mode, residual_stats(res)))
    lines = [
        "# Noise whiteness by training setting (noise sigma 8, val photos)",
        "",
        f"- command: `python benchmarks/whiteness_ablation.py {' '.join(sys.argv[1:])}`",
        f"- commit: {git_commit()}; one seed per setting (0), {args.iterations} iterations, "
        f"batch {args.batch}, LR crop {args.crop}",
        "",
        "| setting | mode | lag-1 autocorr | lag-2 autocorr | residual std | power above 0.35 c/px |",
        "|---|---|---|---|---|---|",
    ]
    for name, mode, s in rows:
        lines.append(
            f"| {name} | {mode} | {s['lag1']:+.3f} | {s['lag2']:+.3f} | {s['std']:.2f} | "
            f"{s['hf_share']:.3f} |"
        )
    text = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "whiteness-ablation-cpu.md").write_text(text, encoding="utf-8")
    (args.out / "whiteness-ablation-cpu.json").write_text(
        json.dumps([{"setting": n, "mode": m, **s} for n, m, s in rows], indent=2),
        encoding="utf-8",
    )
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
