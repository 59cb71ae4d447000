"""``dsgan inspect MODEL``: what a trained degradation generator learned, in physical terms.

Without folders: the parameters of G's physical stages (blur width, sensor noise curve and channel
correlation, JPEG quality / gate / chroma subsampling; null where G has no such stage). With
``--hr``: the HR images are degraded as ``dsgan degrade`` does (bicubic x scale, then G with the same
seeded noise, 8-bit output) and measured (:mod:`dsgan.metrics.degradation`): noise level per channel
vs intensity, noise whiteness, cross-channel noise correlation, blur width, mean colour, blockiness;
the bicubic input is measured too (what G started from) and G's colour shift against it. With
``--lr``: the same statistics of the real LR images (and the JPEG settings of JPEG files), side by
side. Prints a table; ``--json`` writes the full result, ``--report`` an HTML page with a plot of
noise std vs intensity. Input folders are never written to.
"""

from __future__ import annotations

import argparse
import html
import logging
import sys
from pathlib import Path
from typing import Any

import torch

from dsgan.cli.common import int_at_least, seed_type
from dsgan.errors import ImageError, UserError
from dsgan.io.outputs import check_output_file

log = logging.getLogger(__name__)

NAME = "inspect"
HELP = (
    "what a trained degradation model learned, in physical terms (noise vs intensity, "
    "whiteness, channel correlation, blur, JPEG, colour), next to the same statistics of real LR"
)
COLUMNS = ("bicubic", "generated", "real")
_RGB = (("r", "#d62728"), ("g", "#2ca02c"), ("b", "#1f77b4"))
_MIN_SIDE = 8


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "model", type=Path, metavar="MODEL", help="a `dsgan train` run directory or generator file"
    )
    p.add_argument(
        "--hr", type=Path, metavar="DIR", help="clean HR images: degrade them with MODEL, measure"
    )
    p.add_argument(
        "--lr", type=Path, metavar="DIR", help="real LR images of the target domain: measure them"
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="write the full result ('-': stdout)")
    p.add_argument("--report", type=Path, metavar="FILE.html", help="write an HTML report")
    p.add_argument(
        "--max-images",
        type=int,
        default=32,
        metavar="N",
        help="use the first N images of each folder (default 32)",
    )
    p.add_argument(
        "--bins", type=int_at_least(1), default=8, help="intensity bins of the noise curve (8)"
    )
    p.add_argument(
        "--scale", type=int_at_least(2), help="default: the scale the model was trained for"
    )
    p.add_argument(
        "--tile", type=int_at_least(0), default=0, help="tile size in LR pixels (0 = whole image)"
    )
    p.add_argument("--seed", type=seed_type, default=0, help="seed of G's noise (as dsgan degrade)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N, mps")


def _check_args(args: argparse.Namespace) -> None:
    if args.max_images < 1 or not 1 <= args.bins <= 64 or args.tile < 0:
        raise UserError("need --max-images >= 1, 1 <= --bins <= 64 and --tile >= 0")
    if args.scale is not None and args.scale < 2:
        raise UserError(f"--scale must be >= 2, got {args.scale}")
    if not args.model.exists():
        raise UserError(
            f"{args.model}: no such file or folder; pass a `dsgan train` run directory or its "
            "generator.safetensors"
        )
    inputs = [(flag, d.resolve()) for flag, d in (("--hr", args.hr), ("--lr", args.lr)) if d]
    for flag, out in (("--json", args.json), ("--report", args.report)):
        if out is None or str(out) == "-":
            continue
        check_output_file(out, flag)
        where = out.resolve()
        for flag, d in inputs:
            if d in where.parents:
                raise UserError(f"{out}: inside the {flag} folder {d}; write results elsewhere")


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


def _degrade(g: Any, files: list, hrs: list, scale: int, args: argparse.Namespace) -> tuple:
    """(bicubic LR, generated LR) lists, each image as ``dsgan degrade`` writes it (8-bit)."""
    from dsgan.devices import resolve_device
    from dsgan.inference.degrade import DegradeOptions, degrade_batch, prepare_generator
    from dsgan.ops.resize import crop_to_multiple, imresize

    device = resolve_device(args.device)
    g = prepare_generator(g, device)
    opts = DegradeOptions(scale=scale, tile=args.tile, seed=args.seed)
    bicubic, generated = [], []
    with torch.inference_mode():
        for path, img in zip(files, hrs, strict=True):
            hr = crop_to_multiple(img, scale)
            lr = imresize(hr.unsqueeze(0), 1.0 / scale)
            out = degrade_batch(g, [(path, hr, lr)], opts, device)[0]
            bicubic.append((lr[0].clamp(0, 1) * 255).round() / 255)
            generated.append((out.clamp(0, 1) * 255).round() / 255)
    return bicubic, generated


def inspect_model(args: argparse.Namespace) -> dict[str, Any]:
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


# ------------------------------------------------------------------ presentation
def _f(v: Any, digits: int = 3) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def _triple(values: Any, keys: tuple[str, ...] = ("r", "g", "b"), digits: int = 3) -> str:
    if values is None:
        return "n/a"
    if isinstance(values, dict):
        values = [values.get(k) for k in keys]
    return " / ".join(_f(v, digits) for v in values)


def learned_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    """(parameter, value) rows of the learned stages."""
    le = result["learned"]
    corr = le["sensor_correlation"]
    rows = [
        ("output, noise channels", f"{le['output']}, {le['noise_channels']}"),
        ("receptive field", f"{le['receptive_field']} px"),
        ("blur sigma", "n/a" if le["blur_sigma"] is None else f"{le['blur_sigma']:.3g} px"),
        ("sensor noise std r / g / b", "n/a"),
        ("sensor correlation rg / rb / gb", "n/a"),
        ("JPEG quality, gate, chroma", "n/a"),
    ]
    if le["sensor_std"] is not None:
        lv = le["sensor_levels"]
        lo, hi = (_triple({k: v[i] for k, v in le["sensor_std"].items()}) for i in (0, -1))
        rows[3] = (rows[3][0], f"{lo} at {lv[0]:.2g} .. {hi} at {lv[-1]:.2g}")
        rows[4] = (rows[4][0], _triple([corr[0][1], corr[0][2], corr[1][2]]))
    if le["codec_quality"] is not None:
        q, gate = le["codec_quality"], le["codec_gate"]
        rows[5] = (rows[5][0], f"{q:.3g}, {gate:.3g}, {le['codec_chroma']}")
    return rows


def measured_rows(result: dict[str, Any]) -> list[tuple[str, list[str], str]]:
    """(quantity, value per column of COLUMNS, meaning) rows of the measured statistics."""
    m = result["measured"]

    def row(label: str, get: Any, meaning: str) -> tuple[str, list[str], str]:
        return label, [get(m[c]) if m[c] is not None else "-" for c in COLUMNS], meaning

    def jpeg(s: dict[str, Any]) -> str:
        j = s.get("jpeg")
        return f"q{j['quality']:.0f} {j['chroma']} ({j['files']} file(s))" if j else "n/a"

    corr_keys = ("rg", "rb", "gb")
    return [
        row("noise std r / g / b", lambda s: _triple(s["noise_level"]["overall"]), "0..255"),
        row("whiteness r / g / b", lambda s: _triple(s["whiteness"]), "HF/mid power, 1 = white"),
        row(
            "noise corr rg / rb / gb",
            lambda s: _triple(s["correlation"], corr_keys, 2),
            "0 = independent channels",
        ),
        row("blur sigma", lambda s: _f(s["blur_sigma"]), "px, Gaussian-equivalent edge width"),
        row("mean r / g / b", lambda s: _triple(s["mean_rgb"], digits=4), "0..255"),
        row("blockiness", lambda s: _f(s["blockiness"]), "8-px grid, ~1 = none"),
        row("JPEG files", jpeg, "quality, chroma of JPEG inputs"),
    ]


def nlf_rows(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the noise level function: per level, r / g / b of each source."""
    m, le = result["measured"], result["learned"]
    sources = [(c, m[c]["noise_level"]["std"]) for c in ("generated", "real") if m[c]]
    if le["sensor_std"] is not None:
        sources.append(("learned sensor", le["sensor_std"]))
    levels = next((m[c]["noise_level"]["levels"] for c in COLUMNS if m[c]), le["sensor_levels"])
    head = ["level", *(name for name, _ in sources)]
    rows = [
        [f"{lv:.3g}", *(_triple({k: v[i] for k, v in std.items()}) for _, std in sources)]
        for i, lv in enumerate(levels or [])
    ]
    return head, rows if len(head) > 1 else []


def _text_table(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [head, *rows]
    ]


def format_text(result: dict[str, Any]) -> str:
    mo, inp = result["model"], result["inputs"]
    lines = [f"model: {mo['source']} (step {mo['step']}, x{mo['scale']})", "", "learned stages:"]
    lines += _text_table(["parameter", "value"], [list(r) for r in learned_rows(result)])
    if inp["hr_dir"] or inp["lr_dir"]:
        lines += ["", f"measured: {inp['n_hr']} generated from --hr {inp['hr_dir']}, "]
        lines[-1] += f"{inp['n_lr']} real from --lr {inp['lr_dir']}"
        body = [[a, *vals, c] for a, vals, c in measured_rows(result)]
        lines += _text_table(["quantity", *COLUMNS, "meaning"], body)
        shift = result["colour_shift"]["generated_vs_bicubic"]
        if shift is not None:
            lines.append(f"colour shift generated - bicubic r / g / b: {_triple(shift)} (0..255)")
    head, rows = nlf_rows(result)
    if rows:
        lines += ["", "noise std (0..255) r / g / b vs intensity:", *_text_table(head, rows)]
    lines += [f"note: {n}" for n in result["notes"]]
    return "\n".join(lines)


def nlf_svg(result: dict[str, Any]) -> str:
    """The noise-vs-intensity plot: generated solid, real dashed, learned sensor dotted."""
    from dsgan.metrics.report import line_plot_svg

    m, le = result["measured"], result["learned"]
    curves = [(c, m[c]["noise_level"]["levels"], m[c]["noise_level"]["std"]) for c in COLUMNS[1:]]
    curves = [(n, lv, std) for n, lv, std in curves if m[n] is not None]
    if le["sensor_std"] is not None:
        curves.append(("learned", le["sensor_levels"], le["sensor_std"]))
    style = {"generated": "solid", "real": "dashed", "learned": "dotted"}
    series = [
        {"label": f"{name} {ch}", "xs": lv, "ys": std[ch], "colour": col, "style": style[name]}
        for name, lv, std in curves
        for ch, col in _RGB
    ]
    return line_plot_svg(series, "local intensity", "noise std (0..255)")


def render_html(result: dict[str, Any]) -> str:
    esc = html.escape

    def table(head: list[str], rows: list[list[str]]) -> str:
        th = "".join(f"<th>{esc(h)}</th>" for h in head)
        body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
        return f"<table><tr>{th}</tr>{body}</table>"

    mo = result["model"]
    parts = [
        f"<h1>dsgan inspect</h1><p>{esc(str(mo['source']))} (step {mo['step']}, x{mo['scale']})</p>",
        "<h2>Learned stages</h2>",
        table(["parameter", "value"], [list(r) for r in learned_rows(result)]),
    ]
    if any(result["measured"].values()):
        body = [[a, *vals, c] for a, vals, c in measured_rows(result)]
        parts += ["<h2>Measured</h2>", table(["quantity", *COLUMNS, "meaning"], body)]
        shift = result["colour_shift"]["generated_vs_bicubic"]
        if shift is not None:
            parts.append(f"<p>colour shift generated - bicubic r / g / b: {_triple(shift)}</p>")
    head, rows = nlf_rows(result)
    if rows:
        parts += ["<h2>Noise level vs intensity</h2>", nlf_svg(result), table(head, rows)]
    parts.append("".join(f"<p>note: {esc(n)}</p>" for n in result["notes"]))
    style = "body{font-family:sans-serif;margin:2em}td,th{padding:3px 10px;border-bottom:1px solid #ddd}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>dsgan inspect'
        f"</title><style>{style}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n"
    )


def run(args: argparse.Namespace) -> int:
    from dsgan.io.atomic import write_text_atomic
    from dsgan.metrics.report import to_json, write_json

    _check_args(args)
    result = inspect_model(args)
    to_stdout = args.json is not None and str(args.json) == "-"
    out = sys.stderr if to_stdout else sys.stdout
    print(format_text(result), file=out)
    if to_stdout:
        print(to_json(result))
    elif args.json is not None:
        write_json(result, args.json)
        print(f"wrote {args.json}", file=out)
    if args.report is not None:
        write_text_atomic(args.report, render_html(result))
        print(f"wrote {args.report}", file=out)
    return 0
