"""What a trained generator with a JPEG stage does before its codec, against the real LR.

For each run given: G's change of its bicubic input before the codec (mean absolute difference,
grey levels; the true noise + JPEG corruption adds sigma-6 Gaussian noise, a mean |change| of 4.8),
the share of output pixels outside [0, 1] before and after the codec, and the blockiness
(``dsgan.metrics.blocking.batch_blockiness``, the training statistic) of G's pre-codec output coded
at a range of JPEG qualities, next to the real LR's on random crops of the same size. Where G's
coded blockiness meets the real LR's says which quality matches the real block grid *given* what
G puts in front of the codec.

    python benchmarks/precodec.py RUN [RUN ...] --hr HR_DIR --lr REAL_LR_DIR --name NAME

A RUN is a run directory (its exported generator) or a checkpoint file; ``--raw`` measures a
checkpoint's G itself where it also holds a moving average (``ema``), which is what loads by
default.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from benchlib import ROOT, write_result
from dsgan.checkpoints.load import load_generator, resolve_source
from dsgan.data.sampling import random_crop
from dsgan.io.images import list_images, load_image
from dsgan.metrics.blocking import batch_blockiness
from dsgan.models.codec import jpeg_round_trip
from dsgan.ops.resize import imresize

RESULTS = ROOT / "benchmarks" / "results"
QUALITIES = (90, 75, 60, 45, 30, 20)


def random_crops(images: list[torch.Tensor], size: int, n: int, g: torch.Generator) -> torch.Tensor:
    """(n, 3, size, size) crops at random positions of random images (as training draws them)."""
    out = []
    for _ in range(n):  # an image, then its crop: the draws in this order
        out.append(random_crop(images[int(torch.randint(len(images), (1,), generator=g))], size, g))
    return torch.stack(out)


def load_raw(run: Path) -> torch.nn.Module:
    """G's own weights from a checkpoint that also holds their moving average (``g_ema.*``)."""
    path = resolve_source(run)
    with safe_open(str(path), "pt") as fh:
        meta = fh.metadata()
    tensors = {k: v for k, v in load_file(path).items() if not k.startswith("g_ema.")}
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        save_file(tensors, copy, metadata=meta)
        g, _ = load_generator(copy)
    return g


@torch.no_grad()
def measure(run: Path, lr_batches: list[torch.Tensor], raw: bool) -> dict:
    """One run's statistics on the given bicubic LR batches (N, 3, crop, crop)."""
    g = load_raw(run) if raw else load_generator(run)[0]
    g.eval()
    torch.manual_seed(0)  # G's noise draws
    pre = [g(x, codec_offset=None).float() for x in lr_batches]
    final = [g(x).float() for x in lr_batches]
    change = statistics.mean(
        float((p - x).abs().mean() * 255) for p, x in zip(pre, lr_batches, strict=True)
    )

    def outside(ts: list[torch.Tensor]) -> float:
        return sum(int(((t < 0) | (t > 1)).sum()) for t in ts) / sum(t.numel() for t in ts)

    coded = {
        q: statistics.mean(
            float(batch_blockiness(jpeg_round_trip(p, torch.tensor(float(q)), (0, 0)).clamp(0, 1)))
            for p in pre
        )
        for q in QUALITIES
    }
    learned = None if g.codec is None else round(float(g.codec.quality), 1)
    gate = None if g.codec is None or g.codec.gate_logit is None else round(float(g.codec.gate), 3)
    return {
        "run": str(run),
        "learned_quality": learned,
        "gate": gate,
        "change": change,
        "outside_pre": outside(pre),
        "outside_final": outside(final),
        "blockiness_coded": coded,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "runs", type=Path, nargs="+", help="dsgan train run directories or checkpoint files"
    )
    p.add_argument("--hr", type=Path, required=True, help="G's clean HR photos")
    p.add_argument("--lr", type=Path, required=True, help="the real LR photos")
    p.add_argument("--crop", type=int, default=32, help="LR crop side (training's)")
    p.add_argument("--batches", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--raw", action="store_true", help="G's weights, not their moving average")
    p.add_argument("--name", default="precodec")
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()
    hr = [load_image(f) for f in list_images(args.hr)]
    real = [load_image(f) for f in list_images(args.lr)]
    g = torch.Generator().manual_seed(0)
    real_block = statistics.mean(
        float(batch_blockiness(random_crops(real, args.crop, args.batch_size, g)))
        for _ in range(args.batches)
    )
    side = args.crop * args.scale
    lr_batches = [
        imresize(random_crops(hr, side, args.batch_size, g), 1 / args.scale).clamp(0, 1)
        for _ in range(args.batches)
    ]
    rows = [measure(run, lr_batches, args.raw) for run in args.runs]
    head = " | ".join(f"q{q}" for q in QUALITIES)
    lines = [
        f"# Before the codec: {', '.join(r.name for r in args.runs)}",
        "",
        f"{args.batches} batches of {args.batch_size} random {args.crop}-px LR crops (bicubic "
        f"x{args.scale} of {args.hr}); real LR: {args.lr}, batch blockiness **{real_block:.3f}** "
        "on random crops of the same size.",
        "",
        f"| run | learned quality | gate | mean abs change before the codec (0..255) | outside "
        f"[0, 1] before / after the codec | blockiness coded at {head} |",
        "|---|---|---|---|---|" + "---|" * len(QUALITIES),
    ]
    for r in rows:
        cells = " | ".join(f"{r['blockiness_coded'][q]:.3f}" for q in QUALITIES)
        lines.append(
            f"| {'/'.join(Path(r['run']).parts[-3:])} | {r['learned_quality']} | {r['gate']} | {r['change']:.2f} "
            f"| {r['outside_pre']:.1e} / {r['outside_final']:.1e} | {cells} |"
        )
    write_result(
        args.results / args.name,
        {"real_blockiness": real_block, "runs": rows, "qualities": list(QUALITIES)},
        "\n".join(lines),
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
