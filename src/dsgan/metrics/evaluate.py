"""Folders (or lists of images) -> one dict of metrics.

Metrics that need no pretrained weights always run: the no-reference quality scores NIQE and
BRISQUE of each set (with bootstrap intervals over images), and, when a real set is given, noise
level, cross-channel residual correlation, blocking (JPEG-style grid steps), high-frequency
spectrum distance and a classifier two-sample test; with ground truth, PSNR / SSIM / colour PSNR
(per image too, with a bootstrap interval of the mean). FID/KID need the Inception
weights and LPIPS the AlexNet weights: with ``"auto"`` they are computed when the weights are found
and otherwise reported as ``None`` with the reason in ``result["skipped"]``; with ``"require"``
missing weights raise a ``UserError``; a weight file given explicitly must be valid. Nothing falls
back to random weights.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from dsgan.errors import UserError
from dsgan.io.images import list_images, load_image
from dsgan.metrics import (
    blocking,
    bootstrap,
    inception,
    noise,
    noref,
    reference,
    spectrum,
    two_sample,
)
from dsgan.metrics import fid as fid_mod

log = logging.getLogger(__name__)

Mode = Literal["auto", "require", "off"]
RESULT_VERSION = 2
NO_REAL = "no real image set given"


@dataclass(frozen=True)
class EvalOptions:
    """Settings of :func:`evaluate_images` / :func:`evaluate_folders` (defaults = the CLI's)."""

    fid: Mode = "auto"
    inception_weights: str | Path | None = None
    kid_subset_size: int = 1000
    kid_subsets: int = 100
    batch_size: int = 16
    noise_method: noise.NoiseMethod = "immerkaer"
    spectrum_bins: int = 64
    spectrum_band: tuple[float, float] = (0.25, 0.5)
    block_period: int = 8
    two_sample: bool = True
    ts_patch_size: int = 32
    ts_train_patches: int = 2048
    ts_test_patches: int = 512
    ts_iterations: int = 300
    ts_folds: int = 4
    lpips: Mode = "auto"
    lpips_weights: str | Path | None = None
    y_channel: bool = False
    crop_border: int = 0
    noref: bool = True
    seed: int = 0
    device: str = "cpu"


def load_folder(
    folder: str | Path, max_images: int | None = None
) -> tuple[list[Path], list[torch.Tensor]]:
    """Image files of ``folder`` (sorted, the first ``max_images``) and their (3, H, W) [0, 1] tensors."""
    files = list_images(folder)
    if max_images is not None:
        files = files[:max_images]
    return files, [load_image(p) for p in files]


def match_by_stem(gen_files: Sequence[Path], gt_folder: str | Path) -> tuple[list[int], list[Path]]:
    """Indices of ``gen_files`` that have a ground-truth file with the same stem, and those files.

    Raises:
        UserError: a stem present twice in ``gt_folder`` or no match at all.
    """
    by_stem: dict[str, Path] = {}
    for p in list_images(gt_folder):
        if p.stem in by_stem:
            raise UserError(
                f"{gt_folder}: two ground-truth files named {p.stem!r} ({by_stem[p.stem].name}, {p.name})"
            )
        by_stem[p.stem] = p
    idx = [i for i, p in enumerate(gen_files) if p.stem in by_stem]
    if not idx:
        raise UserError(
            f"{gt_folder}: no ground-truth file has the name (stem) of an image in the generated folder"
        )
    return idx, [by_stem[gen_files[i].stem] for i in idx]


def _missing(name: str, option: str) -> str:
    from dsgan.weights import KNOWN_WEIGHTS, hub_checkpoint_dir

    filename = KNOWN_WEIGHTS[name].rsplit("/", 1)[-1]
    return f"weights not found: put {filename} in {hub_checkpoint_dir()} or pass {option}"


def _fidelity(
    gen: Sequence[torch.Tensor],
    real: Sequence[torch.Tensor],
    opt: EvalOptions,
    device: torch.device,
    skipped: dict[str, str],
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "fid": None,
        "kid_mean": None,
        "kid_std": None,
        "kid_subset_size": None,
        "kid_subsets": None,
        "weights": None,
    }
    if opt.fid == "off":
        skipped["fid"] = skipped["kid"] = "disabled"
        return out
    if min(len(gen), len(real)) < 2:
        if opt.fid == "require":
            raise UserError("FID/KID need at least 2 images in each folder")
        skipped["fid"] = skipped["kid"] = "FID/KID need at least 2 images in each folder"
        return out
    try:
        path = inception.inception_weights_path(opt.inception_weights)
    except UserError as exc:
        if opt.fid == "require" or opt.inception_weights is not None:
            raise
        log.debug("Inception weights: %s", exc)
        skipped["fid"] = skipped["kid"] = _missing("inception_fid", "--inception-weights")
        return out
    model = inception.load_inception(path)
    fg = inception.inception_features(gen, model, opt.batch_size, device)
    fr = inception.inception_features(real, model, opt.batch_size, device)
    kid = fid_mod.kid_from_features(fg, fr, opt.kid_subset_size, opt.kid_subsets, opt.seed)
    out.update(
        fid=fid_mod.fid_from_features(fg, fr),
        kid_mean=kid.mean,
        kid_std=kid.std,
        kid_subset_size=kid.subset_size,
        kid_subsets=kid.subsets,
        weights=str(path),
    )
    if kid.subset_size < 50:
        out["note"] = f"small sets: KID over subsets of {kid.subset_size}, FID biased upward"
    return out


def _reference(
    gen: Sequence[torch.Tensor],
    gt: Sequence[torch.Tensor],
    opt: EvalOptions,
    device: torch.device,
    skipped: dict[str, str],
    names: Sequence[str] | None,
) -> dict[str, Any]:
    psnrs, ssims, cpsnrs = [], [], []
    for i, (g, t) in enumerate(zip(gen, gt, strict=True)):
        if g.shape != t.shape:
            name = names[i] if names else f"image {i}"
            raise UserError(
                f"{name}: generated image is {tuple(g.shape[1:])} but its ground truth is "
                f"{tuple(t.shape[1:])}; sizes must match"
            )
        a = reference.prepare(g, opt.y_channel, opt.crop_border)
        b = reference.prepare(t, opt.y_channel, opt.crop_border)
        psnrs.append(reference.psnr(a, b))
        ssims.append(reference.ssim(a, b) if min(a.shape[-2:]) >= 11 else math.nan)
        cpsnrs.append(reference.color_psnr(a, b))
    out: dict[str, Any] = {
        "n_pairs": len(psnrs),
        "psnr": sum(psnrs) / len(psnrs),
        "psnr_ci": bootstrap.mean_ci(psnrs, seed=opt.seed).as_dict(),
        "psnr_per_image": psnrs,
        "ssim_per_image": ssims,
        "ssim": sum(ssims) / len(ssims),
        "color_psnr": sum(cpsnrs) / len(cpsnrs),
        "lpips": None,
        "y_channel": opt.y_channel,
        "crop_border": opt.crop_border,
    }
    if opt.lpips == "off":
        skipped["lpips"] = "disabled"
        return out
    try:
        model = reference.load_lpips(opt.lpips_weights)
    except UserError as exc:
        if opt.lpips == "require" or opt.lpips_weights is not None:
            raise
        log.debug("LPIPS weights: %s", exc)
        skipped["lpips"] = _missing("alexnet", "--lpips-weights")
        return out
    model = model.to(device)
    vals = [
        reference.lpips_distance(
            reference.prepare(g, False, opt.crop_border).float(),
            reference.prepare(t, False, opt.crop_border).float(),
            model,
        )
        for g, t in zip(gen, gt, strict=True)
    ]
    out["lpips"] = sum(vals) / len(vals)
    return out


def no_reference_scores(
    images: Sequence[torch.Tensor], seed: int = 0, names: Sequence[str] | None = None
) -> dict[str, Any]:
    """NIQE and BRISQUE of each image, their means and bootstrap intervals over images.

    Returns:
        ``{"niqe": {mean, lo, hi, n, level, per_image, direction}, "brisque": {...}}``;
        images under NIQE's 96x96 px patch get ``None`` in its ``per_image`` and are left out of
        its mean (``n`` counts the rest).
    """
    out: dict[str, Any] = {}
    for metric in ("niqe", "brisque"):
        side = noref.MIN_SIDE[metric]
        per_image = [
            noref.SCORERS[metric](im) if min(im.shape[-2:]) >= side else None for im in images
        ]
        ci = bootstrap.mean_ci([v for v in per_image if v is not None], seed=seed)
        out[metric] = ci.as_dict() | {
            "per_image": per_image,
            "names": list(names) if names else None,
            "direction": noref.DIRECTION[metric],
            "min_side": side,
        }
    return out


def evaluate_images(
    gen: Sequence[torch.Tensor],
    real: Sequence[torch.Tensor] | None,
    gt: Sequence[torch.Tensor] | None = None,
    options: EvalOptions | None = None,
    inputs: dict[str, Any] | None = None,
    gt_index: Sequence[int] | None = None,
    names: Sequence[str] | None = None,
    real_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """All metrics between in-memory image sets.

    Args:
        gen: generated images, (3, H, W) float tensors in [0, 1] (sizes may differ).
        real: reference (target-domain) images, same format; need not be paired with ``gen``.
            None: only the no-reference scores of ``gen`` (and the reference metrics with ``gt``).
        gt: optional ground truth for the reference metrics, same sizes as the generated images it
            pairs with: ``gen`` element by element, or ``gen[gt_index[k]]`` for ``gt[k]``.
        options: :class:`EvalOptions` (defaults when None).
        inputs: extra entries for ``result["inputs"]`` (e.g. folder paths).
        gt_index: which generated image each ground truth pairs with (default: all, in order).
        names, real_names: names of the images, for error messages and per-image scores.

    Returns:
        JSON-able dict (``inf`` possible for PSNR of identical images) with sections ``inputs``,
        ``no_reference`` (gen/real: niqe and brisque with mean, bootstrap lo/hi, per_image) or None,
        ``fidelity`` (fid, kid_mean, kid_std, ...), ``noise`` (gen, real, diff in 0..255 units),
        ``channel_corr`` (gen/real: rg, rb, gb, mean), ``blocking`` (gen, real, period), ``spectrum``
        (l1, l2, high_band_diff, band, freqs, gen, real), ``two_sample`` (accuracy, p_value, ...),
        ``reference`` (psnr, psnr_ci, psnr_per_image, ssim, color_psnr, lpips, n_pairs), each None
        when not computed, ``skipped`` {metric: reason} and ``notes``.
    """
    from dsgan.devices import resolve_device

    opt = options or EvalOptions()
    if not gen or (real is not None and not real):
        raise UserError("each image set given must hold at least one image")
    if gt is not None and gt_index is None and len(gt) != len(gen):
        raise UserError(f"ground truth has {len(gt)} images but the generated set {len(gen)}")
    if gt is not None and gt_index is not None and len(gt_index) != len(gt):
        raise ValueError("gt_index must have one entry per ground-truth image")
    device = resolve_device(opt.device)
    skipped: dict[str, str] = {}
    notes: list[str] = []
    result: dict[str, Any] = {
        "version": RESULT_VERSION,
        "inputs": {
            **(inputs or {}),
            "n_gen": len(gen),
            "n_real": len(real) if real is not None else 0,
            "n_pairs": len(gt) if gt is not None else 0,
        },
    }
    if opt.noref:
        log.info("NIQE / BRISQUE ...")
        nr = {
            "gen": no_reference_scores(gen, opt.seed, names),
            "real": no_reference_scores(real, opt.seed, real_names) if real is not None else None,
        }
        result["no_reference"] = nr
        niqe_scores = [v for side in nr.values() if side for v in side["niqe"]["per_image"]]
        if None in niqe_scores:  # no_reference_scores leaves out what is under one NIQE patch
            notes.append(
                f"NIQE leaves out images under {noref.NIQE_PATCH}x{noref.NIQE_PATCH} px (its patch)"
            )
    else:
        result["no_reference"] = None
        skipped["no_reference"] = "disabled"
    if real is not None:
        _distribution(result, gen, real, opt, device, skipped, notes)
    else:
        for key in ("fidelity", "noise", "channel_corr", "blocking", "spectrum", "two_sample"):
            result[key] = None
        skipped["distribution"] = NO_REAL

    if gt is not None:
        log.info("reference metrics ...")
        index = list(gt_index) if gt_index is not None else list(range(len(gt)))
        result["reference"] = _reference(
            [gen[i] for i in index],
            gt,
            opt,
            device,
            skipped,
            [names[i] for i in index] if names else None,
        )
    else:
        result["reference"] = None
    result["skipped"] = skipped
    result["notes"] = notes
    return result


def _distribution(
    result: dict[str, Any],
    gen: Sequence[torch.Tensor],
    real: Sequence[torch.Tensor],
    opt: EvalOptions,
    device: torch.device,
    skipped: dict[str, str],
    notes: list[str],
) -> None:
    """The generated-vs-real sections of :func:`evaluate_images`, written into ``result``."""
    log.info("FID/KID ...")
    result["fidelity"] = _fidelity(gen, real, opt, device, skipped)
    if result["fidelity"].get("note"):
        notes.append(result["fidelity"].pop("note"))

    log.info("noise and channel statistics ...")
    ng = noise.mean_noise_sigma(gen, opt.noise_method)
    nr = noise.mean_noise_sigma(real, opt.noise_method)
    result["noise"] = {
        "gen": ng,
        "real": nr,
        "diff": ng - nr,
        "method": opt.noise_method,
        "units": "0..255",
    }
    result["channel_corr"] = {
        "gen": noise.mean_channel_correlation(gen),
        "real": noise.mean_channel_correlation(real),
    }

    small = min(min(im.shape[-2:]) for im in [*gen, *real])
    need = blocking.min_side(opt.block_period)
    if small >= need:
        result["blocking"] = {
            "gen": blocking.mean_blockiness(gen, opt.block_period),
            "real": blocking.mean_blockiness(real, opt.block_period),
            "period": opt.block_period,
        }
    else:
        result["blocking"] = None
        skipped["blocking"] = f"an image side is {small} px, under the {need} px it needs"

    log.info("spectra ...")
    spec = spectrum.compare_spectra(gen, real, opt.spectrum_bins, opt.spectrum_band)
    result["spectrum"] = asdict(spec) | {"band": list(spec.band)}

    if not opt.two_sample:
        result["two_sample"] = None
        skipped["two_sample"] = "disabled"
        return
    log.info("two-sample classifier ...")
    ts = two_sample.two_sample_test(
        gen,
        real,
        patch_size=opt.ts_patch_size,
        train_patches=opt.ts_train_patches,
        test_patches=opt.ts_test_patches,
        iterations=opt.ts_iterations,
        folds=opt.ts_folds,
        seed=opt.seed,
        device=device,
    )
    result["two_sample"] = asdict(ts) | {
        "patch_size": opt.ts_patch_size,
        "iterations": opt.ts_iterations,
    }
    if ts.split == "patches":
        notes.append(
            "two-sample test: fewer than 2 images in a set, so train and test patches "
            "come from the same images (accuracy is optimistic)"
        )


@dataclass
class LoadedSets:
    """Decoded folders: generated, real, and ground truth paired with ``gen[gt_index[k]]``."""

    gen_files: list[Path]
    gen: list[torch.Tensor]
    real_files: list[Path]
    real: list[torch.Tensor] | None
    gt: list[torch.Tensor] | None
    gt_index: list[int] | None
    inputs: dict[str, Any]
    notes: list[str]


def load_sets(
    gen_dir: str | Path,
    real_dir: str | Path | None,
    gt_dir: str | Path | None = None,
    max_images: int | None = None,
) -> LoadedSets:
    """Decode the folders of :func:`evaluate_folders` (ground truth matched by file stem)."""
    gen_files, gen = load_folder(gen_dir, max_images)
    real_files: list[Path] = []
    real = None
    if real_dir is not None:
        real_files, real = load_folder(real_dir, max_images)
    inputs: dict[str, Any] = {
        "gen_dir": str(gen_dir),
        "real_dir": str(real_dir) if real_dir is not None else None,
        "gt_dir": str(gt_dir) if gt_dir is not None else None,
    }
    notes: list[str] = []
    gt = idx = None
    if gt_dir is not None:
        idx, gt_files = match_by_stem(gen_files, gt_dir)
        if len(idx) < len(gen_files):
            notes.append(
                f"reference metrics on {len(idx)} of {len(gen_files)} generated images "
                "(the others have no ground truth of the same name)"
            )
        gt = [load_image(p) for p in gt_files]
    return LoadedSets(gen_files, gen, real_files, real, gt, idx, inputs, notes)


def evaluate_loaded(sets: LoadedSets, options: EvalOptions | None = None) -> dict[str, Any]:
    """:func:`evaluate_images` on :func:`load_sets` output."""
    result = evaluate_images(
        sets.gen,
        sets.real,
        sets.gt,
        options,
        inputs=sets.inputs,
        gt_index=sets.gt_index,
        names=[p.name for p in sets.gen_files],
        real_names=[p.name for p in sets.real_files],
    )
    result["notes"].extend(sets.notes)
    return result


def evaluate_folders(
    gen_dir: str | Path,
    real_dir: str | Path | None,
    gt_dir: str | Path | None = None,
    options: EvalOptions | None = None,
    max_images: int | None = None,
) -> dict[str, Any]:
    """All metrics between two image folders (and optional ground truth matched by file stem).

    Args:
        gen_dir: generated images (e.g. DSGAN output, or SR output when ``gt_dir`` is given).
        real_dir: real images of the target domain (unpaired); None: no-reference scores (and
            the reference metrics with ``gt_dir``) only.
        gt_dir: ground truth for ``gen_dir``, matched by file stem (``a.png`` <-> ``a.jpg``);
            generated images without a match are left out of the reference metrics (see notes).
        options: :class:`EvalOptions`.
        max_images: use only the first N images (sorted by name) of each folder.

    Returns:
        the dict of :func:`evaluate_images`, with folder paths in ``inputs``.

    Raises:
        UserError: missing/empty folders, unreadable images, size mismatches with ground truth,
            missing weights when required or an invalid weight file given explicitly.
    """
    return evaluate_loaded(load_sets(gen_dir, real_dir, gt_dir, max_images), options)
