"""Presenting an evaluation result: JSON, a text table, and a self-contained HTML page.

JSON: standard JSON only; non-finite floats (PSNR of identical images) are written as the strings
``"inf"`` / ``"-inf"`` / ``"nan"`` (``float(value)`` reads them back). The HTML page embeds its images
as base64 PNG and draws the spectra as inline SVG, so it needs no other file and no plotting library.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from dsgan.io.atomic import write_text_atomic
from dsgan.io.images import tensor_to_uint8


def jsonable(value: Any) -> Any:
    """Copy of ``value`` with non-finite floats replaced by strings (see module docstring)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


_PER_IMAGE = ("per_image", "names", "psnr_per_image", "ssim_per_image")


def _drop_per_image(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_per_image(v) for k, v in value.items() if k not in _PER_IMAGE}
    return value


def to_json(result: dict[str, Any], curves: bool = True) -> str:
    """Result as indented standard JSON; ``curves=False`` (the printed summary) drops the spectrum
    arrays and the per-image lists."""
    data = jsonable(result)
    if not curves:
        data = _drop_per_image(data)
        if isinstance(data.get("spectrum"), dict):
            data["spectrum"] = {
                k: v for k, v in data["spectrum"].items() if k not in ("freqs", "gen", "real")
            }
    return json.dumps(data, indent=2, allow_nan=False)


def write_json(result: dict[str, Any], path: str | Path) -> None:
    """Write :func:`to_json` (with curves) atomically."""
    write_text_atomic(path, to_json(result) + "\n")


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.{digits}g}" if abs(v) < 1e4 else f"{v:.1f}"
    return str(v)


def _ci(entry: dict[str, Any]) -> str:
    if entry.get("n", 0) == 0:
        return "n/a"
    return f"{_fmt(entry['mean'])} [{_fmt(entry['lo'], 3)}, {_fmt(entry['hi'], 3)}]"


def _noref_rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    nr = result.get("no_reference")
    if not nr:
        return []
    rows = []
    for metric, label in (("niqe", "NIQE"), ("brisque", "BRISQUE")):
        g = nr["gen"][metric]
        level = f"{round(100 * g['level'])}% bootstrap interval over images"
        rows.append((f"{label} gen", _ci(g), f"{g['direction']}; {level} (n={g['n']})"))
        if nr.get("real"):
            r = nr["real"][metric]
            rows.append((f"{label} real", _ci(r), f"{r['direction']} (n={r['n']})"))
    return rows


def table_rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, value, meaning) rows of the readable summary."""
    rows: list[tuple[str, str, str]] = _noref_rows(result)
    skipped = result.get("skipped", {})
    if result.get("noise") is None:
        return rows + _reference_rows(result, skipped)
    fi = result.get("fidelity") or {}
    fid_note = f"skipped: {skipped['fid']}" if "fid" in skipped else "lower is better"
    rows.append(("FID", _fmt(fi.get("fid")), fid_note))
    if fi.get("kid_mean") is not None:
        rows.append(
            (
                "KID",
                f"{_fmt(fi['kid_mean'])} ± {_fmt(fi['kid_std'])}",
                f"subsets of {fi['kid_subset_size']}; ~0 = same distribution",
            )
        )
    else:
        rows.append(("KID", "n/a", "skipped with FID"))
    n = result["noise"]
    rows.append(
        (
            "noise sigma gen / real",
            f"{_fmt(n['gen'])} / {_fmt(n['real'])}",
            f"{n['method']}, 0..255 units",
        )
    )
    rows.append(("noise sigma diff", _fmt(n["diff"]), "gen - real; > 0 gen noisier"))
    cc = result["channel_corr"]
    for key in ("rg", "rb", "gb", "mean"):
        rows.append(
            (
                f"HP channel corr {key}",
                f"{_fmt(cc['gen'][key], 3)} / {_fmt(cc['real'][key], 3)}",
                "gen / real; 0 = independent channels",
            )
        )
    bl = result.get("blocking")
    if bl:
        rows.append(
            (
                "blockiness gen / real",
                f"{_fmt(bl['gen'], 3)} / {_fmt(bl['real'], 3)}",
                f"{bl['period']}-px grid steps; ~1 = none, JPEG q30 ~2",
            )
        )
    else:
        rows.append(("blockiness", "n/a", f"skipped: {skipped.get('blocking', 'not computed')}"))
    sp = result["spectrum"]
    band = f"[{sp['band'][0]:g}, {sp['band'][1]:g}] cyc/px"
    rows.append(
        ("spectrum L1 / L2", f"{_fmt(sp['l1'])} / {_fmt(sp['l2'])}", f"log10 power over {band}")
    )
    rows.append(
        ("spectrum HF diff", _fmt(sp["high_band_diff"]), "mean gen - real; > 0 gen has more HF")
    )
    ts = result.get("two_sample")
    if ts:
        rows.append(
            (
                "two-sample accuracy",
                _fmt(ts["accuracy"], 3),
                f"held-out, p={_fmt(ts['p_value'], 2)}; 0.5 = indistinguishable",
            )
        )
    else:
        rows.append(("two-sample accuracy", "n/a", "disabled"))
    return rows + _reference_rows(result, skipped)


def _reference_rows(result: dict[str, Any], skipped: dict[str, str]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    ref = result.get("reference")
    if ref:
        space = "Y" if ref["y_channel"] else "RGB"
        crop = f", crop {ref['crop_border']}" if ref["crop_border"] else ""
        finite = isinstance(ref["psnr"], float) and math.isfinite(ref["psnr"])
        psnr = _ci(ref["psnr_ci"]) if ref.get("psnr_ci") and finite else _fmt(ref["psnr"])
        rows.append(
            (
                "PSNR",
                psnr,
                f"dB, {space}{crop}, {ref['n_pairs']} pairs; higher is better",
            )
        )
        rows.append(("SSIM", _fmt(ref["ssim"]), f"{space}{crop}"))
        rows.append(("colour PSNR", _fmt(ref["color_psnr"]), "dB of 5x5 box low-passes"))
        lp_note = (
            f"skipped: {skipped['lpips']}" if "lpips" in skipped else "AlexNet; lower is better"
        )
        rows.append(("LPIPS", _fmt(ref["lpips"]), lp_note))
    return rows


def format_table(result: dict[str, Any]) -> str:
    """Readable plain-text summary (one metric per line, then notes)."""
    inp = result.get("inputs", {})
    lines = [f"generated: {inp.get('gen_dir', '-')} ({inp.get('n_gen')} images)"]
    if inp.get("real_dir"):
        lines.append(f"real:      {inp['real_dir']} ({inp.get('n_real')} images)")
    if inp.get("gt_dir"):
        lines.append(f"ground truth: {inp['gt_dir']} ({inp.get('n_pairs')} pairs)")
    rows = table_rows(result)
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines.append("")
    lines += [f"{a:<{w0}}  {b:>{w1}}  {c}" for a, b, c in rows]
    for note in result.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)


def png_data_uri(image: torch.Tensor, max_side: int = 256) -> str:
    """(3, H, W) [0, 1] image -> ``data:image/png;base64,...`` (downscaled to ``max_side``)."""
    img = Image.fromarray(tensor_to_uint8(image), mode="RGB")
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def spectrum_svg(spec: dict[str, Any], width: int = 560, height: int = 320) -> str:
    """Inline SVG line plot of the gen/real log spectra with the compared band shaded."""
    f, g, r = spec["freqs"], spec["gen"], spec["real"]
    ml, mr, mt, mb = 56, 16, 16, 40
    pw, ph = width - ml - mr, height - mt - mb
    lo = min(min(g), min(r))
    hi = max(max(g), max(r))
    if hi - lo < 1e-9:
        hi = lo + 1.0

    def px(x: float) -> float:
        return ml + x / 0.5 * pw

    def py(y: float) -> float:
        return mt + (hi - y) / (hi - lo) * ph

    def path(ys: Sequence[float]) -> str:
        return " ".join(
            f"{'M' if i == 0 else 'L'}{px(x):.1f},{py(y):.1f}"
            for i, (x, y) in enumerate(zip(f, ys, strict=True))
        )

    b0, b1 = spec["band"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect x="{px(b0):.1f}" y="{mt}" width="{px(b1) - px(b0):.1f}" height="{ph}" fill="#eee"/>',
        f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>',
    ]
    for k in range(6):
        x = 0.1 * k
        parts.append(
            f'<text x="{px(x):.1f}" y="{height - mb + 14}" text-anchor="middle">{x:.1f}</text>'
        )
    for k in range(5):
        y = lo + (hi - lo) * k / 4
        parts.append(f'<text x="{ml - 4}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.1f}</text>')
    parts += [
        f'<text x="{ml + pw / 2}" y="{height - 6}" text-anchor="middle">radial frequency (cycles/pixel)</text>',
        f'<text x="12" y="{mt + ph / 2}" transform="rotate(-90 12 {mt + ph / 2})" '
        'text-anchor="middle">log10 power</text>',
        f'<path d="{path(g)}" fill="none" stroke="#d62728" stroke-width="2"/>',
        f'<path d="{path(r)}" fill="none" stroke="#1f77b4" stroke-width="2"/>',
        f'<text x="{ml + pw - 60}" y="{mt + 16}" fill="#d62728">generated</text>',
        f'<text x="{ml + pw - 60}" y="{mt + 30}" fill="#1f77b4">real</text>',
        "</svg>",
    ]
    return "\n".join(parts)


def _grid(title: str, images: Sequence[torch.Tensor], names: Sequence[str]) -> str:
    cells = "".join(
        f'<figure><img src="{png_data_uri(im)}" alt="{html.escape(n)}"><figcaption>{html.escape(n)}'
        f" ({im.shape[-1]}x{im.shape[-2]})</figcaption></figure>"
        for im, n in zip(images, names, strict=True)
    )
    return f"<h2>{html.escape(title)}</h2><div class='grid'>{cells}</div>"


def render_html(
    result: dict[str, Any],
    samples: Sequence[tuple[str, Sequence[torch.Tensor], Sequence[str]]] = (),
) -> str:
    """Self-contained HTML page: metrics table, spectrum plot, image grids.

    Args:
        result: from :func:`dsgan.metrics.evaluate.evaluate_images`.
        samples: (title, images (3, H, W) in [0, 1], names) per grid.
    """
    rows = "".join(
        f"<tr><td>{html.escape(a)}</td><td class='v'>{html.escape(b)}</td><td>{html.escape(c)}</td></tr>"
        for a, b, c in table_rows(result)
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.get("notes", []))
    inp = result.get("inputs", {})
    head = "".join(
        f"<li>{html.escape(k)}: {html.escape(str(inp[k]))}</li>"
        for k in ("gen_dir", "real_dir", "gt_dir")
        if inp.get(k)
    )
    grids = "".join(_grid(t, ims, ns) for t, ims, ns in samples)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>dsgan evaluate</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }} td {{ padding: 3px 10px; border-bottom: 1px solid #ddd; }}
td.v {{ text-align: right; font-family: monospace; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 8px; }}
figure {{ margin: 0; }} figcaption {{ font-size: 11px; color: #555; }}
img {{ image-rendering: pixelated; max-width: 256px; }}
</style></head><body>
<h1>dsgan evaluate</h1>
<ul>{head}</ul>
<h2>Metrics</h2><table>{rows}</table>
{f"<ul>{notes}</ul>" if notes else ""}
{"<h2>High-frequency spectra</h2>" + spectrum_svg(result["spectrum"]) if result.get("spectrum") else ""}
{grids}
</body></html>
"""


def write_html(
    result: dict[str, Any],
    path: str | Path,
    samples: Sequence[tuple[str, Sequence[torch.Tensor], Sequence[str]]] = (),
) -> None:
    """Write :func:`render_html` atomically."""
    write_text_atomic(path, render_html(result, samples))


_DASH = {"solid": "", "dashed": ' stroke-dasharray="7,4"', "dotted": ' stroke-dasharray="2,3"'}


def line_plot_svg(
    series: Sequence[dict[str, Any]],
    x_label: str,
    y_label: str,
    x_range: tuple[float, float] = (0.0, 1.0),
    width: int = 560,
    height: int = 320,
) -> str:
    """Inline SVG line plot with a legend.

    Args:
        series: each ``{"label", "xs", "ys", "colour", "style"}``; ``ys`` may hold None (a gap;
            a lone point is drawn as a dot); ``style``: ``solid``, ``dashed`` or ``dotted``.
        x_range: the x axis (the y axis runs from 0 to a round value above the largest).
    """
    ml, mr, mt, mb = 56, 150, 16, 40
    pw, ph = width - ml - mr, height - mt - mb
    x0, x1 = x_range
    finite = [y for s in series for y in s["ys"] if y is not None and math.isfinite(y)]
    raw = max([*finite, 1e-9]) * 1.05 / 4  # four y intervals of a round size
    mag = 10 ** math.floor(math.log10(raw))
    hi = 4 * mag * next(m for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)

    def px(x: float) -> float:
        return ml + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return mt + (hi - y) / hi * ph

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>',
    ]
    for k in range(6):
        x = x0 + (x1 - x0) * k / 5
        parts.append(
            f'<text x="{px(x):.1f}" y="{height - mb + 14}" text-anchor="middle">{x:.2g}</text>'
        )
    for k in range(5):
        y = hi * k / 4
        parts.append(f'<text x="{ml - 4}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.3g}</text>')
    parts += [
        f'<text x="{ml + pw / 2}" y="{height - 6}" text-anchor="middle">{html.escape(x_label)}</text>',
        f'<text x="12" y="{mt + ph / 2}" transform="rotate(-90 12 {mt + ph / 2})" '
        f'text-anchor="middle">{html.escape(y_label)}</text>',
    ]
    for i, s in enumerate(series):
        colour, dash = html.escape(s["colour"]), _DASH[s.get("style", "solid")]
        runs: list[list[tuple[float, float]]] = [[]]
        for x, y in zip(s["xs"], s["ys"], strict=True):
            if y is None or not math.isfinite(y):
                runs.append([])
            else:
                runs[-1].append((px(x), py(y)))
        for run in runs:
            if len(run) == 1:
                cx, cy = run[0]
                parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.5" fill="{colour}"/>')
            elif run:
                d = " ".join(
                    f"{'M' if j == 0 else 'L'}{x:.1f},{y:.1f}" for j, (x, y) in enumerate(run)
                )
                parts.append(
                    f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
                )
        ly = mt + 10 + 14 * i
        parts += [
            f'<line x1="{ml + pw + 8}" y1="{ly}" x2="{ml + pw + 30}" y2="{ly}" stroke="{colour}" '
            f'stroke-width="2"{dash}/>',
            f'<text x="{ml + pw + 34}" y="{ly + 4}">{html.escape(s["label"])}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts)
