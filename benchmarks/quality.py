"""Quality benchmark: does DSGAN make realistic LR images, and do they help SR? (the paper's protocol)

For each corruption (Gaussian noise sigma 8, JPEG quality 30) of clean photos:

* real LR test set: corruption(bicubic_x4(val photos)); ground truth: the clean val photos.
* DSGAN, same-domain mode: trained on the corrupted train photos at native resolution.
* DSGAN, unpaired mode: clean HR = every other train photo, real LR = corruption(bicubic_x4) of
  the others (unrelated images, same mix of sources; ``--unpaired-split halves``: the first and
  second half by name, as rows before 2026-11-29 were run).
* LR images for SR training are made from the clean train photos by (a) bicubic only, (b) the true
  corruption (oracle), (c) each DSGAN. The same small SR network is trained on each pair set with the
  same budget (L1), then PSNR/SSIM on the real corrupted test LR against clean HR.
* Realism of each LR method on the val photos against the real corrupted LR: noise level, colour
  shift, cross-channel correlation of the residual, high-frequency spectrum distance, a classifier
  two-sample test (and FID/KID where Inception weights exist).

Every stage writes into ``--work`` and is skipped when its output exists, so a rerun resumes.
Results: ``benchmarks/results/quality-<tag>.json`` and ``.md`` (``--name`` picks another stem), and a
picture.

    python benchmarks/quality.py --quick               # < 15 min on a 2-core CPU
    python benchmarks/quality.py                       # CPU default budget (< 90 min)
    python benchmarks/quality.py --scale-budget 4 --device cuda --jobs 4   # GPU size
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import yaml

import realworld
from benchlib import ROOT, git_commit, machine
from dsgan.devices import resolve_device
from dsgan.io.images import list_images, load_image, save_image
from dsgan.metrics.bootstrap import mean_ci, paired_diff_ci
from qualitylib import (
    BLIND,
    CORRUPTIONS,
    SETS,
    SETS_HELP,
    UNPAIRED_SPLITS,
    VARIANTS,
    Budget,
    _sr_key,
    budget_from_args,
    gap_closed,
    learned_stages,
    load_folder,
    prepare_data,
    realism,
    run_health,
    split_content,
    sr_scores,
    train_all,
)

# ----------------------------------------------------------------------------------- report


def save_picture(lr_dirs: dict[str, Path], path: Path, crop: int = 96) -> None:
    """bicubic | each DSGAN | real: the same crop of three val images, upscaled x2 (nearest)."""
    import torch.nn.functional as F

    methods = list(lr_dirs)
    stems = sorted(p.stem for p in list_images(lr_dirs["oracle"]))[:3]
    rows = []
    for stem in stems:
        row = []
        for m in methods:
            img = load_image(lr_dirs[m] / f"{stem}.png")
            h, w = img.shape[-2:]
            y, x = max(0, h // 2 - crop // 2), max(0, w // 2 - crop // 2)
            row.append(
                F.interpolate(
                    img[None, :, y : y + crop, x : x + crop], scale_factor=2, mode="nearest"
                )[0]
            )
        rows.append(
            torch.cat([torch.nn.functional.pad(t, (2, 2, 2, 2), value=1.0) for t in row], dim=2)
        )
    save_image(torch.cat(rows, dim=1), path)


def fmt_or_na(v: float | None, fmt: str) -> str:
    return "n/a" if v is None else format(v, fmt)


def write_markdown(result: dict[str, Any], path: Path) -> None:
    lines = [
        f"# Quality benchmark ({result['tag']})",
        "",
        f"- command: `{result['command']}`",
        f"- commit: {result['commit']}, date: {result['date']}, wall time: "
        f"{result['wall_s'] / 60:.1f} min",
        f"- machine: {json.dumps(result['machine'])}",
        f"- budget: {json.dumps(result['budget'])}",
    ]
    if result.get("dsgan_set"):
        lines.append(f"- DSGAN overrides on every variant: {json.dumps(result['dsgan_set'])}")
    lines.append("")
    for name, res in result["corruptions"].items():
        lines += [f"## {name}", ""]
        if res.get("reused"):
            lines += [
                f"{len(res['reused'])} of {res['trainings']} trainings were found done when this "
                "corruption started and were not rerun (by an earlier run, whose time the wall time "
                "above does not include, or, for the bicubic SR that all corruptions share, by this "
                f"run): {', '.join(res['reused'])}",
                "",
            ]
        if res.get("unpaired_split"):
            u = res["unpaired_split"]
            lines += [
                f"Unpaired split `{u['split']}`: fine texture of the clean bicubic LR (Immerkaer "
                f"estimate, grey levels) {u['texture_g_half']:.2f} in G's half, "
                f"{u['texture_real_half']:.2f} in the real half.",
                "",
            ]
        # blocking only where the corruption makes a block grid (JPEG)
        blocks = "jpeg_quality" in CORRUPTIONS.get(name, {})
        real_blocks = res["methods"]["bicubic"]["realism"].get("blockiness_real")  # same real set
        block_head = f" blockiness (real {fmt_or_na(real_blocks, '.2f')}) |" if blocks else ""
        lines += [
            "| LR used for SR training | SR PSNR (dB) | vs bicubic [95% CI] | gap closed | SR SSIM "
            f"| noise sigma (real {res['real_noise_sigma']:.2f}) | colour shift R,G,B | channel "
            f"corr | spectrum dist |{block_head} 2-sample acc | FID |",
            "|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if blocks else ""),
        ]
        lo = res["methods"]["bicubic"]["sr"]["psnr"]
        hi = res["methods"]["oracle"]["sr"]["psnr"]
        for method, r in res["methods"].items():
            m = r["realism"]
            fid = m.get("fid")
            share = gap_closed(r["sr"]["psnr"], lo, hi)
            gap = "n/a" if share is None else f"{share:.0%}"
            seeds = r["sr"].get("psnr_by_seed")
            spread = f" ({min(seeds):.2f}-{max(seeds):.2f})" if seeds else ""
            vs = r["sr"].get("vs_bicubic")
            diff = (
                f"{vs['mean']:+.2f} [{vs['lo']:+.2f}, {vs['hi']:+.2f}]"
                if vs and method != "bicubic"
                else "–"
            )
            lines.append(
                f"| {method} | {r['sr']['psnr']:.2f}{spread} | {diff} | {gap} | "
                f"{r['sr']['ssim']:.4f} | "
                f"{m['noise_sigma_gen']:.2f} | {', '.join(f'{v:+.2f}' for v in m['colour_shift_rgb'])}"
                f" | {m['channel_corr_gen']:.3f} | {m['spectrum_distance']:.3f} | "
                + (f"{fmt_or_na(m.get('blockiness_gen'), '.2f')} | " if blocks else "")
                + f"{m['two_sample_accuracy']:.3f} | {'n/a' if fid is None else f'{fid:.2f}'} |"
            )
        learned = {
            k: r["learned_quality"]
            for k, r in res["methods"].items()
            if r.get("learned_quality") is not None
        }
        if learned:
            true_q = CORRUPTIONS.get(name, {}).get("jpeg_quality")
            lines += [
                "",
                f"JPEG quality learned by the codec (true: {true_q if true_q else 'no JPEG'}): "
                + ", ".join(f"{k} {q:.1f}" for k, q in learned.items()),
            ]
        lines += [f"{k}: {stages_line(r)}" for k, r in res["methods"].items() if "learned" in r]
        lines.append("")
    if result.get("real_world"):
        lines += realworld.markdown(result["real_world"])
    if result["corruptions"]:
        lines.append(
            '"vs bicubic": mean over the test images of the PSNR difference to SR on bicubic '
            "pairs, with a 95% paired bootstrap interval over images (an interval containing 0 is "
            "no measured difference; the SR seed adds about 0.2 dB more, see --sr-seeds)."
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def stages_line(r: dict[str, Any]) -> str:
    """One method's learned stages and health, in words."""
    s = r["learned"]
    parts = []
    if "gate" in s:
        parts.append(f"codec gate {s['gate']:.2f} at quality {s['quality']:.0f}")
    elif "quality" in s:
        parts.append(f"codec quality {s['quality']:.0f}")
    if "noise_mid" in s:
        parts.append(f"sensor noise {s['noise_mid']:.2f} grey levels at mid-grey")
    if "blur_sigma" in s:
        parts.append(f"blur {s['blur_sigma']:.2f} px")
    health = r.get("health")
    if health is None:
        parts.append("no health report")
    else:
        kinds = [f"{e['kind']} at {e['start']}" for e in health]
        parts.append("health: " + ("ok" if not kinds else ", ".join(kinds)))
    return "; ".join(parts)


def run_corruption(
    name: str, args: argparse.Namespace, b: Budget, work: Path, device: torch.device
) -> dict[str, Any]:
    sets = prepare_data(args.data, work, name, CORRUPTIONS[name], args.unpaired_split)
    t = train_all(name, sets, ["bicubic", "oracle"], args, b, work, device)
    real = load_folder(sets["test_lr"])
    bicubic = load_folder(sets["val_bicubic_lr"])
    res: dict[str, Any] = {"methods": {}, "trainings": t.trainings, "reused": t.reused}
    if "unpaired" in args.modes:
        res["unpaired_split"] = split_content(args.data, args.unpaired_split)  # cached
    for m in t.methods:
        rz = realism(load_folder(t.val_lr[m]), real, bicubic, args.seed, str(device))
        per_seed = [
            sr_scores(
                t.sr_paths[_sr_key(m, seed, args.seed)], sets["test_lr"], sets["val_hr"], device
            )
            for seed in t.seeds
        ]
        sr = {k: sum(x[k] for x in per_seed) / len(per_seed) for k in ("psnr", "ssim")}
        # per image, the mean over SR seeds: the unit the bootstrap resamples
        sr["psnr_per_image"] = [
            sum(vals) / len(vals)
            for vals in zip(*(x["psnr_per_image"] for x in per_seed), strict=True)
        ]
        sr["psnr_ci"] = mean_ci(sr["psnr_per_image"], seed=args.seed).as_dict()
        if len(t.seeds) > 1:
            sr["psnr_by_seed"] = [x["psnr"] for x in per_seed]
        res["methods"][m] = {"realism": rz, "sr": sr}
        if m in t.gen_paths:  # what the stages learned, and the run's health report
            stages = learned_stages(t.gen_paths[m])
            res["methods"][m]["learned"] = stages
            res["methods"][m]["learned_quality"] = stages.get("quality")
            res["methods"][m]["health"] = run_health(t.gen_paths[m])
        res["real_noise_sigma"] = rz["noise_sigma_real"]
        print(f"[{name}] {m}: {json.dumps(res['methods'][m])}", flush=True)
    base = res["methods"]["bicubic"]["sr"]["psnr_per_image"]
    for r in res["methods"].values():  # paired over the same test images
        r["sr"]["vs_bicubic"] = paired_diff_ci(
            r["sr"]["psnr_per_image"], base, seed=args.seed
        ).as_dict()
    pic = args.results / f"{args.name or 'quality-' + args.tag}-{name}-lr.png"
    save_picture({k: t.val_lr[k] for k in ["bicubic", *t.gen_paths, "oracle"]}, pic)
    res["picture"] = str(pic.relative_to(ROOT)) if pic.is_relative_to(ROOT) else str(pic)
    return res


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data",
        type=Path,
        default=ROOT.parent / "shared" / "photos",
        help="folder with train/ and val/ clean photos",
    )
    p.add_argument("--work", type=Path, default=ROOT / "runs" / "quality")
    p.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument(
        "--tag", default=None, help="name of the result files (default: cpu/gpu[-quick])"
    )
    p.add_argument(
        "--name",
        default=None,
        help="stem of the result files (default: quality-<tag>, plus -<corruptions> for a subset); "
        "the cache stays keyed by --work/--tag",
    )
    p.add_argument("--quick", action="store_true", help="small budget (< 15 min on 2 CPU cores)")
    p.add_argument(
        "--scale-budget",
        type=float,
        default=1.0,
        help="multiply training iterations (e.g. 8 on a GPU)",
    )
    p.add_argument(
        "--real-world",
        type=Path,
        metavar="DIR",
        help="also run the real-world track: real LR photos nobody degraded (no ground truth; "
        "benchmarks/real_photos.py gathers a licensed set), unpaired DSGAN, NIQE/BRISQUE of SR",
    )
    p.add_argument(
        "--corruptions",
        nargs="*",
        default=["noise8", "jpeg30"],
        choices=[*CORRUPTIONS, *SETS],
        help=f"corruptions to run (default: the paper's two); {SETS_HELP}",
    )
    p.add_argument("--modes", nargs="+", default=["same", "unpaired"], choices=["same", "unpaired"])
    p.add_argument(
        "--unpaired-split",
        default="interleaved",
        choices=UNPAIRED_SPLITS,
        help="which train photos are G's clean HR and which the real LR in unpaired mode: every "
        "other photo (default) or first/second half by name (the split of rows before 2026-11-29)",
    )
    p.add_argument(
        "--variants", nargs="+", default=["faithful", "balanced"], choices=list(VARIANTS)
    )
    p.add_argument(
        "--baselines",
        nargs="*",
        default=list(BLIND),
        choices=list(BLIND),
        help="blind hand-crafted pipelines to train SR on as well (default: all; none: --baselines)",
    )
    p.add_argument(
        "--dsgan-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one DSGAN config key on top of every variant, e.g. model.blur=0 (YAML "
        "value; repeatable): an ablation gets its own cached run",
    )
    p.add_argument("--dsgan-iterations", type=int)
    p.add_argument("--dsgan-batch", type=int)
    p.add_argument("--dsgan-crop", type=int)
    p.add_argument("--sr-iterations", type=int)
    p.add_argument("--sr-batch", type=int)
    p.add_argument("--sr-patch", type=int)
    p.add_argument("--sr-lr", type=float, help="SR learning rate (default 5e-4; --quick 2e-4)")
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--jobs",
        type=int,
        help="trainings run in parallel processes (default: one per CPU core up to 6 on a CPU, "
        "each with one thread, which is faster than sharing threads; 1 on a GPU)",
    )
    p.add_argument(
        "--threads",
        type=int,
        help="torch threads per training (default: CPU cores / --jobs); 1 when another "
        "benchmark shares the machine",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--sr-seeds",
        type=int,
        default=1,
        help="SR trainings per LR method, seeds --seed, --seed + 1, ...: rows report the mean "
        "PSNR and, with 2 or more, the range (the SR seed alone moves it by about 0.2 dB here)",
    )
    args = p.parse_args(argv)
    if args.sr_seeds < 1:
        p.error("--sr-seeds must be >= 1")
    # a named list expands in place; a corruption named twice runs once
    expanded = [c for name in args.corruptions for c in SETS.get(name, [name])]
    args.corruptions = list(dict.fromkeys(expanded))
    if not args.corruptions and args.real_world is None:
        p.error("nothing to run: give --corruptions NAME ... or --real-world DIR")
    if args.real_world is not None and not args.real_world.is_dir():
        p.error(f"--real-world {args.real_world}: not a folder of photos")
    sets = {}
    for item in args.dsgan_set:
        key, eq, value = item.partition("=")
        if not eq or not key:
            p.error(f"--dsgan-set {item!r}: expected KEY=VALUE, e.g. model.blur=0")
        sets[key] = yaml.safe_load(value)
    args.dsgan_set = sets
    if not (args.data / "train").is_dir() or not (args.data / "val").is_dir():
        p.error(f"--data {args.data}: needs train/ and val/ folders of clean photos")
    dev = resolve_device(args.device)
    if args.jobs is None:
        args.jobs = 1 if dev.type != "cpu" else max(1, min(6, os.cpu_count() or 1))
    args.tag = (
        args.tag or f"{'gpu' if dev.type == 'cuda' else 'cpu'}{'-quick' if args.quick else ''}"
    )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.time()
    b = budget_from_args(args)
    device = resolve_device(args.device)
    args.results.mkdir(parents=True, exist_ok=True)
    work = args.work / args.tag
    result: dict[str, Any] = {
        "tag": args.tag,
        "command": "python benchmarks/quality.py " + " ".join(sys.argv[1:]),
        "commit": git_commit(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "budget": b.__dict__,
        "dsgan_set": args.dsgan_set,
        "corruptions": {},
    }
    for name in args.corruptions:
        result["corruptions"][name] = run_corruption(name, args, b, work, device)
    if args.real_world is not None:
        result["real_world"] = realworld.run_real_world(args.real_world, args, b, work, device)
    result["wall_s"] = time.time() - t0
    paper = args.corruptions == ["noise8", "jpeg30"]
    named = [f"-{k}" for k, v in SETS.items() if args.corruptions == v]
    subset = (
        ""
        if paper
        else named[0]
        if named
        else "-" + "-".join([*args.corruptions, *(["real-world"] if args.real_world else [])])
    )
    if "unpaired" in args.modes and args.unpaired_split != "interleaved":
        subset += f"-{args.unpaired_split}"  # never over the default split's files
    out = args.results / (args.name or f"quality-{args.tag}{subset}")
    # not with_suffix: a stem may hold dots
    (args.results / f"{out.name}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    write_markdown(result, args.results / f"{out.name}.md")
    print(f"wrote {out}.json and .md in {result['wall_s'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
