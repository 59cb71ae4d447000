"""Why the codec's quality is trained by a finite difference, not by autograd.

On bicubic x4 LR of real photos, the target is Pillow's JPEG at quality 30; the codec's quality is
fitted to it by MSE with Adam, its slope taken (a) by autograd through kornia's differentiable
JPEG, (b) by the central difference the trainer uses (``dsgan.training.codec_step``). Also
tabulated: the MSE at each quality, which shows where a local slope can lead.

    python benchmarks/codec_slope.py --data ../shared/photos
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from benchlib import ROOT, git_commit
from dsgan.errors import UserError
from dsgan.io.images import list_images, load_image
from dsgan.models.codec import JPEGCodec, jpeg_round_trip, quality_of
from dsgan.ops.corrupt import jpeg
from dsgan.ops.resize import imresize
from dsgan.training.codec_step import quality_slope


def fit(
    x: torch.Tensor, target: torch.Tensor, start: float, slope: str, steps: int, lr: float
) -> float:
    """Adam on the quality logit from ``start``; ``slope`` autograd | finite-difference."""
    logit = JPEGCodec(start).quality_logit.detach().clone().requires_grad_(slope == "autograd")
    opt = torch.optim.Adam([logit], lr=lr)

    def mse(coded: torch.Tensor) -> torch.Tensor:
        return ((coded - target) ** 2).mean()

    for _ in range(steps):
        opt.zero_grad()
        if slope == "autograd":
            mse(jpeg_round_trip(x, quality_of(logit))).backward()
        else:
            logit.grad = quality_slope(mse, x, logit.detach(), 0.1)
        opt.step()
    return float(quality_of(logit.detach()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "photos")
    p.add_argument("--images", type=int, default=4, help="val photos used (crops of 96 px)")
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--starts", type=float, nargs="+", default=[75.0, 45.0, 15.0])
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args(argv)
    try:
        files = list_images(args.data / "val")[: args.images]
    except UserError as exc:
        p.error(str(exc))
    torch.set_num_threads(1)
    lr_imgs = [imresize(load_image(f), 0.25).clamp(0, 1)[:, :96, :96] for f in files]
    x = torch.stack(lr_imgs)
    target = torch.stack([jpeg(im, 30) for im in lr_imgs])
    # how close kornia's differentiable JPEG is to Pillow's at the same quality
    kornia_q30 = jpeg_round_trip(x, torch.tensor(30.0))
    psnr_vs_pillow = float(-10 * torch.log10(((kornia_q30 - target) ** 2).mean()))
    landscape = {
        q: float(((jpeg_round_trip(x, torch.tensor(float(q))) - target) ** 2).mean())
        for q in (10, 20, 25, 30, 35, 40, 50, 60, 75, 90)
    }
    fits = {
        f"{slope} from {start:g}": fit(x, target, start, slope, args.steps, args.lr)
        for slope in ("autograd", "finite-difference")
        for start in args.starts
    }
    command = "python benchmarks/codec_slope.py " + " ".join(argv or sys.argv[1:])
    lines = [
        "# Fitting the codec's quality to Pillow's JPEG q30 by MSE: autograd vs finite difference",
        "",
        f"- command: `{command}`",
        f"- commit: {git_commit()}; {len(files)} val photos, bicubic x4, 96x96 crops; Adam lr "
        f"{args.lr}, {args.steps} steps",
        "",
        "| slope, start quality | quality reached (true 30) |",
        "|---|---|",
        *(f"| {k} | {v:.1f} |" for k, v in fits.items()),
        "",
        f"kornia's differentiable JPEG at q30 against Pillow's q30: {psnr_vs_pillow:.1f} dB PSNR",
        "",
        "MSE against the target by quality: "
        + ", ".join(f"q{q} {v * 1e4:.2f}e-4" for q, v in landscape.items()),
        "",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "codec-slope.md").write_text("\n".join(lines))
    (args.out / "codec-slope.json").write_text(
        json.dumps(
            {"command": command, "fits": fits, "mse": landscape, "psnr_vs_pillow": psnr_vs_pillow},
            indent=1,
        )
        + "\n"
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
