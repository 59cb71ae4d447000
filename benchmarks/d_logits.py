"""Who wins the DSGAN game? D's mean logits and G's losses over the second half of training.

Reads the ``metrics.jsonl`` of finished DSGAN runs (the quality benchmark's work directory holds
them) and writes one Markdown row per run: the mean over the logged steps after half of training
of D's logit on reals (``d/real``) and fakes (``d/fake``), the texture loss of G (``loss/tex``;
ln 2 = 0.69 when D cannot tell) and the colour loss (``loss/col``, L1 of the low-passes in 0..1).
Logits near 0 mean G keeps up with D; large magnitudes mean D separates the two.

    python benchmarks/d_logits.py runs/quality/cpu/noise8/dsgan-* runs/quality/cpu/jpeg30/dsgan-* \\
        --out benchmarks/results/d-logits-cpu.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

KEYS = ("d/real", "d/fake", "loss/tex", "loss/col")


def second_half_means(run: Path) -> dict[str, float]:
    """Means of :data:`KEYS` over the logged steps after half of the last logged step."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line]
    rows = [r for r in rows if all(k in r for k in KEYS)]
    if not rows:
        raise ValueError(f"{run}: metrics.jsonl holds no step with {', '.join(KEYS)}")
    last = rows[-1]["step"]
    late = [r for r in rows if r["step"] > last / 2]
    return {"steps": last, **{k: sum(r[k] for r in late) / len(late) for k in KEYS}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path, help="DSGAN run directories")
    p.add_argument("--out", type=Path, help="Markdown file to write (default: print only)")
    args = p.parse_args(argv)
    missing = [str(r) for r in args.runs if not (r / "metrics.jsonl").is_file()]
    if missing:
        print(f"error: no metrics.jsonl in {', '.join(missing)}", file=sys.stderr)
        return 2
    lines = [
        "# D's logits and G's losses over the second half of training",
        "",
        f"- command: `python benchmarks/d_logits.py {' '.join(argv or sys.argv[1:])}`",
        "",
        "| run | steps | D logit real | D logit fake | G texture loss | colour loss |",
        "|---|---|---|---|---|---|",
    ]
    for run in args.runs:
        m = second_half_means(run)
        name = f"{run.parent.name}/{run.name}"
        lines.append(
            f"| {name} | {m['steps']} | {m['d/real']:+.2f} | {m['d/fake']:+.2f} | "
            f"{m['loss/tex']:.2f} | {m['loss/col']:.4f} |"
        )
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
