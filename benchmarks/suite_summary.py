"""The mixed-degradation suite's verdict from quality-benchmark result files (issue 15's target).

Reads ``benchmarks/results/quality-*.json`` files written by ``benchmarks/quality.py`` and, for
one DSGAN method (``--variant``, default ``camera``: the default recipe) in each mode, gives per
corruption the SR PSNR of bicubic pairs, of the true corruption's pairs (the oracle) and of the
DSGAN's pairs, the share of the bicubic-to-oracle gap closed and the paired difference to bicubic
pairs with its 95% interval; then the target's checks:

* SR on the DSGAN's pairs beats SR on bicubic pairs on every corruption (the paired mean above 0);
* it closes at least 85% of the gap on average over the corruptions whose oracle beats bicubic by
  at least ``MIN_GAP_DB`` (each row counted at most 100%: one row beyond the oracle does not make up
  for another's shortfall), and at least 60% on each of them;
* on *clean*, it loses at most 0.05 dB to bicubic pairs;
* two DSGAN seeds per row (``--seed`` of each file's command);
* every corruption of the suite (:data:`qualitylib.SUITE`; ``--suite heldout``: the held-out
  kinds, :data:`qualitylib.HELDOUT`, which have no *clean* row) has a row: a corruption missing
  from one mode is named in the check, never passed over silently.

Where a corruption and mode appear in files of several DSGAN seeds, each seed's gap is computed
against its own file's bicubic and oracle, and the row reports their mean. Two files of the same
corruption, mode and seed are an error (pick one): the summary never chooses for you.

    python benchmarks/suite_summary.py benchmarks/results/quality-cpu-*-snap05-*.json \\
        --name suite-snap05
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import ROOT, git_commit
from dsgan.metrics.bootstrap import paired_diff_ci
from qualitylib import MIN_GAP_DB, SETS, SETS_HELP, gap_closed

TARGET_MEAN, TARGET_EACH, CLEAN_LOSS_DB, SEEDS = 0.85, 0.60, 0.05, 2


@dataclass(frozen=True)
class Row:
    """One (corruption, mode, DSGAN seed) measurement; PSNR in dB."""

    corruption: str
    mode: str
    seed: int
    bicubic: float
    oracle: float
    dsgan: float
    vs_bicubic: dict[str, float] | None  # paired over the test images; None in old files
    source: str
    commit: str = "?"  # the code the file's run was measured at

    @property
    def gap(self) -> float | None:
        """Share of the bicubic-to-oracle gap closed (:func:`qualitylib.gap_closed`)."""
        return gap_closed(self.dsgan, self.bicubic, self.oracle)


def command_seed(command: str) -> int:
    """The DSGAN seed of a quality-benchmark command line (its ``--seed``, default 0)."""
    words = shlex.split(command)
    for i, w in enumerate(words):
        if w == "--seed" and i + 1 < len(words):
            return int(words[i + 1])
        if w.startswith("--seed="):
            return int(w.split("=", 1)[1])
    return 0


def read_rows(paths: list[Path], variant: str) -> list[Row]:
    """Every (corruption, mode) measurement of DSGAN ``variant`` in the files."""
    rows: list[Row] = []
    seen: dict[tuple[str, str, int], str] = {}
    for path in paths:
        result = json.loads(path.read_text())
        seed = command_seed(result.get("command", ""))
        for corruption, c in result.get("corruptions", {}).items():
            methods = c["methods"]
            if "bicubic" not in methods or "oracle" not in methods:
                continue
            for mode in ("same", "unpaired"):
                m = methods.get(f"dsgan-{mode}-{variant}")
                if m is None:
                    continue
                key = (corruption, mode, seed)
                if key in seen:
                    raise SystemExit(
                        f"error: {corruption}, {mode}, seed {seed} is in both {seen[key]} and "
                        f"{path.name}: pass one of them"
                    )
                seen[key] = path.name
                vs = m["sr"].get("vs_bicubic")
                if vs is None and "psnr_per_image" in m["sr"]:  # files before it was stored
                    vs = paired_diff_ci(
                        m["sr"]["psnr_per_image"],
                        methods["bicubic"]["sr"]["psnr_per_image"],
                        seed=seed,
                    ).as_dict()
                rows.append(
                    Row(
                        corruption,
                        mode,
                        seed,
                        methods["bicubic"]["sr"]["psnr"],
                        methods["oracle"]["sr"]["psnr"],
                        m["sr"]["psnr"],
                        vs,
                        path.name,
                        str(result.get("commit", "?")),
                    )
                )
    return rows


def verdict(rows: list[Row], expected: str = "suite") -> dict[str, Any]:
    """Per mode: the rows (seeds averaged) and the target's checks; ``expected`` names the list of
    corruptions that must all have a row (:data:`qualitylib.SETS`)."""
    out: dict[str, Any] = {}
    for mode in ("same", "unpaired"):
        mine = [r for r in rows if r.mode == mode]
        if not mine:
            continue
        table = []
        for corruption in dict.fromkeys(r.corruption for r in mine):
            runs = sorted((r for r in mine if r.corruption == corruption), key=lambda r: r.seed)
            gaps = [r.gap for r in runs]
            table.append(
                {
                    "corruption": corruption,
                    "seeds": [r.seed for r in runs],
                    "bicubic": statistics.mean(r.bicubic for r in runs),
                    "oracle": statistics.mean(r.oracle for r in runs),
                    "dsgan": statistics.mean(r.dsgan for r in runs),
                    "vs_bicubic": statistics.mean(r.dsgan - r.bicubic for r in runs),
                    "vs_bicubic_ci": [
                        (r.vs_bicubic["lo"], r.vs_bicubic["hi"]) if r.vs_bicubic else None
                        for r in runs
                    ],
                    "gap": None if None in gaps else statistics.mean(gaps),  # type: ignore[arg-type]
                    "files": [r.source for r in runs],
                    "commits": [r.commit for r in runs],
                }
            )
        with_gap = [t for t in table if t["gap"] is not None]
        clean = [t for t in table if t["corruption"] == "clean"]
        mean_gap = statistics.mean(t["gap"] for t in with_gap) if with_gap else None
        capped = statistics.mean(min(t["gap"], 1.0) for t in with_gap) if with_gap else None
        missing = [c for c in SETS[expected] if c not in {t["corruption"] for t in table}]
        checks = {
            "beats bicubic on every corruption": all(
                t["vs_bicubic"] > 0 for t in table if t["corruption"] != "clean"
            ),
            f"mean gap closed >= {TARGET_MEAN:.0%} (rows capped at 100%)": capped is not None
            and capped >= TARGET_MEAN,
            f"each gap closed >= {TARGET_EACH:.0%}": bool(with_gap)
            and all(t["gap"] >= TARGET_EACH for t in with_gap),
        }
        if "clean" in SETS[expected]:
            checks[f"clean loses <= {CLEAN_LOSS_DB} dB"] = bool(clean) and all(
                t["vs_bicubic"] >= -CLEAN_LOSS_DB for t in clean
            )
        checks |= {
            f"{SEEDS} DSGAN seeds per row": all(len(t["seeds"]) >= SEEDS for t in table),
            f"every {expected} corruption has a row"
            + (f" (missing: {', '.join(missing)})" if missing else ""): not missing,
        }
        out[mode] = {
            "rows": table,
            "mean_gap": mean_gap,
            "mean_gap_capped": capped,
            "missing": missing,
            "checks": checks,
        }
    return out


TITLES = {
    "suite": "The mixed-degradation suite: the target of issue 15",
    "heldout": "Held-out corruptions: the target of issue 15 on kinds the recipe was never tuned on",
}


def markdown(summary: dict[str, Any], command: str) -> str:
    lines = [
        f"# {TITLES[summary['suite']]}",
        "",
        f"- command: `{command}`",
        f"- commit: {summary['commit']}",
        f"- variant: `{summary['variant']}`; gap closed is left out where the oracle beats "
        f"bicubic pairs by less than {MIN_GAP_DB} dB; each row's commit is the code its run was "
        "measured at: a row older than a change of the default measures the recipe before it",
        "",
    ]
    for mode, v in summary["modes"].items():
        lines += [
            f"## {'same-domain' if mode == 'same' else 'unpaired'}",
            "",
            "| corruption | seeds | bicubic | oracle | DSGAN | vs bicubic [95% CI per seed] "
            "| gap closed | file | commit |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for t in v["rows"]:
            ci = ", ".join(
                "[n/a]" if c is None else f"[{c[0]:+.2f}, {c[1]:+.2f}]" for c in t["vs_bicubic_ci"]
            )
            gap = "n/a" if t["gap"] is None else f"{t['gap']:.0%}"
            lines.append(
                f"| {t['corruption']} | {', '.join(map(str, t['seeds']))} | {t['bicubic']:.2f} "
                f"| {t['oracle']:.2f} | {t['dsgan']:.2f} | {t['vs_bicubic']:+.2f} {ci} | {gap} "
                f"| {', '.join(t['files'])} | {', '.join(t['commits'])} |"
            )
        mean = "n/a" if v["mean_gap"] is None else f"{v['mean_gap']:.0%}"
        capped = "n/a" if v["mean_gap_capped"] is None else f"{v['mean_gap_capped']:.0%}"
        lines += [
            "",
            f"Mean gap closed over the rows with one: **{mean}**; each row capped at 100%: "
            f"**{capped}**.",
            "",
        ]
        lines += [f"- {'met' if ok else 'NOT met'}: {name}" for name, ok in v["checks"].items()]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+", type=Path, help="quality-benchmark result JSON files")
    p.add_argument("--variant", default="camera", help="DSGAN variant (method dsgan-MODE-VARIANT)")
    p.add_argument(
        "--suite",
        default="suite",
        choices=list(SETS),
        help=f"the corruptions that must all have a row: {SETS_HELP}",
    )
    p.add_argument("--name", help="write benchmarks/results/NAME.md and .json")
    p.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args(argv)
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        p.error(f"no such result file: {', '.join(missing)}")
    rows = read_rows(args.files, args.variant)
    if not rows:
        p.error(f"no dsgan-same-{args.variant} or dsgan-unpaired-{args.variant} rows in the files")
    command = "python benchmarks/suite_summary.py " + shlex.join(
        [str(a) for a in (argv if argv is not None else sys.argv[1:])]
    )
    summary = {
        "command": command,
        "commit": git_commit(),
        "variant": args.variant,
        "suite": args.suite,
        "modes": verdict(rows, args.suite),
    }
    text = markdown(summary, command)
    print(text)
    if args.name:
        args.results.mkdir(parents=True, exist_ok=True)
        (args.results / f"{args.name}.md").write_text(text)
        (args.results / f"{args.name}.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
