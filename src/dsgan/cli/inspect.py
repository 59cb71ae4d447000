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
import sys
from pathlib import Path

from dsgan.cli.common import int_at_least, seed_type
from dsgan.errors import UserError
from dsgan.io.outputs import check_output_file

NAME = "inspect"
HELP = (
    "what a trained degradation model learned, in physical terms (noise vs intensity, "
    "whiteness, channel correlation, blur, JPEG, colour), next to the same statistics of real LR"
)


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


def run(args: argparse.Namespace) -> int:
    from dsgan.io.atomic import write_text_atomic
    from dsgan.metrics.inspect_report import format_text, render_html
    from dsgan.metrics.report import to_json, write_json
    from dsgan.workflows.inspect import InspectOptions, inspect_model

    _check_args(args)
    result = inspect_model(
        InspectOptions(
            model=args.model,
            hr=args.hr,
            lr=args.lr,
            max_images=args.max_images,
            bins=args.bins,
            scale=args.scale,
            tile=args.tile,
            seed=args.seed,
            device=args.device,
        )
    )
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
