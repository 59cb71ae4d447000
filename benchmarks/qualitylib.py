"""The quality benchmark's machinery, shared by its tracks and the scripts built on it: the
corruptions and DSGAN variants, training budgets, cached data sets, DSGAN and SR training jobs, the
LR sets each method makes, and SR scoring (``benchmarks/quality.py`` is the command; its docstring
describes the protocol)."""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dsgan.checkpoints.load import load_generator
from dsgan.config.base import load_config
from dsgan.config.dsgan import DSGANConfig
from dsgan.config.presets import load_preset
from dsgan.config.sr import SRConfig
from dsgan.inference.degrade import DegradeOptions, degrade_folder
from dsgan.io.images import list_images, load_image, save_image
from dsgan.ops.blind import bsrgan_degrade, realesrgan_degrade
from dsgan.ops.corrupt import apply_corruptions
from dsgan.ops.resize import crop_to_multiple, imresize
from dsgan.training.dsgan_trainer import stage_values
from dsgan.workflows.runs import train_or_resume

SCALE = 4
MIN_GAP_DB = 0.1  # "gap closed" is reported only when oracle pairs beat bicubic ones by this much


def gap_closed(psnr: float, bicubic: float, oracle: float) -> float | None:
    """Share of the bicubic-to-oracle SR PSNR gap (dB) that ``psnr`` closes; None where the
    oracle does not beat bicubic by ``MIN_GAP_DB`` (the share would be meaningless)."""
    span = oracle - bicubic
    return (psnr - bicubic) / span if span >= MIN_GAP_DB else None


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
# Held out: three kinds of real LR the suite lacks, fixed at 2026-11-30 before any run of them and
# never used to choose or tune a recipe (docs/RESULTS.md, "Held-out corruptions"). Spatially
# correlated noise (the authors' order: the blur after the noise, as demosaicing or in-camera
# denoising leave it); low light: strong signal-dependent noise (std 15 of 255 at mid-grey) under a
# light JPEG; a web image: blur and a mid JPEG, no noise at all.
CORRUPTIONS |= {
    "corr-noise": {"noise_sigma": 12.0, "blur_sigma": 0.6},
    "lowlight": {
        "blur_sigma": 0.6,
        "shot_peak": 150.0,
        "noise_sigma": 4.0,
        "jpeg_quality": 80,
        "blur_first": True,
    },
    "blur-jpeg": {"blur_sigma": 1.2, "jpeg_quality": 50},
}
HELDOUT = ["corr-noise", "lowlight", "blur-jpeg"]
SETS = {"suite": SUITE, "heldout": HELDOUT}  # named lists for --corruptions and suite_summary
SETS_HELP = "; ".join(f"{k}: {', '.join(v)}" for k, v in SETS.items())  # for --help texts


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


def _down(x: torch.Tensor) -> torch.Tensor:
    """(3, H, W) -> bicubic x1/SCALE of its crop to a multiple of SCALE, in [0, 1]."""
    return imresize(crop_to_multiple(x, SCALE), 1 / SCALE).clamp(0, 1)


UNPAIRED_SPLITS = ("interleaved", "halves")


def unpaired_split(train: list[Path], split: str) -> tuple[list[Path], list[Path]]:
    """The unpaired mode's two disjoint halves of the (name-sorted) train photos: clean HR for G,
    and the photos whose corrupted LR is the "real" domain.

    ``interleaved`` (default): every other photo, so both halves draw from every source of the set.
    ``halves``: first half / second half, as before; with photos sorted by name it splits by source
    (on the benchmark's 45 photos: the wallpapers for G, the textured photos of bark, rocks and moss
    as the real domain, 2.5x the high-frequency energy), so D can tell real from fake by content.
    """
    if split == "interleaved":
        return train[0::2], train[1::2]
    if split == "halves":
        half = len(train) // 2
        return train[:half], train[half:]
    raise ValueError(f"unpaired split {split!r}: use one of {', '.join(UNPAIRED_SPLITS)}")


@functools.cache
def split_content(data: Path, split: str) -> dict[str, Any]:
    """How alike in content the two unpaired halves are: the mean Immerkaer noise estimate of each
    half's clean bicubic LR (grey levels of 255; on clean images it measures fine texture, which is
    what D could tell the halves apart by when they differ)."""
    from dsgan.metrics.noise import noise_sigma

    clean_half, real_half = unpaired_split(list_images(data / "train"), split)

    def texture(files: list[Path]) -> float:
        vals = [noise_sigma(_down(load_image(f))) for f in files]
        return sum(vals) / len(vals)

    return {
        "split": split,
        "texture_g_half": texture(clean_half),
        "texture_real_half": texture(real_half),
    }


def prepare_data(
    data: Path, work: Path, name: str, corruption: dict[str, Any], split: str = "interleaved"
) -> dict[str, Path]:
    """Clean/corrupted folders for one corruption; returns their paths. ``split``: how the unpaired
    mode divides the train photos (:func:`unpaired_split`)."""
    train, val = list_images(data / "train"), list_images(data / "val")
    clean_half, real_half = unpaired_split(train, split)
    # the "halves" folders keep their old names, so runs made before the split option still match
    tail = "" if split == "halves" else f"-{split}"

    def corrupt(p: Path, x: torch.Tensor, salt: int) -> torch.Tensor:
        return apply_corruptions(x, generator=_seeded(p.name, salt), **corruption)

    # keyed by the photos (names and sizes), so another --data never meets this cache
    d = keyed(work, "data", [(f.parent.name, f.name, f.stat().st_size) for f in train + val])
    c = keyed(d, name, corruption)
    sets = {
        "train_hr": d / "train_hr",  # clean HR, cropped to a multiple of the scale
        "val_hr": d / "val_hr",
        # keyed by the corruption's settings: a changed setting never meets a stale cache
        "source": c / "source",  # corrupted train photos, native resolution
        "unpaired_hr": d / f"unpaired_hr{tail}",  # one half, clean
        "unpaired_lr": c / f"unpaired_lr{tail}",  # the other half, corrupted LR
        "test_lr": c / "test_lr",  # corrupted LR of val: the "real" LR
        "val_oracle_lr": c / "val_oracle_lr",  # another draw of the true corruption
        "oracle_lr": c / "oracle_lr",  # corrupted LR of train
        "bicubic_lr": d / "bicubic_lr",  # bicubic LR of train
        "val_bicubic_lr": d / "val_bicubic_lr",
    }
    _write_set(train, sets["train_hr"], lambda p, x: crop_to_multiple(x, SCALE))
    _write_set(val, sets["val_hr"], lambda p, x: crop_to_multiple(x, SCALE))
    _write_set(train, sets["source"], lambda p, x: corrupt(p, x, 1))
    _write_set(clean_half, sets["unpaired_hr"], lambda p, x: x)
    _write_set(real_half, sets["unpaired_lr"], lambda p, x: corrupt(p, _down(x), 2))
    _write_set(val, sets["test_lr"], lambda p, x: corrupt(p, _down(x), 3))
    _write_set(val, sets["val_oracle_lr"], lambda p, x: corrupt(p, _down(x), 5))
    _write_set(train, sets["oracle_lr"], lambda p, x: corrupt(p, _down(x), 4))
    _write_set(train, sets["bicubic_lr"], lambda p, x: _down(x))
    _write_set(val, sets["val_bicubic_lr"], lambda p, x: _down(x))
    return sets


# ----------------------------------------------------------------------------------- training
def train_job(job: dict[str, Any]) -> str:
    """Train one DSGAN or SR model (runs in a worker process); returns the generator path.

    A finished run is reused, an interrupted one resumed, so a benchmark rerun picks up where it
    stopped. A run another benchmark process is training (two runs over different corruptions
    share the bicubic and blind-pipeline SR trainings) is waited for, then reused.
    """
    from dsgan.training.dsgan_trainer import DSGANTrainer
    from dsgan.training.runlock import RunInUse, wait_until_free
    from dsgan.training.sr_trainer import SRTrainer

    config_cls, trainer_cls = {"dsgan": (DSGANConfig, DSGANTrainer), "sr": (SRConfig, SRTrainer)}[
        job["kind"]
    ]
    torch.set_num_threads(job["threads"])
    cfg = load_config(config_cls, overrides=job["overrides"])
    out = Path(job["out"])
    while True:
        try:
            path = train_or_resume(
                job["kind"], out, lambda resume: trainer_cls(cfg, resume=resume).train(), quiet=True
            )
            return str(path)
        except RunInUse as exc:
            print(f"[{job['kind']}] {exc}: waiting for it, then reusing its result", flush=True)
            wait_until_free(out)


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


def distribution_stats(
    gen: list[torch.Tensor], real: list[torch.Tensor], seed: int, device: str
) -> dict[str, Any]:
    """How an LR set compares to the real LR (``dsgan evaluate``'s distribution metrics): noise,
    channel correlation, spectrum distance, blockiness, two-sample accuracy, FID/KID."""
    from dsgan.metrics.evaluate import EvalOptions, evaluate_images

    ev = evaluate_images(gen, real, options=EvalOptions(seed=seed, device=device, noref=False))
    return {
        "noise_sigma_gen": ev["noise"]["gen"],
        "noise_sigma_real": ev["noise"]["real"],
        "channel_corr_gen": ev["channel_corr"]["gen"]["mean"],
        "channel_corr_real": ev["channel_corr"]["real"]["mean"],
        "spectrum_distance": ev["spectrum"]["l1"],
        "blockiness_gen": (ev.get("blocking") or {}).get("gen"),
        "blockiness_real": (ev.get("blocking") or {}).get("real"),
        "two_sample_accuracy": (ev.get("two_sample") or {}).get("accuracy"),
        "fid": (ev.get("fidelity") or {}).get("fid"),
        "kid": (ev.get("fidelity") or {}).get("kid_mean"),
        "skipped": ev.get("skipped", {}),
    }


def realism(
    gen: dict[str, torch.Tensor],
    real: dict[str, torch.Tensor],
    bicubic: dict[str, torch.Tensor],
    seed: int,
    device: str,
) -> dict[str, Any]:
    """Realism of one LR method against the real LR (same photos, matched by stem), plus the
    colour shift from bicubic."""
    from dsgan.ops.filters import LowPass

    stems = sorted(real)
    stats = distribution_stats([gen[s] for s in stems], [real[s] for s in stems], seed, device)
    low = LowPass("box", 5)
    shift = torch.stack([(gen[s] - bicubic[s]).mean((1, 2)) for s in stems]).mean(0) * 255
    lowdiff = (
        torch.stack(
            [(low(gen[s][None]) - low(bicubic[s][None])).abs().mean() for s in stems]
        ).mean()
        * 255
    )
    return stats | {
        "colour_shift_rgb": [round(float(v), 3) for v in shift],
        "lowpass_mad_vs_bicubic": float(lowdiff),
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


def learned_stages(gen_path: str) -> dict[str, float]:
    """What a DSGAN generator's physical stages learned (``stage_values``: ``quality`` and
    ``gate`` of the codec, ``noise_mid``: sensor noise std at mid-grey, 0..255; ``blur_sigma``),
    only those it has."""
    g, _ = load_generator(gen_path)
    return {k.split("/")[1]: float(v) for k, v in stage_values(g).items()}


def run_health(gen_path: str) -> list[dict[str, Any]] | None:
    """The episodes of the run's ``health.json`` (empty: healthy), None if it has none.
    ``gen_path``: the run's ``generator.safetensors``, as ``train_all`` records it."""
    path = Path(gen_path).parent / "health.json"
    if not path.is_file():
        return None
    return list(json.loads(path.read_text("utf-8"))["episodes"])


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
