"""Quality benchmark: does DSGAN make realistic LR images, and do they help SR? (the paper's protocol)

For each corruption (Gaussian noise sigma 8, JPEG quality 30) of clean photos:

* real LR test set: corruption(bicubic_x4(val photos)); ground truth: the clean val photos.
* DSGAN, same-domain mode: trained on the corrupted train photos at native resolution.
* DSGAN, unpaired mode: clean HR = first half of the train photos, real LR = corruption(bicubic_x4)
  of the second half (unrelated images).
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
import hashlib
import json
import os
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import yaml

import realworld
from benchlib import ROOT, git_commit, machine
from dsgan.checkpoints.load import load_generator
from dsgan.config.base import load_config
from dsgan.config.dsgan import DSGANConfig
from dsgan.config.presets import load_preset
from dsgan.config.sr import SRConfig
from dsgan.devices import resolve_device
from dsgan.inference.degrade import DegradeOptions, degrade_folder
from dsgan.io.images import list_images, load_image, save_image
from dsgan.metrics.bootstrap import mean_ci, paired_diff_ci
from dsgan.ops.blind import bsrgan_degrade, realesrgan_degrade
from dsgan.ops.corrupt import apply_corruptions
from dsgan.ops.resize import crop_to_multiple, imresize
from dsgan.workflows.runs import train_or_resume

SCALE = 4
MIN_GAP_DB = 0.1  # "gap closed" is reported only when oracle pairs beat bicubic ones by this much
# The paper's two corruptions, then a suite of camera-like ones (docs/RESULTS.md, "Camera
# mixtures"): blur before noise (optics, then sensor); shot_peak = photons at white
# (Poisson-Gaussian noise: std 9 of 255 at mid-grey at 400, 4 at 10% grey), noise_sigma its read
# noise. "clean": no corruption at all; a DSGAN must then learn to change nothing.
CORRUPTIONS: dict[str, dict[str, Any]] = {
    "noise8": {"noise_sigma": 8.0},
    "jpeg30": {"jpeg_quality": 30},
    "clean": {},
    "pg": {"shot_peak": 400.0, "noise_sigma": 2.0},
    "blur-noise": {"blur_sigma": 1.0, "noise_sigma": 6.0, "blur_first": True},
    "noise-jpeg": {"noise_sigma": 6.0, "jpeg_quality": 60},
    "camera": {
        "blur_sigma": 0.8,
        "shot_peak": 400.0,
        "noise_sigma": 2.0,
        "jpeg_quality": 60,
        "blur_first": True,
    },
}
# Blind hand-crafted degradation pipelines (src/dsgan/ops/blind.py): what practitioners use
# instead of learning the degradation; they never see the target photos.
BLIND = {"realesrgan": realesrgan_degrade, "bsrgan": bsrgan_degrade}
SUITE = ["clean", "noise8", "jpeg30", "pg", "blur-noise", "noise-jpeg", "camera"]


def preset_variant(name: str) -> dict[str, Any]:
    """A shipped preset's recipe (model, loss and optimiser sections) as a benchmark variant;
    the budget (iterations, batch, crop) stays the benchmark's."""
    tree = load_preset(name)
    return {k: tree[k] for k in ("model", "loss", "optim") if k in tree}


# DSGAN variants compared. "faithful" is the paper's/seed's networks and losses (no perceptual
# term: no pretrained weights offline); "improved" is ours (see README, "What we changed").
VARIANTS: dict[str, dict[str, Any]] = {
    "faithful": {"model": {"output": "sigmoid", "noise_channels": 0}},
    "improved": {"model": {"output": "highpass", "noise_channels": 3}},
    "residual": {"model": {"output": "residual", "noise_channels": 3}},
    # residual + the JPEG block-grid phase as input (16: 8x8 luma blocks in 16x16 4:2:0
    # macroblocks; see Generator.block_period)
    "blocks": {"model": {"output": "residual", "noise_channels": 3, "block_period": 16}},
    # residual + white noise with a learned per-pixel scale (Generator.noise_injection)
    "inject": {"model": {"output": "residual", "noise_channels": 3, "noise_injection": True}},
    # one change of "balanced" at a time (benchmarks/whiteness_ablation.py)
    "wcol": {"model": {"output": "residual", "noise_channels": 3}, "loss": {"w_col": 0.1}},
    "joint": {"model": {"output": "residual", "noise_channels": 3}, "loss": {"d_batch": "joint"}},
    # residual + colour loss on the mean of G(x, n) and G(x, -n) (loss.color_mean)
    "colormean": {
        "model": {"output": "residual", "noise_channels": 3},
        "loss": {"color_mean": True},
    },
    # residual + colour loss weight 0.1 instead of 1 (at 1 its L1 gradient outweighs the texture
    # loss and pushes G's noise out of the low-pass band: blue noise) + D on reals and fakes in
    # one batch (BatchNorm statistics shared, so D sees the noise level); see README
    "balanced": {
        "model": {"output": "residual", "noise_channels": 3},
        "loss": {"w_col": 0.1, "d_batch": "joint"},
    },
    # balanced + white noise with a learned per-pixel scale (Generator.noise_injection)
    "balanced-inject": {
        "model": {"output": "residual", "noise_channels": 3, "noise_injection": True},
        "loss": {"w_col": 0.1, "d_batch": "joint"},
    },
    # balanced + the JPEG block-grid phase input (Generator.block_period)
    "balanced-blocks": {
        "model": {"output": "residual", "noise_channels": 3, "block_period": 16},
        "loss": {"w_col": 0.1, "d_batch": "joint"},
    },
    # balanced + a JPEG round trip of G's output whose quality is learned (Generator.codec)
    "balanced-jpeg": {
        "model": {"output": "residual", "noise_channels": 3, "codec": "jpeg"},
        "loss": {"w_col": 0.1, "d_batch": "joint"},
    },
    # the shipped presets' model, loss and optimiser sections (src/dsgan/presets/); budget, crop
    # and the perceptual term (off: no weights offline) stay the benchmark's
    "camera": preset_variant("camera"),
    "preset-noise": preset_variant("noise"),
    "preset-jpeg": preset_variant("jpeg"),
    # balanced with a 9x9 instead of 5x5 box: D sees lower frequencies, the colour loss fewer
    "balanced-k9": {
        "model": {"output": "residual", "noise_channels": 3},
        "loss": {"w_col": 0.1, "d_batch": "joint", "kernel_size": 9},
    },
}


@dataclass(frozen=True)
class Budget:
    """Training sizes; ``scale_budget`` multiplies iterations for bigger machines."""

    dsgan_iterations: int = 800
    dsgan_batch: int = 8
    dsgan_crop: int = 32
    sr_iterations: int = 1500
    sr_batch: int = 16
    sr_patch: int = 96
    sr_nb: int = 2
    # 5e-4: at 1,500 iterations the SR network learns to denoise (oracle - bicubic: +1.56 dB on
    # noise sigma 8 measured); at 2e-4 it was +0.43 dB, at 500 iterations +0.05 dB.
    sr_lr: float = 5e-4


def budget_from_args(args: argparse.Namespace) -> Budget:
    base = Budget(150, 8, 32, 150, 8, 64, 2, 2e-4) if args.quick else Budget()
    k = args.scale_budget
    return Budget(
        args.dsgan_iterations or int(base.dsgan_iterations * k),
        args.dsgan_batch or base.dsgan_batch,
        args.dsgan_crop or base.dsgan_crop,
        args.sr_iterations or int(base.sr_iterations * k),
        args.sr_batch or base.sr_batch,
        args.sr_patch or base.sr_patch,
        base.sr_nb,
        args.sr_lr or base.sr_lr,
    )


# ----------------------------------------------------------------------------------- data
def _seeded(name: str, salt: int) -> torch.Generator:
    return torch.Generator().manual_seed(salt * 1_000_003 + zlib.crc32(name.encode()))


def keyed(folder: Path, name: str, settings: Any) -> Path:
    """``folder/name-<hash of settings>``: a cached stage is reused only for the very same settings
    (a run of another budget, data set or code path gets its own directory, never a stale one)."""
    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    return folder / f"{name}-{hashlib.sha256(blob).hexdigest()[:10]}"


def _write_set(files: list[Path], out: Path, fn: Any) -> None:
    if out.is_dir() and len(list(out.glob("*.png"))) == len(files):
        return
    for path in files:
        save_image(fn(path, load_image(path)), out / f"{path.stem}.png")


def prepare_data(data: Path, work: Path, name: str, corruption: dict[str, Any]) -> dict[str, Path]:
    """Clean/corrupted folders for one corruption; returns their paths."""
    train, val = list_images(data / "train"), list_images(data / "val")
    half = len(train) // 2

    def corrupt(p: Path, x: torch.Tensor, salt: int) -> torch.Tensor:
        return apply_corruptions(x, generator=_seeded(p.name, salt), **corruption)

    def down(x: torch.Tensor) -> torch.Tensor:
        return imresize(crop_to_multiple(x, SCALE), 1 / SCALE).clamp(0, 1)

    # keyed by the photos (names and sizes), so another --data never meets this cache
    d = keyed(work, "data", [(f.parent.name, f.name, f.stat().st_size) for f in train + val])
    c = keyed(d, name, corruption)
    sets = {
        "train_hr": d / "train_hr",  # clean HR, cropped to a multiple of the scale
        "val_hr": d / "val_hr",
        # keyed by the corruption's settings: a changed setting never meets a stale cache
        "source": c / "source",  # corrupted train photos, native resolution
        "unpaired_hr": d / "unpaired_hr",  # first half, clean
        "unpaired_lr": c / "unpaired_lr",  # second half, corrupted LR
        "test_lr": c / "test_lr",  # corrupted LR of val: the "real" LR
        "val_oracle_lr": c / "val_oracle_lr",  # another draw of the true corruption
        "oracle_lr": c / "oracle_lr",  # corrupted LR of train
        "bicubic_lr": d / "bicubic_lr",  # bicubic LR of train
        "val_bicubic_lr": d / "val_bicubic_lr",
    }
    _write_set(train, sets["train_hr"], lambda p, x: crop_to_multiple(x, SCALE))
    _write_set(val, sets["val_hr"], lambda p, x: crop_to_multiple(x, SCALE))
    _write_set(train, sets["source"], lambda p, x: corrupt(p, x, 1))
    _write_set(train[:half], sets["unpaired_hr"], lambda p, x: x)
    _write_set(train[half:], sets["unpaired_lr"], lambda p, x: corrupt(p, down(x), 2))
    _write_set(val, sets["test_lr"], lambda p, x: corrupt(p, down(x), 3))
    _write_set(val, sets["val_oracle_lr"], lambda p, x: corrupt(p, down(x), 5))
    _write_set(train, sets["oracle_lr"], lambda p, x: corrupt(p, down(x), 4))
    _write_set(train, sets["bicubic_lr"], lambda p, x: down(x))
    _write_set(val, sets["val_bicubic_lr"], lambda p, x: down(x))
    return sets


# ----------------------------------------------------------------------------------- training
def train_job(job: dict[str, Any]) -> str:
    """Train one DSGAN or SR model (runs in a worker process); returns the generator path.

    A finished run is reused, an interrupted one resumed, so a benchmark rerun picks up where it
    stopped.
    """
    from dsgan.training.dsgan_trainer import DSGANTrainer
    from dsgan.training.sr_trainer import SRTrainer

    config_cls, trainer_cls = {"dsgan": (DSGANConfig, DSGANTrainer), "sr": (SRConfig, SRTrainer)}[
        job["kind"]
    ]
    torch.set_num_threads(job["threads"])
    cfg = load_config(config_cls, overrides=job["overrides"])
    path = train_or_resume(
        job["kind"], Path(job["out"]), lambda resume: trainer_cls(cfg, resume=resume).train(), True
    )
    return str(path)


def dsgan_jobs(
    sets: dict[str, Path], work: Path, name: str, b: Budget, args: argparse.Namespace, threads: int
) -> dict[str, dict[str, Any]]:
    jobs = {}
    for mode in args.modes:
        for variant in args.variants:
            key = f"dsgan-{mode}-{variant}"
            o: dict[str, Any] = {
                "data.hr": str(sets["source"] if mode == "same" else sets["unpaired_hr"]),
                "data.lr": None if mode == "same" else str(sets["unpaired_lr"]),
                "data.scale": SCALE,
                "data.crop": b.dsgan_crop,
                "iterations": b.dsgan_iterations,
                "batch_size": b.dsgan_batch,
                "loss.perceptual": "none",
                "device": args.device,
                "seed": args.seed,
                "log_every": 50,
                "image_every": max(100, b.dsgan_iterations // 4),
                "checkpoint_every": max(100, b.dsgan_iterations // 4),
            }
            for section, values in VARIANTS[variant].items():
                for k, v in values.items():
                    o[f"{section}.{k}"] = v
            o.update(args.dsgan_set)  # an ablation on top of the variant (--dsgan-set)
            o["loss.perceptual"] = "none"  # no pretrained VGG offline (also over a preset's)
            o["out"] = str(keyed(work / name, key, o))
            jobs[key] = {"kind": "dsgan", "out": o["out"], "overrides": o, "threads": threads}
    return jobs


def sr_job(
    lr_dir: Path, hr_dir: Path, folder: Path, b: Budget, args: argparse.Namespace, threads: int
) -> dict[str, Any]:
    """An SR training on (lr_dir, hr_dir) in ``folder``-<hash of its settings>."""
    o = {
        "data.lr": str(lr_dir),
        "data.hr": str(hr_dir),
        "data.scale": SCALE,
        "data.patch": b.sr_patch,
        "model.preset": "small",
        "model.nb": b.sr_nb,
        "loss.gan": False,
        "iterations": b.sr_iterations,
        "batch_size": b.sr_batch,
        "optim.lr": b.sr_lr,
        "optim.milestones": [int(b.sr_iterations * 0.6), int(b.sr_iterations * 0.85)],
        "device": args.device,
        "seed": args.seed,
        "log_every": 50,
        "image_every": b.sr_iterations,
        "checkpoint_every": max(100, b.sr_iterations // 4),
        "val_every": 10 * b.sr_iterations,
    }
    out = keyed(folder.parent, folder.name, o)
    # no moving average of G: at 1,500 iterations BasicSR's 0.999 would lag the training; and
    # outside the key, so the runs made before the EMA existed (the same training) stay cached
    o["ema"] = 0.0
    o["out"] = str(out)
    return {"kind": "sr", "out": str(out), "overrides": o, "threads": threads}


def cached(jobs: dict[str, dict[str, Any]]) -> list[str]:
    """The jobs whose trained model is already in the work directory (reused, not trained)."""
    return [k for k, j in jobs.items() if (Path(j["out"]) / "generator.safetensors").is_file()]


def run_jobs(fn: Any, jobs: dict[str, dict[str, Any]], n: int) -> dict[str, str]:
    if n <= 1:
        return {k: fn(j) for k, j in jobs.items()}
    ctx = torch.multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
        futures = {k: pool.submit(fn, j) for k, j in jobs.items()}
        return {k: f.result() for k, f in futures.items()}


# ----------------------------------------------------------------------------------- evaluation
def load_folder(folder: Path) -> dict[str, torch.Tensor]:
    return {p.stem: load_image(p) for p in list_images(folder)}


def sr_scores(gen_path: str, test_lr: Path, val_hr: Path, device: torch.device) -> dict[str, Any]:
    """PSNR/SSIM (RGB, 8-pixel border) of the SR model on the real corrupted test LR: means and
    the PSNR of each image (``psnr_per_image``, sorted by name)."""
    from dsgan.checkpoints.load import load_sr_model
    from dsgan.metrics.reference import sr_quality

    g = load_sr_model(gen_path)[0].to(device).eval()
    hr = load_folder(val_hr)
    psnrs, ssims = [], []
    with torch.inference_mode():
        for stem, lr in load_folder(test_lr).items():
            sr = g(lr.unsqueeze(0).to(device)).float().clamp(0, 1).cpu()
            p, s = sr_quality(sr, hr[stem].unsqueeze(0), 8, "rgb")
            psnrs.append(p)
            ssims.append(s)
    return {
        "psnr": sum(psnrs) / len(psnrs),
        "ssim": sum(ssims) / len(ssims),
        "psnr_per_image": psnrs,
    }


def realism(
    gen: dict[str, torch.Tensor],
    real: dict[str, torch.Tensor],
    bicubic: dict[str, torch.Tensor],
    seed: int,
    device: str,
) -> dict[str, Any]:
    """Realism of one LR method against the real LR, plus the colour shift from bicubic."""
    from dsgan.metrics.evaluate import EvalOptions, evaluate_images
    from dsgan.ops.filters import LowPass

    stems = sorted(real)
    ev = evaluate_images(
        [gen[s] for s in stems],
        [real[s] for s in stems],
        options=EvalOptions(seed=seed, device=device, noref=False),
    )
    low = LowPass("box", 5)
    shift = torch.stack([(gen[s] - bicubic[s]).mean((1, 2)) for s in stems]).mean(0) * 255
    lowdiff = (
        torch.stack(
            [(low(gen[s][None]) - low(bicubic[s][None])).abs().mean() for s in stems]
        ).mean()
        * 255
    )
    ts = ev.get("two_sample") or {}
    return {
        "noise_sigma_gen": ev["noise"]["gen"],
        "noise_sigma_real": ev["noise"]["real"],
        "channel_corr_gen": ev["channel_corr"]["gen"]["mean"],
        "channel_corr_real": ev["channel_corr"]["real"]["mean"],
        "spectrum_distance": ev["spectrum"]["l1"],
        "blockiness_gen": (ev.get("blocking") or {}).get("gen"),
        "blockiness_real": (ev.get("blocking") or {}).get("real"),
        "two_sample_accuracy": ts.get("accuracy"),
        "fid": (ev.get("fidelity") or {}).get("fid"),
        "kid": (ev.get("fidelity") or {}).get("kid_mean"),
        "colour_shift_rgb": [round(float(v), 3) for v in shift],
        "lowpass_mad_vs_bicubic": float(lowdiff),
        "skipped": ev.get("skipped", {}),
    }


def lr_set(
    method: str,
    split: str,
    gen_paths: dict[str, str],
    sets: dict[str, Path],
    device: torch.device,
) -> Path:
    """Folder of the LR images ``method`` makes of the ``split`` (``train`` or ``val``) photos."""
    fixed = {
        ("bicubic", "train"): "bicubic_lr",
        ("oracle", "train"): "oracle_lr",
        ("bicubic", "val"): "val_bicubic_lr",
        ("oracle", "val"): "val_oracle_lr",
    }
    if (method, split) in fixed:
        return sets[fixed[method, split]]
    if method in BLIND:  # one draw of the blind pipeline per photo, the same for every corruption
        out = sets[f"{split}_hr"].parent / f"{method}_{split}_lr"
        salt = 21 if split == "train" else 23
        _write_set(
            list_images(sets[f"{split}_hr"]),
            out,
            lambda p, x: BLIND[method](x, SCALE, generator=_seeded(p.name, salt)),
        )
        return out
    out = Path(gen_paths[method]).parent / f"{split}_lr"  # inside the generator's run
    g, _ = load_generator(gen_paths[method])
    seed = 11 if split == "train" else 7
    opts = DegradeOptions(scale=SCALE, layout="lr", workers=0, seed=seed)
    degrade_folder(g, sets[f"{split}_hr"], out, opts, device)
    return out


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


def learned_quality(gen_path: str) -> float | None:
    """The JPEG quality a DSGAN generator's codec learned, or None without a codec."""
    from dsgan.checkpoints.load import load_generator

    g, _ = load_generator(gen_path)
    return None if g.codec is None else float(g.codec.quality)


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
            # share of the bicubic -> oracle PSNR gap; meaningless unless the oracle clearly wins
            gap = f"{(r['sr']['psnr'] - lo) / (hi - lo):.0%}" if hi - lo >= MIN_GAP_DB else "n/a"
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


# ----------------------------------------------------------------------------------- main
def _sr_key(method: str, seed: int, first: int) -> str:
    """The job name of one SR training: the method, with the seed unless it is the first."""
    return method if seed == first else f"{method}@seed{seed}"


@dataclass
class Trained:
    """What :func:`train_all` trained for one track: DSGAN generators, LR folders, SR models."""

    methods: list[str]
    gen_paths: dict[str, str]
    val_lr: dict[str, Path]
    sr_paths: dict[str, str]
    seeds: list[int]
    trainings: int
    reused: list[str]


def train_all(
    name: str,
    sets: dict[str, Path],
    fixed: list[str],
    args: argparse.Namespace,
    b: Budget,
    work: Path,
    device: torch.device,
) -> Trained:
    """Train (or find cached) the DSGAN variants of one track, make every LR method's train and
    val sets, and train the SR model on each method's pairs; ``fixed``: the methods besides the
    blind baselines and the DSGANs (``bicubic``, and ``oracle`` where there is a truth)."""
    threads = args.threads or max(1, (os.cpu_count() or 1) // max(1, args.jobs))
    d_jobs = dsgan_jobs(sets, work, name, b, args, threads)
    reused = cached(d_jobs)
    gen_paths = run_jobs(train_job, d_jobs, args.jobs)
    methods = [*fixed, *args.baselines, *gen_paths]
    train_lr = {m: lr_set(m, "train", gen_paths, sets, device) for m in methods}
    val_lr = {m: lr_set(m, "val", gen_paths, sets, device) for m in methods}
    # SR seeds args.seed, args.seed + 1, ...: the SR figure moves by ~0.2 dB with the SR seed
    # alone (benchmarks/results/sr-seed-spread-*.md), so rows are compared on the mean
    seeds = [args.seed + k for k in range(args.sr_seeds)]
    sr_jobs = {
        # in one folder for all tracks: keyed by their settings, runs that do not depend on the
        # corruption (bicubic pairs) are trained once and shared
        _sr_key(m, seed, args.seed): sr_job(
            train_lr[m],
            sets["train_hr"],
            work / "sr" / f"sr-{m}",
            b,
            argparse.Namespace(**{**vars(args), "seed": seed}),
            threads,
        )
        for m in methods
        for seed in seeds
    }
    reused += [f"sr-{k}" for k in cached(sr_jobs)]
    sr_paths = run_jobs(train_job, sr_jobs, args.jobs)
    return Trained(methods, gen_paths, val_lr, sr_paths, seeds, len(d_jobs) + len(sr_jobs), reused)


def run_corruption(
    name: str, args: argparse.Namespace, b: Budget, work: Path, device: torch.device
) -> dict[str, Any]:
    sets = prepare_data(args.data, work, name, CORRUPTIONS[name])
    t = train_all(name, sets, ["bicubic", "oracle"], args, b, work, device)
    real = load_folder(sets["test_lr"])
    bicubic = load_folder(sets["val_bicubic_lr"])
    res: dict[str, Any] = {"methods": {}, "trainings": t.trainings, "reused": t.reused}
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
        if m in t.gen_paths:  # the JPEG quality a codec variant learned (model.codec: jpeg)
            res["methods"][m]["learned_quality"] = learned_quality(t.gen_paths[m])
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
        choices=[*CORRUPTIONS, "suite"],
        help="corruptions to run (default: the paper's two); suite: " + ", ".join(SUITE),
    )
    p.add_argument("--modes", nargs="+", default=["same", "unpaired"], choices=["same", "unpaired"])
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
    if "suite" in args.corruptions:
        args.corruptions = SUITE
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
    subset = (
        ""
        if paper
        else "-suite"
        if args.corruptions == SUITE
        else "-" + "-".join([*args.corruptions, *(["real-world"] if args.real_world else [])])
    )
    out = args.results / (args.name or f"quality-{args.tag}{subset}")
    # not with_suffix: a stem may hold dots
    (args.results / f"{out.name}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    write_markdown(result, args.results / f"{out.name}.md")
    print(f"wrote {out}.json and .md in {result['wall_s'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
