"""PNG zlib level of written images: encoding time and file size per level, on real photos.

    python benchmarks/png_level.py --images ../shared/photos/val

Encodes every image of the folder in memory with Pillow at each level (``--rounds`` times, one
thread) and reports the mean milliseconds per image and megabytes per folder, relative to
Pillow's default level 6. ``dsgan.io.images.PNG_COMPRESS_LEVEL`` is the level the project writes.
Writes benchmarks/results/png-level-cpu.{json,md}.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

from PIL import Image

from benchlib import ROOT, write_result
from dsgan.io.images import PNG_COMPRESS_LEVEL, list_images


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images", type=Path, required=True, help="a folder of photos")
    p.add_argument("--levels", type=int, nargs="+", default=[0, 1, 3, 6, 9])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args(argv)
    imgs = [Image.open(f).convert("RGB") for f in list_images(args.images)]
    if not imgs:
        p.error(f"{args.images}: no images")
    rows = []
    for level in args.levels:
        size, t = 0, time.perf_counter()
        for _ in range(args.rounds):
            for im in imgs:
                buf = io.BytesIO()
                im.save(buf, format="PNG", compress_level=level)
                size += buf.tell()
        ms = (time.perf_counter() - t) / args.rounds / len(imgs) * 1000
        rows.append({"level": level, "ms_per_image": ms, "mb": size / args.rounds / 1e6})
    base = next((r for r in rows if r["level"] == 6), rows[0])
    for r in rows:
        r["time_vs_6"] = r["ms_per_image"] / base["ms_per_image"]
        r["size_vs_6"] = r["mb"] / base["mb"]
    mp = sum(im.size[0] * im.size[1] for im in imgs) / len(imgs) / 1e6
    lines = [
        "# PNG zlib level: encoding time and size",
        "",
        f"{len(imgs)} photos from `{args.images}` (mean {mp:.2f} MP), Pillow, one thread, "
        f"{args.rounds} rounds. The project writes level {PNG_COMPRESS_LEVEL}.",
        "",
        "| level | ms per image | size (MB) | time vs level 6 | size vs level 6 |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['level']} | {r['ms_per_image']:.1f} | {r['mb']:.2f} | {r['time_vs_6']:.2f} "
        f"| {r['size_vs_6']:.2f} |"
        for r in rows
    ]
    data = {"images": str(args.images), "count": len(imgs), "mean_mp": mp, "rows": rows}
    write_result(args.results / "png-level-cpu", data, "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
