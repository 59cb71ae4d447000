"""Is the learned noise white? A diagnostic over a finished quality-benchmark work directory.

For each LR method of the noise-sigma-8 experiment, the residual ``LR - bicubic LR`` of the val
photos (the added noise) is compared with the real LR's: its autocorrelation at horizontal lags 1
and 2 (0 for white noise), its standard deviation (0..255) and the share of its power above 0.35
cycles/pixel (about 0.62 for white noise on these crops). Real sensor noise is white; a generator
whose noise is spatially correlated is easy for the two-sample classifier to spot even at the
right noise level.

    python benchmarks/noise_whiteness.py runs/quality/cpu
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from dsgan.io.images import list_images, load_image


def residual_stats(residuals: list[torch.Tensor]) -> dict[str, float]:
    """Mean over (3, H, W) residuals of lag-1/lag-2 autocorrelation, std (0..255), HF power share."""
    out: dict[str, list[float]] = {"lag1": [], "lag2": [], "std": [], "hf_share": []}
    for r in residuals:
        power = r.pow(2).mean()
        out["lag1"].append(float((r[..., 1:] * r[..., :-1]).mean() / power))
        out["lag2"].append(float((r[..., 2:] * r[..., :-2]).mean() / power))
        out["std"].append(float(r.std()) * 255)
        spec = torch.fft.fftshift(torch.fft.fft2(r), dim=(-2, -1)).abs().pow(2).mean(0)
        h, w = spec.shape
        fy = torch.linspace(-0.5, 0.5, h).view(-1, 1)
        fx = torch.linspace(-0.5, 0.5, w).view(1, -1)
        out["hf_share"].append(float(spec[(fx**2 + fy**2).sqrt() > 0.35].sum() / spec.sum()))
    return {k: sum(v) / len(v) for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("work", type=Path, help="a quality-benchmark work dir, e.g. runs/quality/cpu")
    p.add_argument("--corruption", default="noise8")
    args = p.parse_args(argv)
    data = sorted(args.work.glob("data-*"))
    if not data:
        p.error(f"{args.work}: no data-* folder; run benchmarks/quality.py first")
    bicubic = {f.stem: load_image(f) for f in list_images(data[-1] / "val_bicubic_lr")}
    sets = {
        "real": data[-1] / args.corruption / "test_lr",
        "oracle": data[-1] / args.corruption / "val_oracle_lr",
    }
    for run in sorted((args.work / args.corruption).glob("dsgan-*")):
        if (run / "val_lr").is_dir():
            sets[run.name.rsplit("-", 1)[0]] = run / "val_lr"
    print("| LR | lag-1 autocorr | lag-2 autocorr | residual std | power above 0.35 c/px |")
    print("|---|---|---|---|---|")
    for name, folder in sets.items():
        s = residual_stats([load_image(f) - bicubic[f.stem] for f in list_images(folder)])
        print(
            f"| {name} | {s['lag1']:+.3f} | {s['lag2']:+.3f} | {s['std']:.2f} | "
            f"{s['hf_share']:.3f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
