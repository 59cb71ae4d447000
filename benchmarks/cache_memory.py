"""Datasets larger than memory (issue 19, item 3): start-up time, steady training speed and peak
memory of ``dsgan sr-train`` with the decoded-image memory cache on (everything), bounded
(``data.cache_gb``) and off, each beyond the memory cache with and without the disk cache of
decoded images (``data.disk_cache``), on a generated folder of 2K pairs.

The disk modes first fill the disk cache (every pair not held in memory, decoded and written
once: the one-off cost, like the full cache's start-up; an entry kept from an earlier run with the
same ``--work`` is not rewritten), then time training on the warm cache.

Each mode runs in its own process (peak RSS of the trainer and its loader workers, from
``getrusage``). Steady speed: the median it/s of the timed steps after a warm-up, with
``data.workers`` loader processes. The SR model is the CPU preset (``small``), L1 training.

    python benchmarks/cache_memory.py                    # CPU default: 300 pairs, ~15 min here
    python benchmarks/cache_memory.py --images 40 --steps 10 --size 1024   # quick look
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from benchlib import ROOT, git_commit, machine

RESULTS = ROOT / "benchmarks" / "results"
MODES = ("on", "bounded+disk", "bounded", "off+disk", "off")  # memory cache [+ disk cache]


def make_pairs(root: Path, n: int, width: int, height: int) -> int:
    """``n`` smooth random HR images of width x height and their x4 LR (PNG); returns bytes of
    the decoded HR + LR set (what a full cache holds). Deterministic, so the pairs a ``--work``
    folder already holds from an earlier run are kept (same draws, no encode)."""
    rng = np.random.default_rng(0)
    (root / "HR").mkdir(parents=True, exist_ok=True)
    (root / "LR").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        base = rng.random((height // 32 + 1, width // 32 + 1, 3))
        hr = Image.fromarray((base * 255).astype(np.uint8)).resize((width, height), Image.BICUBIC)
        arr = np.asarray(hr, dtype=np.int16) + rng.integers(-8, 9, (height, width, 3))
        if (root / "HR" / f"{i:04d}.png").is_file() and (root / "LR" / f"{i:04d}.png").is_file():
            continue
        hr = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
        lr = hr.resize((width // 4, height // 4), Image.BICUBIC)
        for img, sub in ((hr, "HR"), (lr, "LR")):  # whole files only (a rerun keeps them)
            tmp = root / sub / f"{i:04d}.png.part"
            img.save(tmp, format="PNG", compress_level=1)
            tmp.replace(root / sub / f"{i:04d}.png")
    return n * 3 * width * height * (1 + 1 / 16)


def child(args: argparse.Namespace) -> None:
    """One mode: build the trainer (start-up), run the steps, print a JSON line."""
    import torch

    from dsgan.config.base import load_config
    from dsgan.config.sr import SRConfig
    from dsgan.training.sr_trainer import SRTrainer

    torch.set_num_threads(args.threads)
    over = {
        "data.pairs": str(args.pairs),
        "data.patch": args.patch,
        "data.workers": args.workers,
        "model.preset": "small",
        "loss.gan": False,
        "iterations": args.warmup + args.steps,
        "batch_size": args.batch_size,
        "device": "cpu",
        "out": str(args.out),
        "log_every": 10**6,
        "image_every": 10**6,
        "checkpoint_every": 10**6,
        "ema": 0.0,
    }
    memory, disk = args.mode.split("+") if "+" in args.mode else (args.mode, None)
    if memory == "off":
        over["data.cache_images"] = False
    elif memory == "bounded":
        over["data.cache_gb"] = args.cache_gb
    over["data.disk_cache"] = str(args.disk) if disk else None
    t0 = time.perf_counter()
    trainer = SRTrainer(load_config(SRConfig, overrides=over))
    startup = time.perf_counter() - t0
    existing = len(list(args.disk.rglob("*.npy"))) if disk and args.disk.is_dir() else 0
    t0 = time.perf_counter()
    if disk:  # every pair beyond the memory cache decoded and written once
        for i in range(len(trainer.data)):
            trainer.data.get(i)
    fill = time.perf_counter() - t0
    times = []
    last = time.perf_counter()
    for batch in trainer._loader():
        trainer.train_step(*trainer._prepare(*batch))
        trainer.step += 1
        now = time.perf_counter()
        times.append(now - last)
        last = now
    steady = times[args.warmup :]
    peak_kb = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    print(
        json.dumps(
            {
                "mode": args.mode,
                "cached_pairs": trainer.data.cached,
                "pairs": len(trainer.data),
                "startup_s": startup,
                "disk_fill_s": fill if disk else None,
                "disk_entries_before": existing if disk else None,
                "it_per_s": 1 / float(np.median(steady)),
                "peak_rss_gb_main": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
                "peak_rss_gb_max_process": peak_kb / 1e6,
            }
        )
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images", type=int, default=300)
    p.add_argument("--size", type=int, default=2040, help="HR width (height: 0.7 of it)")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--patch", type=int, default=128, help="HR patch")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="torch threads of the trainer")
    p.add_argument("--cache-gb", type=float, help="the bounded mode's budget (default: 1/4 set)")
    p.add_argument("--work", type=Path, help="folder for the generated pairs (default: temp)")
    p.add_argument("--name", default="cache-memory-cpu")
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--mode", help=argparse.SUPPRESS)
    p.add_argument("--pairs", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--disk", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.mode:
        child(args)
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="dsgan-cache-"))
    pairs = work / "pairs"
    width, height = args.size, int(args.size * 0.7) // 4 * 4
    kept = len(list(pairs.glob("HR/*.png"))) if pairs.is_dir() else 0  # from an earlier run
    t0 = time.perf_counter()
    full_bytes = make_pairs(pairs, args.images, width, height)
    gen_s = time.perf_counter() - t0
    cache_gb = args.cache_gb if args.cache_gb is not None else full_bytes / 4 / 1e9
    rows = []
    for mode in MODES:
        cmd = [sys.executable, __file__, "--mode", mode, "--pairs", str(pairs)]
        cmd += ["--out", str(work / f"run-{mode}"), "--cache-gb", str(cache_gb)]
        cmd += ["--disk", str(work / "decoded")]
        for k in ("steps", "warmup", "batch_size", "patch", "workers", "threads"):
            cmd += [f"--{k.replace('_', '-')}", str(getattr(args, k))]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    on = rows[0]["it_per_s"]
    summary = {
        "command": "python benchmarks/cache_memory.py "
        + " ".join(
            f"--{k.replace('_', '-')} {v}"
            for k, v in vars(args).items()
            if v is not None and k not in ("results", "mode", "pairs", "out", "work", "disk")
        ),
        "commit": git_commit(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "dataset": {
            "pairs": args.images,
            "hr": f"{width}x{height}",
            "decoded_gb": full_bytes / 1e9,
            "generation_s": gen_s,  # of the pairs not kept from an earlier run
            "pairs_kept_from_earlier_run": min(kept, args.images),
        },
        "bounded_cache_gb": cache_gb,
        "rows": rows,
    }
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"{args.name}.json").write_text(json.dumps(summary, indent=1))
    lines = [
        "# Decoded-image caches: memory on / bounded / off, disk cache or not (`dsgan sr-train`)",
        "",
        f"- command: `{summary['command']}`",
        f"- commit: {summary['commit']}, date: {summary['date']}",
        f"- machine: {json.dumps(summary['machine'])}",
        f"- {args.images} pairs, HR {width}x{height} PNG (x4 LR); decoded: "
        f"{full_bytes / 1e9:.2f} GB; SR `small`, L1, batch {args.batch_size}, HR patch "
        f"{args.patch}, {args.workers} loader workers, {args.threads} trainer thread(s); "
        f"median of {args.steps} steps after {args.warmup}",
        "",
        "| memory cache | disk cache | pairs in memory | start-up (s) | disk fill, once (s) "
        "| steady it/s | vs cache on | peak RSS, trainer (GB) | peak RSS, largest process (GB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        memory = r["mode"].split("+")[0]
        label = {"on": "on (all)", "bounded": f"bounded ({cache_gb:.2f} GB)", "off": "off"}[memory]
        if r["disk_fill_s"] is None:
            disk, fill = "off", "–"
        else:
            disk = "warm"
            kept = r["disk_entries_before"]
            fill = f"{r['disk_fill_s']:.1f}" + (f" ({kept} entries kept)" if kept else "")
        lines.append(
            f"| {label} | {disk} | {r['cached_pairs']} / {r['pairs']} | {r['startup_s']:.1f} "
            f"| {fill} "
            f"| {r['it_per_s']:.3f} | {r['it_per_s'] / on:.2f} | {r['peak_rss_gb_main']:.2f} "
            f"| {r['peak_rss_gb_max_process']:.2f} |"
        )
    (args.results / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
