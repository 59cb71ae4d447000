"""The quality benchmark's real-world track: real LR photos that nobody here degraded, no ground
truth (``python benchmarks/quality.py --real-world DIR``).

DSGAN (each ``--variants`` recipe, unpaired mode) learns the degradation from the clean train
photos (HR) to the real photos of ``DIR`` (the real LR domain). SR models are trained as in the
synthetic tracks on pairs from bicubic downscaling, the blind hand-crafted pipelines and each
DSGAN. Then:

* each SR model upscales every real photo; the outputs get NIQE and BRISQUE (lower is better) with
  a bootstrap interval over photos, and the paired difference to SR on bicubic pairs with its own
  interval (the same photos under both models);
* each LR method applied to the clean val photos is compared with the real photos: noise level,
  cross-channel correlation, blockiness, spectrum distance, two-sample classifier accuracy;
* a picture: real LR (nearest x4) | SR on bicubic pairs | SR on each DSGAN's pairs.

The real photos are used whole at their native size (a user upscales the photos DSGAN learned
from; this is DSGAN's setting), so no photo is held out.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch

from benchlib import ROOT
from dsgan.io.images import list_images, load_image, save_image
from qualitylib import (
    CORRUPTIONS,
    _sr_key,
    _write_set,
    distribution_stats,
    keyed,
    prepare_data,
    train_all,
)


def real_set(real_dir: Path, work: Path) -> Path:
    """The real photos as PNG under ``work`` (cropped to even sides: the SR network's x2 pixel
    unshuffle needs them), keyed by names and sizes so another folder never meets this cache."""
    files = list_images(real_dir)
    if len(files) < 2:
        raise SystemExit(f"--real-world {real_dir}: needs at least 2 photos, found {len(files)}")
    out = keyed(work, "real-world-data", [(f.name, f.stat().st_size) for f in files]) / "real_lr"
    _write_set(files, out, lambda p, x: x[:, : x.shape[1] // 2 * 2, : x.shape[2] // 2 * 2])
    return out


def upscale_all(sr_path: str, real_lr: Path, out: Path, device: torch.device) -> Path:
    """Every real photo through one SR model into ``out`` (``dsgan upscale``'s folder runner:
    existing outputs are kept, so a rerun resumes)."""
    from dsgan.checkpoints.load import load_sr_model
    from dsgan.inference.upscale import UpscaleOptions, upscale_folder

    g = load_sr_model(sr_path)[0]
    counts = upscale_folder(g, real_lr, out, UpscaleOptions(tile=256, overlap=16), device)
    if counts["failed"]:
        raise SystemExit(f"{counts['failed']} photos of {real_lr} could not be upscaled")
    return out


def noref_with_ci(folder: Path, seed: int) -> dict[str, Any]:
    """NIQE and BRISQUE per image of ``folder`` (sorted by name), means and bootstrap intervals."""
    from dsgan.metrics.evaluate import no_reference_scores

    files = list_images(folder)
    return no_reference_scores([load_image(p) for p in files], seed, [p.name for p in files])


def paired_vs(scores: dict[str, Any], base: dict[str, Any], seed: int) -> dict[str, Any]:
    """Per metric: the mean over photos of (method - bicubic) and its paired bootstrap interval."""
    from dsgan.metrics.bootstrap import paired_diff_ci

    out = {}
    for metric in ("niqe", "brisque"):
        a, b = scores[metric]["per_image"], base[metric]["per_image"]
        keep = [i for i in range(len(a)) if a[i] is not None and b[i] is not None]
        out[metric] = paired_diff_ci(
            [a[i] for i in keep], [b[i] for i in keep], seed=seed
        ).as_dict()
    return out


def lr_realism(gen_dir: Path, real_lr: Path, seed: int, device: str) -> dict[str, Any]:
    """Statistics of one LR method's images against the real photos (different content)."""
    gen = [load_image(p) for p in list_images(gen_dir)]
    real = [load_image(p) for p in list_images(real_lr)]
    return distribution_stats(gen, real, seed, device)


def save_picture(real_lr: Path, sr_dirs: dict[str, Path], path: Path, crop: int = 48) -> None:
    """Per photo (up to 3): real LR (nearest x4) | each SR output, the same central crop."""
    import torch.nn.functional as F

    rows = []
    for p in list_images(real_lr)[:3]:
        lr = load_image(p)
        h, w = lr.shape[-2:]
        y, x = max(0, h // 2 - crop // 2), max(0, w // 2 - crop // 2)
        tiles = [F.interpolate(lr[None, :, y : y + crop, x : x + crop], scale_factor=4)[0]]
        for d in sr_dirs.values():
            sr = load_image(d / f"{p.stem}.png")
            tiles.append(sr[:, 4 * y : 4 * (y + crop), 4 * x : 4 * (x + crop)])
        rows.append(torch.cat([F.pad(t, (2, 2, 2, 2), value=1.0) for t in tiles], dim=2))
    save_image(torch.cat(rows, dim=1), path)


def run_real_world(
    real_dir: Path, args: argparse.Namespace, b: Any, work: Path, device: torch.device
) -> dict[str, Any]:
    """The track's result: per LR method, its SR outputs' scores and its LR realism."""
    name = "real-world"
    sets = prepare_data(args.data, work, "clean", CORRUPTIONS["clean"])  # clean HR, bicubic LR
    real_lr = real_set(real_dir, work)
    sets = {**sets, "unpaired_hr": sets["train_hr"], "unpaired_lr": real_lr}
    unpaired = argparse.Namespace(**{**vars(args), "modes": ["unpaired"]})
    t = train_all(name, sets, ["bicubic"], unpaired, b, work, device)
    res: dict[str, Any] = {
        "real_dir": str(real_dir),
        "n_real": len(list_images(real_lr)),
        "methods": {},
        "trainings": t.trainings,
        "reused": t.reused,
        "real_lr_noref": noref_with_ci(real_lr, args.seed),
    }
    sr_dirs: dict[str, Path] = {}
    for m in t.methods:
        key = _sr_key(m, args.seed, args.seed)  # the first SR seed's outputs are scored
        run = Path(t.sr_paths[key]).parent
        sr_dirs[m] = upscale_all(t.sr_paths[key], real_lr, run / "real_sr", device)
        scores = noref_with_ci(sr_dirs[m], args.seed)
        res["methods"][m] = {
            "sr_noref": scores,
            "realism": lr_realism(t.val_lr[m], real_lr, args.seed, str(device)),
        }
        print(f"[{name}] {m}: {json.dumps(_summary(res['methods'][m]))}", flush=True)
    base = res["methods"]["bicubic"]["sr_noref"]
    for m in t.methods:
        res["methods"][m]["vs_bicubic"] = paired_vs(res["methods"][m]["sr_noref"], base, args.seed)
    pic = args.results / f"{args.name or 'quality-' + args.tag}-real-world.png"
    save_picture(real_lr, {k: sr_dirs[k] for k in ["bicubic", *t.gen_paths]}, pic)
    res["picture"] = str(pic.relative_to(ROOT)) if pic.is_relative_to(ROOT) else str(pic)
    return res


def _summary(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: round(entry["sr_noref"][k]["mean"], 3) for k in ("niqe", "brisque")} | {
        "two_sample": entry["realism"]["two_sample_accuracy"]
    }


def markdown(res: dict[str, Any]) -> list[str]:
    """The track's section of the benchmark's Markdown."""

    def ci(e: dict[str, Any]) -> str:
        return f"{e['mean']:.2f} [{e['lo']:.2f}, {e['hi']:.2f}]"

    real = res["real_lr_noref"]
    m0 = next(iter(res["methods"].values()))["realism"]
    lines = [
        "## real-world (real LR photos, no ground truth)",
        "",
        f"{res['n_real']} real photos from `{res['real_dir']}`; their own NIQE {ci(real['niqe'])}, "
        f"BRISQUE {ci(real['brisque'])}. SR outputs: mean over photos [95% bootstrap interval]; "
        '"vs bicubic": the mean paired difference to SR on bicubic pairs [95% paired interval] '
        "(negative = better; an interval containing 0 is no difference). Lower is better for "
        "both metrics.",
        "",
        f"| LR used for SR training | SR NIQE | vs bicubic | SR BRISQUE | vs bicubic | LR noise "
        f"sigma (real {m0['noise_sigma_real']:.2f}) | channel corr (real "
        f"{m0['channel_corr_real']:.3f}) | spectrum dist | 2-sample acc |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m, r in res["methods"].items():
        s, v, z = r["sr_noref"], r["vs_bicubic"], r["realism"]
        acc = z["two_sample_accuracy"]
        lines.append(
            f"| {m} | {ci(s['niqe'])} | {ci(v['niqe']) if m != 'bicubic' else '–'} | "
            f"{ci(s['brisque'])} | {ci(v['brisque']) if m != 'bicubic' else '–'} | "
            f"{z['noise_sigma_gen']:.2f} | {z['channel_corr_gen']:.3f} | "
            f"{z['spectrum_distance']:.3f} | {'n/a' if acc is None else f'{acc:.3f}'} |"
        )
    lines += ["", f"Picture: `{res['picture']}` (real LR x4 nearest | SR per LR method).", ""]
    return lines
