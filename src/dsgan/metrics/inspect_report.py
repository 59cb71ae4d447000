"""Presenting a ``dsgan inspect`` result (:func:`dsgan.workflows.inspect.inspect_model`): a text
table and a self-contained HTML report with a plot of noise std vs intensity."""

from __future__ import annotations

import html
from typing import Any

COLUMNS = ("bicubic", "generated", "real")  # the measured columns, in this order
_RGB = (("r", "#d62728"), ("g", "#2ca02c"), ("b", "#1f77b4"))


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
        (
            "output, noise channels",
            f"{le['output']}, {le['noise_channels']}"
            + ("" if le.get("network_noise", True) else " (stages only)"),
        ),
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
