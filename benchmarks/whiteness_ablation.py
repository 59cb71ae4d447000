"""Which training setting makes DSGAN's noise white? One DSGAN per setting, its noise measured.

Trains the quality benchmark's DSGAN variants that differ from ``residual`` in one setting at a time
(``wcol``: colour loss weight 0.1; ``joint``: D on reals and fakes in one batch; ``colormean``:
colour loss on the antithetic mean), both (``balanced``), and both with white noise added at a
learned scale (``balanced-inject``) or a 9x9 box filter (``balanced-k9``), on the noise-sigma-8
data, same-domain and unpaired, at the benchmark's budget (``--quick`` / ``--scale-budget`` /
``--dsgan-*`` as there). The runs are the benchmark's own: those it already trained are reused, new
ones land in the same work directory. Degrades the val photos and reports the residual statistics of
``noise_whiteness.py`` (lag-1/lag-2 autocorrelation, 0 for white noise; residual std; share of power
above 0.35 cycles/pixel, about 0.62 when white), the noise level and the two-sample accuracy of
``quality.py``'s realism metrics.

    python benchmarks/whiteness_ablation.py                 # after python benchmarks/quality.py
    python benchmarks/whiteness_ablation.py --variants balanced --dsgan-iterations 2400

Other ``--variants`` or a longer budget write ``whiteness-ablation-<tag>-<variants>[-it<N>]``.
"""

from __future__ import annotations

import json
import os
import sys

from benchlib import git_commit
from dsgan.devices import resolve_device
from noise_whiteness import residual_stats
from quality import fmt_or_na, parse_args
from qualitylib import (
    CORRUPTIONS,
    budget_from_args,
    dsgan_jobs,
    load_folder,
    lr_set,
    prepare_data,
    realism,
    run_jobs,
    train_job,
)

ABLATION = [
    "residual",
    "colormean",
    "joint",
    "wcol",
    "balanced",
    "balanced-inject",
    "balanced-k9",
]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(["--variants", *ABLATION, "--corruptions", "noise8", *(argv or [])])
    b = budget_from_args(args)
    device = resolve_device(args.device)
    work = args.work / args.tag
    sets = prepare_data(args.data, work, "noise8", CORRUPTIONS["noise8"], args.unpaired_split)
    threads = max(1, (os.cpu_count() or 1) // max(1, args.jobs))
    gen_paths = run_jobs(train_job, dsgan_jobs(sets, work, "noise8", b, args, threads), args.jobs)
    bicubic = load_folder(sets["val_bicubic_lr"])
    real = load_folder(sets["test_lr"])
    rows = [("real LR", residual_stats([real[k] - bicubic[k] for k in sorted(real)]))]
    for method in gen_paths:
        gen = load_folder(lr_set(method, "val", gen_paths, sets, device))
        r = realism(gen, real, bicubic, args.seed, str(device))
        rows.append(
            (
                method,
                {
                    **residual_stats([gen[k] - bicubic[k] for k in sorted(gen)]),
                    "noise_sigma": r["noise_sigma_gen"],
                    "two_sample_accuracy": r["two_sample_accuracy"],
                },
            )
        )
    if len(rows) > 1:  # realism measured the real LR's level along with each method's
        rows[0][1]["noise_sigma"] = r["noise_sigma_real"]
    lines = [
        "# Noise whiteness by training setting (noise sigma 8, val photos)",
        "",
        f"- command: `python benchmarks/whiteness_ablation.py {' '.join(argv or [])}`",
        f"- commit: {git_commit()}; budget: {json.dumps(b.__dict__)}; one seed ({args.seed}) per setting",
        f"- unpaired split: {args.unpaired_split}",
        "- variants: residual (w_col 1, separate D batches); colormean (+ loss.color_mean); joint "
        "(+ loss.d_batch joint); wcol (+ loss.w_col 0.1); balanced (wcol + joint); balanced-inject "
        "(balanced + model.noise_injection); balanced-k9 (balanced + loss.kernel_size 9)",
        "",
        "| LR | lag-1 autocorr | lag-2 autocorr | residual std | power above 0.35 c/px "
        "| noise sigma | 2-sample acc |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {s['lag1']:+.3f} | {s['lag2']:+.3f} | {s['std']:.2f} | {s['hf_share']:.3f} "
        f"| {fmt_or_na(s.get('noise_sigma'), '.2f')} "
        f"| {fmt_or_na(s.get('two_sample_accuracy'), '.3f')} |"
        for name, s in rows
    ]
    text = "\n".join(lines) + "\n"
    args.results.mkdir(parents=True, exist_ok=True)
    name = f"whiteness-ablation-{args.tag}"
    if args.unpaired_split != "interleaved":
        name += f"-{args.unpaired_split}"
    if args.variants != ABLATION:
        name += "-" + "-".join(args.variants)
    if args.dsgan_iterations or args.scale_budget != 1:
        name += f"-it{b.dsgan_iterations}"
    (args.results / f"{name}.md").write_text(text, encoding="utf-8")
    (args.results / f"{name}.json").write_text(
        json.dumps({name: s for name, s in rows}, indent=2), encoding="utf-8"
    )
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
