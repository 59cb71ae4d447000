"""Same-domain content scale: how unlike G's input are the real crops D is shown?

Same-domain (the paper), G's input is a photo's crop downscaled by the scale factor and D's real
sample a crop of the same photos at native scale, whose content is ``scale`` times coarser per
pixel. This measures the structure statistic of :mod:`dsgan.data.content` (log band-pass std of
the luminance, where the degradations barely reach) on random crops of

* G's input: ``crop * scale`` crops of ``--source`` box-averaged down to LR,
* the paper's real sample: ``crop`` crops of ``--source`` at native scale,
* (``--real-lr``) real LR at G's scale, e.g. the true corruption of the downscaled photos,
* the real sample matched as ``data.match_content K`` draws it (K native crops of random photos,
  the one closest to each G input crop), for each ``--candidates`` K; with its mean brightness,
  since matching by texture could favour bright crops (and their signal-dependent noise).

    python benchmarks/content_scale.py --source runs/quality/cpu/data-*/lowlight-*/source \\
        --real-lr runs/quality/cpu/data-*/lowlight-*/oracle_lr --name content-scale-lowlight
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

from benchlib import ROOT, write_result
from dsgan.data import content
from dsgan.data.sampling import random_crop
from dsgan.io.images import list_images, load_image_u8


def random_crops(folder: Path, size: int, per_image: int, g: torch.Generator) -> torch.Tensor:
    """(N, 3, size, size) uint8: ``per_image`` random crops of each image of ``folder``."""
    images = [load_image_u8(path) for path in list_images(folder)]
    return torch.stack([random_crop(x, size, g) for x in images for _ in range(per_image)])


def summary(values: torch.Tensor) -> dict[str, float]:
    return {"mean": float(values.mean()), "sd": float(values.std())}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", type=Path, required=True, help="the real photos, native scale")
    p.add_argument("--real-lr", type=Path, help="real LR at G's scale, for comparison")
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--crop", type=int, default=32, help="LR crop size (the benchmark's: 32)")
    p.add_argument("--per-image", type=int, default=4, help="G input crops per photo")
    p.add_argument("--pool", type=int, default=40, help="native candidate crops per photo")
    p.add_argument("--candidates", type=int, nargs="+", default=[1, 4, 8, 16])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default="content-scale")
    args = p.parse_args(argv)
    g = torch.Generator().manual_seed(args.seed)
    src = random_crops(args.source, args.crop * args.scale, args.per_image, g)
    native = random_crops(args.source, args.crop, args.pool, g)
    want = content.structure(src, args.scale)
    pool = content.structure(native)
    brightness = native.float().mean(dim=(1, 2, 3))
    rows: dict[str, Any] = {
        "G's input (native crop downscaled)": summary(want),
        "paper's real sample (native crop)": summary(pool),
    }
    if args.real_lr:
        rows["real LR at G's scale"] = summary(
            content.structure(random_crops(args.real_lr, args.crop, args.per_image, g))
        )
    matched = {}
    for k in args.candidates:
        idx = torch.randint(len(pool), (len(want), k), generator=g)
        best = (pool[idx] - want[:, None]).abs().argmin(dim=1, keepdim=True)
        pick = idx.gather(1, best).squeeze(1)
        matched[k] = {**summary(pool[pick]), "brightness": float(brightness[pick].mean())}
    md = [
        f"# Same-domain content scale: {args.source}",
        "",
        "Structure statistic (log1p of the luminance band-pass std, grey levels of 255;"
        " dsgan.data.content) of random crops, mean and standard deviation over crops.",
        "",
        "| crops | mean | sd |",
        "|---|---|---|",
        *(f"| {k} | {v['mean']:.2f} | {v['sd']:.2f} |" for k, v in rows.items()),
        "",
        f"Matched as `data.match_content K` draws them (mean brightness of all native crops:"
        f" {float(brightness.mean()):.1f} of 255):",
        "",
        "| K | mean | sd | brightness |",
        "|---|---|---|---|",
        *(
            f"| {k} | {v['mean']:.2f} | {v['sd']:.2f} | {v['brightness']:.1f} |"
            for k, v in matched.items()
        ),
    ]
    data = {
        "source": str(args.source),
        "crops": rows,
        "matched": matched,
        "pool_brightness": float(brightness.mean()),
    }
    write_result(ROOT / "benchmarks" / "results" / args.name, data, "\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
