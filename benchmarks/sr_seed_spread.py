"""How much the quality benchmark's SR figure moves with the SR training seed alone: the same LR/HR
pairs, SR trained with other seeds (same budget, cached like the benchmark's own runs), scored on
the same corrupted val photos. A DSGAN row that differs from the bicubic row by less than this
spread is not a measured difference. Each row also gets the 95% bootstrap interval over the val
images of its seed-mean PSNR and, against the first ``--lr`` (bicubic), the paired interval of the
per-image difference.

    python benchmarks/sr_seed_spread.py --data runs/quality/cpu/data-XXXX \\
        --corruption-data runs/quality/cpu/data-XXXX/clean-XXXX \\
        --lr bicubic=runs/quality/cpu/data-XXXX/bicubic_lr \\
        --lr dsgan=runs/quality/cpu/clean/dsgan-same-camera-XXXX/train_lr --seeds 0 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

import torch

from benchlib import ROOT, git_commit, machine
from dsgan.devices import resolve_device
from dsgan.metrics.bootstrap import mean_ci, paired_diff_ci
from qualitylib import Budget, sr_job, sr_scores, train_job

RESULTS = ROOT / "benchmarks" / "results"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="the benchmark's data-<hash> folder")
    p.add_argument("--corruption-data", type=Path, required=True, help="its <corruption>-<hash>")
    p.add_argument("--lr", action="append", required=True, help="NAME=folder of training LR")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="auto", help="as the benchmark's (part of the run key)")
    p.add_argument("--name", default="sr-seed-spread-cpu")
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)  # "auto", as the benchmark's runs were keyed with
    b = Budget()
    rows = []
    for item in args.lr:
        name, folder = item.split("=", 1)
        scores, per_image = {}, []
        for seed in args.seeds:
            job_args = argparse.Namespace(device=args.device, seed=seed)
            job = sr_job(
                Path(folder),
                args.data / "train_hr",
                args.data.parent / "sr" / f"sr-{name}",
                b,
                job_args,
                args.threads,
            )
            path = train_job(job)
            sc = sr_scores(path, args.corruption_data / "test_lr", args.data / "val_hr", device)
            scores[seed] = sc["psnr"]
            per_image.append(sc["psnr_per_image"])
            print(name, seed, scores[seed], flush=True)
        vals = list(scores.values())
        seed_mean = [statistics.mean(v) for v in zip(*per_image, strict=True)]
        rows.append(
            {
                "lr": name,
                "folder": folder,
                "psnr_by_seed": scores,
                "spread_db": max(vals) - min(vals),
                "mean": statistics.mean(vals),
                "psnr_per_image": seed_mean,
                "ci": mean_ci(seed_mean).as_dict(),
            }
        )
    oracle = next((r for r in rows if r["lr"] == "oracle"), None)
    for r in rows:  # paired over the same val images, against the first row and the oracle
        r["vs_first"] = paired_diff_ci(r["psnr_per_image"], rows[0]["psnr_per_image"]).as_dict()
        if oracle is not None:
            r["vs_oracle"] = paired_diff_ci(r["psnr_per_image"], oracle["psnr_per_image"]).as_dict()
    out = {
        "command": " ".join(["python", "benchmarks/sr_seed_spread.py", *sys.argv[1:]]),
        "commit": git_commit(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "rows": rows,
    }
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"{args.name}.json").write_text(json.dumps(out, indent=1))
    lines = [
        f"# SR figure against the SR training seed ({args.corruption_data.name})",
        "",
        f"- command: `{out['command']}`",
        f"- commit: {out['commit']}, date: {out['date']}",
        f"- machine: {json.dumps(out['machine'])}",
        "",
        "| LR of the SR training pairs | "
        + " | ".join(f"seed {s}" for s in args.seeds)
        + f" | spread (dB) | seed mean [95% CI over images] | vs {rows[0]['lr']} [95% paired CI] |"
        + (" vs oracle [95% paired CI] |" if oracle else ""),
        "|---|" + "---|" * (len(args.seeds) + 3 + bool(oracle)),
    ]
    for r in rows:
        run = Path(r["folder"]).parent.name  # a DSGAN row: which run made the LR
        label = f"{r['lr']} ({run})" if r["lr"].startswith("dsgan") else r["lr"]
        lines.append(
            f"| {label} | "
            + " | ".join(f"{r['psnr_by_seed'][s]:.3f}" for s in args.seeds)
            + f" | {r['spread_db']:.3f} | {r['mean']:.3f} [{r['ci']['lo']:.2f}, {r['ci']['hi']:.2f}]"
            + "".join(
                f" | {r[k]['mean']:+.3f} [{r[k]['lo']:+.3f}, {r[k]['hi']:+.3f}]"
                for k in ("vs_first", "vs_oracle")
                if k in r
            )
            + " |"
        )
    (args.results / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
