"""Why a same-domain codec learns another JPEG quality than the true one.

In same-domain mode DSGAN's real samples are the JPEG photos at their native resolution, while G
codes bicubic LR of them. This measures, on the quality benchmark's JPEG source photos, the
blockiness and the mean absolute 5x5 box high-pass (grey levels) of (a) the native-resolution
JPEG photos (same-domain D's reals), (b) their bicubic x4 LR (G's input), and (c) that LR coded
again by Pillow's JPEG at each quality: the quality whose blockiness matches (a) is what a
same-domain D asks for.

    python benchmarks/jpeg_domain_gap.py runs/quality/cpu --qualities 20 30 40 50 60
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from benchlib import ROOT, git_commit
from dsgan.io.images import list_images, load_image
from dsgan.metrics.blocking import mean_blockiness
from dsgan.ops.corrupt import jpeg
from dsgan.ops.filters import HighPass
from dsgan.ops.resize import imresize


def highpass_level(images: list[torch.Tensor]) -> float:
    """Mean |5x5 box high-pass| over images (3, H, W) in [0, 1], in grey levels (0..255)."""
    hp = HighPass("box", 5)
    return sum(float(hp(x[None]).abs().mean()) for x in images) / len(images) * 255


def measure(source: list[torch.Tensor], qualities: list[int]) -> list[dict[str, object]]:
    """Rows (set, blockiness, high-pass level) for native JPEG, its bicubic LR, and LR re-coded."""
    lr = [imresize(x, 0.25).clamp(0, 1) for x in source]
    sets = {"native-resolution JPEG (same-domain reals)": source, "bicubic x4 LR (G's input)": lr}
    sets.update({f"bicubic x4 LR coded at q{q}": [jpeg(x, q) for x in lr] for q in qualities})
    return [
        {"set": k, "blockiness": mean_blockiness(v), "highpass": highpass_level(v)}
        for k, v in sets.items()
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("work", type=Path, help="a quality-benchmark work dir, e.g. runs/quality/cpu")
    p.add_argument("--corruption", default="jpeg30")
    p.add_argument("--qualities", type=int, nargs="+", default=[20, 30, 40, 50, 60])
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args(argv)
    data = sorted(args.work.glob(f"data-*/{args.corruption}/source"))
    if not data:
        p.error(f"{args.work}: no data-*/{args.corruption}/source; run benchmarks/quality.py first")
    torch.set_num_threads(1)
    source = [load_image(f) for f in list_images(data[-1])]
    rows = measure(source, args.qualities)
    command = "python benchmarks/jpeg_domain_gap.py " + " ".join(argv or sys.argv[1:])
    lines = [
        "# JPEG at native resolution vs. on bicubic LR (same-domain codec)",
        "",
        f"- command: `{command}`",
        f"- commit: {git_commit()}, {len(source)} source photos from {data[-1]}",
        "",
        "| set | blockiness | mean abs 5x5 high-pass (grey levels) |",
        "|---|---|---|",
        *(f"| {r['set']} | {r['blockiness']:.2f} | {r['highpass']:.2f} |" for r in rows),
        "",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"jpeg-domain-gap-{args.corruption}.md").write_text("\n".join(lines))
    (args.out / f"jpeg-domain-gap-{args.corruption}.json").write_text(
        json.dumps({"command": command, "rows": rows}, indent=1)
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
