"""How sensitive is the two-sample test? The real noise family at other levels, scored against real LR.

White Gaussian noise of each sigma is added to the bicubic LR of the val photos (the true
corruption, only its level changed) and the quality benchmark's realism metrics are computed
against the real noise-sigma-8 LR, as for every LR method there. An accuracy of 1.0 for a DSGAN is
read against these: it says "distinguishable", not "far off".

    python benchmarks/two_sample_calibration.py runs/quality/cpu --sigmas 6 7 8 10
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from benchlib import ROOT, git_commit
from dsgan.io.images import list_images, load_image
from dsgan.metrics.evaluate import EvalOptions, evaluate_images
from dsgan.ops.corrupt import apply_corruptions


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("work", type=Path, help="a quality-benchmark work dir, e.g. runs/quality/cpu")
    p.add_argument("--sigmas", type=float, nargs="+", default=[6.0, 7.0, 8.0, 10.0])
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument("--seed", type=int, default=0, help="the two-sample test's seed")
    args = p.parse_args(argv)
    data = sorted(args.work.glob("data-*"))
    if not data:
        p.error(f"{args.work}: no data-* folder; run benchmarks/quality.py first")
    noisy = sorted(data[-1].glob("noise8-*/test_lr"))  # the corruption's folder, keyed by settings
    if not noisy:
        p.error(f"{data[-1]}: no noise8 data; run benchmarks/quality.py --corruptions noise8 first")
    real = {f.stem: load_image(f) for f in list_images(noisy[-1])}
    bicubic = {f.stem: load_image(f) for f in list_images(data[-1] / "val_bicubic_lr")}
    stems = sorted(real)
    opts = EvalOptions(seed=args.seed, device="cpu", fid="off", lpips="off")
    rows = []
    for sigma in args.sigmas:
        g = torch.Generator().manual_seed(123)  # another draw than the real LR's
        gen = [apply_corruptions(bicubic[s], noise_sigma=sigma, generator=g) for s in stems]
        ev = evaluate_images(gen, [real[s] for s in stems], options=opts)
        rows.append(
            {
                "sigma": sigma,
                "noise_sigma_gen": ev["noise"]["gen"],
                "noise_sigma_real": ev["noise"]["real"],
                "spectrum_distance": ev["spectrum"]["l1"],
                "two_sample_accuracy": ev["two_sample"]["accuracy"],
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    lines = [
        "# Two-sample test calibration: white noise of other levels vs the real sigma-8 LR",
        "",
        f"- command: `python benchmarks/two_sample_calibration.py {' '.join(sys.argv[1:])}`",
        f"- commit: {git_commit()}",
        "",
        "| added noise sigma | measured noise sigma (real "
        f"{rows[0]['noise_sigma_real']:.2f}) | spectrum dist | 2-sample acc |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r['sigma']:g} | {r['noise_sigma_gen']:.2f} | {r['spectrum_distance']:.3f} | "
        f"{r['two_sample_accuracy']:.3f} |"
        for r in rows
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "two-sample-calibration-cpu.md").write_text("\n".join(lines) + "\n", "utf-8")
    (args.out / "two-sample-calibration-cpu.json").write_text(json.dumps(rows, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
