"""Is a learned stage frozen by Adam's second moment? Reads DSGAN run directories' checkpoints.

For each physical-stage parameter (sensor noise, codec gate, blur) and each saved training state,
prints ``sqrt(v)`` (Adam's second-moment estimate, the root of the average squared gradient over
about 1 / (1 - beta2) steps) divided by the median of the run's logged stage-gradient norms
(``diag/grad_stages``, an upper bound of any one stage parameter's gradient). Far above 1, the
parameter's steps are that many times smaller than its gradients warrant: a burst of gradient
froze it. A ratio that falls between checkpoints exactly as beta2 decays it (x beta2^(steps/2))
means no new large gradient came since. docs/RESULTS.md, "Gradient bursts".

    python benchmarks/adam_state.py RUN [RUN ...] [--name adam-state-cpu]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

import torch

import benchlib
from dsgan.config.base import load_config
from dsgan.config.dsgan import DSGANConfig
from dsgan.training.dsgan_trainer import build_generator, stage_parameters


def stage_names(run: Path) -> list[str]:
    """Names of the stage parameters in the order of the optimiser's stage group."""
    cfg = load_config(DSGANConfig, run / "config.yaml")
    g = build_generator(cfg)
    names = {id(p): n for n, p in g.named_parameters()}
    return [names[id(p)] for p in stage_parameters(g)]


def inspect_run(run: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    grads = [r["diag/grad_stages"] for r in rows if "diag/grad_stages" in r]
    if not grads:
        raise SystemExit(f"{run}: no diag/grad_stages in metrics.jsonl (no physical stages?)")
    median = statistics.median(grads)
    names = stage_names(run)
    gate = {r["step"]: r["codec/gate"] for r in rows if "codec/gate" in r}
    states = []
    for path in sorted((run / "checkpoints").glob("step_*.state.pt")):
        state = torch.load(path, map_location="cpu", weights_only=True)
        opt = state["opt_g"]
        ids = opt["param_groups"][1]["params"]
        ratio = {
            n: float(opt["state"][i]["exp_avg_sq"].max().sqrt()) / median
            for n, i in zip(names, ids, strict=True)
        }
        states.append({"step": int(state["step"]), "ratio": ratio, "gate": gate.get(state["step"])})
    beta2 = load_config(DSGANConfig, run / "config.yaml").optim.beta2
    return {"run": str(run), "median_grad_stages": median, "beta2": beta2, "states": states}


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "# Adam's second moment of the stage parameters",
        "",
        "sqrt(v) / median logged stage-gradient norm, per saved state (>> 1: frozen by a burst).",
        "",
        "| run | step | gate | " + " | ".join(["parameter ratios"]) + " |",
        "|---|---|---|---|",
    ]
    for r in results:
        for s in r["states"]:
            ratios = ", ".join(f"{n} {v:.1f}" for n, v in s["ratio"].items())
            g = "–" if s["gate"] is None else f"{s['gate']:.3f}"
            lines.append(f"| {Path(r['run']).name} | {s['step']} | {g} | {ratios} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", type=Path, help="DSGAN run directories")
    p.add_argument("--name", default="adam-state-cpu", help="result file stem")
    args = p.parse_args()
    results = [inspect_run(r) for r in args.runs]
    text = markdown(results)
    print(text)
    benchlib.write_result(
        benchlib.ROOT / "benchmarks" / "results" / args.name, {"runs": results}, text
    )


if __name__ == "__main__":
    main()
