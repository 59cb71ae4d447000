"""The ``dsgan inspect`` workflow: what a trained degradation generator learned, in physical terms,
next to the same statistics of the bicubic input and of real LR images.

Without folders: the parameters of G's physical stages (blur width, sensor noise curve and channel
correlation, JPEG quality / gate / chroma subsampling; null where G has no such stage). With
``hr``: the HR images are degraded as ``dsgan degrade`` does (bicubic x scale, then G with the same
seeded noise, 8-bit output) and measured (:mod:`dsgan.metrics.degradation`); the bicubic input is
measured too, and G's colour shift against it. With ``lr``: the same statistics of the real LR
images (and the JPEG settings of JPEG files). The result is a JSON-able dict; its presentation
(text table, HTML report) is :mod:`dsgan.metrics.inspect_report`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dsgan.errors import ImageError, UserError
from dsgan.metrics.inspect_report import COLUMNS

log = logging.getLogger(__name__)

_MIN_SIDE = 8


@dataclass(frozen=True)
class InspectOptions:
    """What to inspect: ``model`` (a run directory or generator file), optional ``hr`` (clean HR
    images to degrade) and ``lr`` (real LR images) folders, and how."""

    model: Path
    hr: Path | None = None
    lr: Path | None = None
    max_images: int = 32
    bins: int = 8
    scale: int | None = None
    tile: int = 0
    seed: int = 0
    device: str = "auto"


def _load(flag: str, folder: Path, what: str, limit: int, notes: list[str]) -> tuple[list, list]:
    """(files, images) of a folder's first ``limit`` usable images, or a UserError."""
    from dsgan.io.images import list_images, load_image

    try:
        files = list_images(folder)[:limit]
    except UserError as exc:
        raise UserError(f"{flag} {exc}; pass a folder of {what}") from exc
    kept, images = [], []
    for path in files:
        try:
            images.append(load_image(path))
            kept.append(path)
        except ImageError as exc:
            log.warning("skipping %s", exc)
            notes.append(f"skipped {exc}")
    if not images:
        raise UserError(f"{flag} {folder}: no readable images; pass a folder of {what}")
    return kept, images


def _usable(name: str, files: list, images: list, notes: list[str]) -> list[int]:
    """Indices of the images at least ``_MIN_SIDE`` px on each side, or a UserError."""
    ok = [i for i, im in enumerate(images) if min(im.shape[-2:]) >= _MIN_SIDE]
    if len(ok) < len(images):
        notes.append(f"{name}: {len(images) - len(ok)} image(s) under {_MIN_SIDE} px left out")
    if not ok:
        raise UserError(
            f"{files[0].parent}: every {name} image is under {_MIN_SIDE} px; use larger images"
        )
    return ok


def _degrade(g: Any, files: list, hrs: list, scale: int, opts: InspectOptions) -> tuple:
    """(bicubic LR, generated LR) lists, each image as ``dsgan degrade`` writes it (8-bit)."""
    from dsgan.devices import resolve_device
    from dsgan.inference.degrade import DegradeOptions, degrade_batch, prepare_generator
    from dsgan.ops.resize import crop_to_multiple, imresize

    device = resolve_device(opts.device)
    g = prepare_generator(g, device)
    dopts = DegradeOptions(scale=scale, tile=opts.tile, seed=opts.seed)
    bicubic, generated = [], []
    with torch.inference_mode():
        for path, img in zip(files, hrs, strict=True):
            hr = crop_to_multiple(img, scale)
            lr = imresize(hr.unsqueeze(0), 1.0 / scale)
            out = degrade_batch(g, [(path, hr, lr)], dopts, device)[0]
            bicubic.append((lr[0].clamp(0, 1) * 255).round() / 255)
            generated.append((out.clamp(0, 1) * 255).round() / 255)
    return bicubic, generated


#: a learned codec gate strictly inside this range is reported as a blend
BLEND_GATE = (0.1, 0.9)


def inspect_model(args: InspectOptions) -> dict[str, Any]:
    """The full result of ``dsgan inspect`` (see the module docstring) as a JSON-able dict."""
    from dsgan.checkpoints.load import load_generator
    from dsgan.metrics import degradation as deg

    notes: list[str] = []
    hr_set = lr_set = None
    if args.hr is not None:
        hr_set = _load("--hr", args.hr, "clean HR images", args.max_images, notes)
    if args.lr is not None:
        lr_set = _load("--lr", args.lr, "real LR images", args.max_images, notes)
    g, info = load_generator(args.model)
    scale = args.scale or info.get("scale") or 4
    levels = [(b + 0.5) / args.bins for b in range(args.bins)]
    learned = deg.learned_stages(g, levels)
    if all(learned[k] is None for k in ("blur_sigma", "sensor_std", "codec_quality")):
        notes.append("this generator has no physical stages: see the measured columns")
    gate = learned.get("codec_gate")
    sampled = g.codec is not None and g.codec.gate_mode == "sample"
    if gate is not None and sampled and BLEND_GATE[0] < gate < BLEND_GATE[1]:
        notes.append(
            f"codec gate {gate:.2f} was sampled in training (model.codec_gate_mode sample): "
            f"it coded {gate:.0%} of the outputs D saw; degrading, the codec applies "
            f"{'fully' if gate >= 0.5 else 'not at all'} (g >= 0.5)"
        )
    elif gate is not None and BLEND_GATE[0] < gate < BLEND_GATE[1]:
        notes.append(
            f"codec gate {gate:.2f} is a blend, not on or off: {1 - gate:.0%} of G's uncoded "
            "output (its noise included) passes the codec; optim.gate_snap makes it hard "
            "(docs/RESULTS.md, 'the codec gate's blend leaks noise')"
        )
    measured: dict[str, Any] = dict.fromkeys(COLUMNS)
    shift = None
    inputs: dict[str, Any] = {"hr_dir": None, "n_hr": 0, "lr_dir": None, "n_lr": 0}
    inputs.update(seed=args.seed, max_images=args.max_images)
    if hr_set is not None:
        files = hr_set[0]
        bicubic, generated = _degrade(g, files, hr_set[1], scale, args)
        keep = _usable("generated", files, generated, notes)
        bicubic, generated = [bicubic[i] for i in keep], [generated[i] for i in keep]
        measured["bicubic"] = deg.degradation_stats(bicubic, args.bins)
        measured["generated"] = deg.degradation_stats(generated, args.bins)
        shift = deg.colour_shift(generated, bicubic)
        inputs.update(hr_dir=str(args.hr), n_hr=len(generated))
        notes.append(
            "bicubic and generated are measured as 8-bit images (as dsgan degrade writes them); "
            "their blur includes the bicubic downscale's own"
        )
    if lr_set is not None:
        real = [lr_set[1][i] for i in _usable("real", *lr_set, notes)]
        measured["real"] = deg.degradation_stats(real, args.bins)
        measured["real"]["jpeg"] = deg.jpeg_settings(lr_set[0])
        inputs.update(lr_dir=str(args.lr), n_lr=len(real))
    model = {k: info.get(k) for k in ("source", "step")}
    model["scale"] = scale
    return {
        "model": model,
        "inputs": inputs,
        "learned": learned,
        "measured": measured,
        "colour_shift": {"generated_vs_bicubic": shift},
        "notes": notes,
    }
