"""``dsgan demo``: the whole idea in a few CPU minutes, offline, on photos that ship with a dependency.

It takes the colour photos bundled with scikit-image (public-domain / CC0, see the README), makes a
"real-world" domain by adding Gaussian sensor noise (sigma 8) at native resolution (the paper's
synthetic protocol), trains DSGAN in same-domain mode on the noisy training photos, degrades the
held-out *clean* photos with it, and writes ``OUT/comparison.png``: bicubic | DSGAN | real (the true
corruption of the same image), so one can see whether the learned degradation looks real.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dsgan.cli.common import int_at_least, seed_type

NAME = "demo"
HELP = "train a small DSGAN on bundled photos and write a bicubic | DSGAN | real comparison"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder")
    p.add_argument("--iterations", type=int_at_least(1), default=300)
    p.add_argument("--batch-size", type=int_at_least(1), default=8)
    p.add_argument("--crop", type=int_at_least(1), default=32, help="LR crop size")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=seed_type, default=0)


def run(args: argparse.Namespace) -> int:
    from dsgan.workflows.demo import run_demo

    run_dir, picture = run_demo(
        args.out, args.iterations, args.batch_size, args.crop, args.device, args.seed
    )
    print(f"run directory: {run_dir}\ncomparison (bicubic | DSGAN | real): {picture}")
    return 0
