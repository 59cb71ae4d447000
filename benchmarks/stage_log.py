"""What the camera stages learned over training: a table of logged values every N steps.

Reads the ``metrics.jsonl`` of DSGAN runs and writes, per run, D's mean logits, the colour shift
and the stages' values (blur width, sensor noise at mid-grey, JPEG quality and gate) at every
``--every`` steps (the logged step at or before each). Backs the trajectories quoted in
docs/RESULTS.md.

    python benchmarks/stage_log.py runs/quality/cpu/camera/dsgan-same-camera-* \\
        --out benchmarks/results/stages-camera.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

KEYS = (
    ("d/real", "D real"),
    ("d/fake", "D fake"),
    ("diag/rgb_shift", "colour shift"),
    ("stage/blur_sigma", "blur px"),
    ("stage/noise_mid", "noise at mid-grey"),
    ("codec/quality", "JPEG quality"),
    ("codec/gate", "JPEG gate"),
)


def table(run: Path, every: int) -> list[str]:
    """Markdown rows of one run's logged values every ``every`` steps."""
    rows: dict[int, dict] = {}
    for line in (run / "metrics.jsonl").read_text().splitlines():
        if line:
            rec = json.loads(line)
            rows[rec["step"]] = rec  # a step logged twice keeps its last record
    steps = sorted(rows)
    wanted = sorted({max(s for s in steps if s <= t) for t in range(every, steps[-1] + 1, every)})
    wanted = sorted({steps[0], *wanted, steps[-1]})
    out = ["| step | " + " | ".join(h for _, h in KEYS) + " |", "|---" * (len(KEYS) + 1) + "|"]
    for s in wanted:
        vals = [rows[s].get(k) for k, _ in KEYS]
        out.append(
            f"| {s} | " + " | ".join("n/a" if v is None else f"{v:.2f}" for v in vals) + " |"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", type=Path, nargs="+", help="DSGAN run directories")
    p.add_argument("--every", type=int, default=200)
    p.add_argument("--out", type=Path, help="Markdown file (default: stdout)")
    args = p.parse_args(argv)
    lines = [
        "# Stage values over training",
        "",
        f"- command: `python benchmarks/stage_log.py "
        f"{' '.join(sys.argv[1:]) if argv is None else ' '.join(argv)}`",
        "",
    ]
    for run in args.runs:
        if not (run / "metrics.jsonl").is_file():
            p.error(f"{run}: no metrics.jsonl (not a DSGAN run directory)")
        lines += [f"## {run.parent.name}/{run.name}", "", *table(run, args.every), ""]
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
