"""Does a fractional codec gate leak noise? ``dsgan inspect``'s measurements of a trained
generator's LR three times: with its codec gate as learned, forced fully on and forced off
(the gate's logit set to +-30 in a copy of the generator file; nothing else changes), next to the
real LR's. A gate between 0 and 1 blends G's coded and uncoded output, so part of G's noise
passes through without the codec's smoothing.

    python benchmarks/gate_leak.py RUN --hr HR_DIR --lr REAL_LR_DIR --name gate-leak-camera-unpaired
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from benchlib import ROOT, write_result
from dsgan.workflows.inspect import InspectOptions, inspect_model

RESULTS = ROOT / "benchmarks" / "results"
KEY = "g.codec.gate_logit"


def summary(stats: dict) -> dict[str, float]:
    """Mean over channels of the overall noise std (0..255), whiteness and channel correlation."""
    overall = stats["noise_level"]["overall"]
    return {
        "noise_std": sum(overall.values()) / len(overall),
        "whiteness": stats["whiteness"]["mean"],
        "channel_corr": stats["correlation"]["mean"],
        "blur_sigma": stats["blur_sigma"],
        "blockiness": stats["blockiness"],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run", type=Path, help="a dsgan train run directory (its generator.safetensors)")
    p.add_argument("--hr", type=Path, required=True)
    p.add_argument("--lr", type=Path, required=True)
    p.add_argument("--max-images", type=int, default=32)
    p.add_argument("--name", default="gate-leak")
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()
    src = args.run / "generator.safetensors"
    tensors = load_file(src)
    if KEY not in tensors:
        sys.exit(f"{src}: no learned codec gate (model.codec_gate) to force")
    meta = safe_open(src, "pt").metadata()
    learned = float(torch.sigmoid(tensors[KEY]))
    rows, real = {}, None
    with tempfile.TemporaryDirectory() as tmp:
        for label, logit in (("as learned", None), ("forced on", 30.0), ("forced off", -30.0)):
            model = src
            if logit is not None:
                model = Path(tmp) / f"{label.replace(' ', '-')}.safetensors"
                save_file({**tensors, KEY: torch.tensor(logit)}, model, metadata=meta)
            lr = args.lr if real is None else None  # the real LR's statistics once
            res = inspect_model(
                InspectOptions(model=model, hr=args.hr, lr=lr, max_images=args.max_images)
            )
            rows[label] = summary(res["measured"]["generated"])
            real = real or summary(res["measured"]["real"])
    rows["real LR"] = real
    lines = [
        f"# Codec gate leak: {args.run.name} (learned gate {learned:.3f})",
        "",
        "`dsgan inspect` statistics of the LR G makes from --hr, mean over channels (0..255)",
        "",
        "| gate | noise std | whiteness | channel corr | blur sigma (px) | blockiness |",
        "|---|---|---|---|---|---|",
    ]
    for label, r in rows.items():
        lines.append(
            f"| {label} | {r['noise_std']:.2f} | {r['whiteness']:.3f} | {r['channel_corr']:.3f} "
            f"| {r['blur_sigma']:.2f} | {r['blockiness']:.2f} |"
        )
    write_result(
        args.results / args.name, {"learned_gate": learned, "rows": rows}, "\n".join(lines)
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
