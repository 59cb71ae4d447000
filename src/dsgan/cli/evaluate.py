"""``dsgan evaluate GEN_DIR [REAL_DIR]``: image quality of a folder, and how it compares to real.

Always: the no-reference scores NIQE and BRISQUE of each folder (lower is better; bootstrap
intervals over images). With REAL_DIR: FID/KID (when the Inception weights are found), noise
level, cross-channel residual correlation, blocking (8-px grid steps, as JPEG's), high-frequency
spectrum distance and a classifier two-sample test. With ``--gt``: PSNR / SSIM / colour PSNR /
LPIPS. Prints a table (and the JSON summary); ``--json`` and ``--report`` write files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dsgan.cli.common import int_at_least, seed_type
from dsgan.errors import UserError
from dsgan.io.outputs import check_output_file
from dsgan.metrics.evaluate import EvalOptions, evaluate_loaded, load_sets
from dsgan.metrics.report import format_table, to_json, write_html, write_json

NAME = "evaluate"
HELP = "image quality without ground truth (NIQE, BRISQUE), against real images (FID/KID, noise, spectra, two-sample test) and with --gt (PSNR/SSIM/LPIPS)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("gen_dir", type=Path, metavar="GEN_DIR", help="generated images")
    p.add_argument(
        "real_dir",
        type=Path,
        nargs="?",
        metavar="REAL_DIR",
        help="real images of the target domain (optional: without it, only NIQE/BRISQUE and --gt)",
    )
    p.add_argument(
        "--gt",
        type=Path,
        metavar="DIR",
        help="ground truth for GEN_DIR, matched by file name stem: adds PSNR, SSIM, colour PSNR, LPIPS",
    )
    p.add_argument(
        "--json",
        type=Path,
        metavar="FILE",
        help="write the full result as JSON ('-' prints it to stdout)",
    )
    p.add_argument(
        "--report", type=Path, metavar="FILE.html", help="write a self-contained HTML report"
    )
    p.add_argument(
        "--samples", type=int, default=4, help="images per folder shown in the report (default 4)"
    )
    p.add_argument(
        "--max-images", type=int, metavar="N", help="use only the first N images of each folder"
    )
    g = p.add_argument_group("FID / KID")
    g.add_argument(
        "--inception-weights",
        type=Path,
        metavar="FILE",
        help="torch-fidelity Inception file (weights-inception-2015-12-05-6726825d.pth); "
        "default: the torch hub cache",
    )
    fid = g.add_mutually_exclusive_group()
    fid.add_argument(
        "--require-fid",
        action="store_true",
        help="fail (exit 2) when the Inception weights are missing instead of skipping FID/KID",
    )
    fid.add_argument("--no-fid", action="store_true", help="skip FID/KID")
    g.add_argument(
        "--kid-subset-size", type=int, default=1000, help="reduced to the smaller set size"
    )
    g.add_argument("--kid-subsets", type=int_at_least(1), default=100)
    g.add_argument("--batch-size", type=int_at_least(1), default=16)
    p.add_argument(
        "--no-noref",
        action="store_true",
        help="skip NIQE and BRISQUE (about 0.3 s per 512x512 image)",
    )
    g = p.add_argument_group("noise, spectra, two-sample test (with REAL_DIR)")
    g.add_argument("--noise-method", choices=("immerkaer", "mad"), default="immerkaer")
    g.add_argument(
        "--band",
        type=float,
        nargs=2,
        default=(0.25, 0.5),
        metavar=("LOW", "HIGH"),
        help="spectrum band compared, cycles/pixel within [0, 0.5] (default 0.25 0.5)",
    )
    g.add_argument(
        "--no-two-sample", action="store_true", help="skip the classifier two-sample test"
    )
    g.add_argument(
        "--patch-size", type=int_at_least(4), default=32, help="two-sample patch size (default 32)"
    )
    g.add_argument(
        "--patches", type=int, default=2048, help="training patches per set (default 2048)"
    )
    g.add_argument(
        "--test-patches", type=int, default=512, help="held-out patches per set (default 512)"
    )
    g.add_argument(
        "--iterations",
        type=int,
        default=300,
        help="classifier training steps per fold (default 300)",
    )
    g.add_argument(
        "--folds",
        type=int,
        default=4,
        help="cross-validation folds: each image is held out once (default 4; 1 = one split)",
    )
    g = p.add_argument_group("reference metrics (--gt)")
    g.add_argument(
        "--y-channel", action="store_true", help="PSNR/SSIM on the BT.601 Y channel instead of RGB"
    )
    g.add_argument(
        "--crop-border", type=int, default=0, metavar="N", help="ignore N pixels at each border"
    )
    g.add_argument(
        "--lpips-weights",
        type=Path,
        metavar="FILE",
        help="torchvision AlexNet file for LPIPS (default: the torch hub cache; LPIPS is skipped if absent)",
    )
    g.add_argument("--no-lpips", action="store_true")
    p.add_argument("--seed", type=seed_type, default=0)
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, auto, ...")


def _check_args(args: argparse.Namespace) -> None:
    for name in (
        "samples",
        "kid_subsets",
        "batch_size",
        "patch_size",
        "patches",
        "test_patches",
        "folds",
    ):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be >= 1")
    if args.kid_subset_size < 2:
        raise UserError("--kid-subset-size must be >= 2")
    if args.iterations < 0 or args.crop_border < 0:
        raise UserError("--iterations and --crop-border must be >= 0")
    if args.max_images is not None and args.max_images < 1:
        raise UserError("--max-images must be >= 1")
    if args.real_dir is None and args.gt is None and args.no_noref:
        raise UserError(
            "nothing to compute: give REAL_DIR, --gt DIR, or drop --no-noref (NIQE/BRISQUE)"
        )
    lo, hi = args.band
    if not 0 <= lo < hi <= 0.5:
        raise UserError(f"--band {lo} {hi}: need 0 <= LOW < HIGH <= 0.5 (cycles/pixel)")
    inputs = [d.resolve() for d in (args.gen_dir, args.real_dir, args.gt) if d is not None]
    for flag, out in (("--json", args.json), ("--report", args.report)):
        if out is not None and str(out) != "-":
            check_output_file(out, flag)
        if out is not None and str(out) != "-" and out.resolve().parent in inputs:
            raise UserError(
                f"{out}: do not write results into an input folder; choose another path"
            )


def run(args: argparse.Namespace) -> int:
    _check_args(args)
    options = EvalOptions(
        fid="off" if args.no_fid else ("require" if args.require_fid else "auto"),
        inception_weights=args.inception_weights,
        kid_subset_size=args.kid_subset_size,
        kid_subsets=args.kid_subsets,
        batch_size=args.batch_size,
        noise_method=args.noise_method,
        spectrum_band=tuple(args.band),
        two_sample=not args.no_two_sample,
        ts_patch_size=args.patch_size,
        ts_train_patches=args.patches,
        ts_test_patches=args.test_patches,
        ts_iterations=args.iterations,
        ts_folds=args.folds,
        lpips="off" if args.no_lpips else "auto",
        lpips_weights=args.lpips_weights,
        y_channel=args.y_channel,
        crop_border=args.crop_border,
        noref=not args.no_noref,
        seed=args.seed,
        device=args.device,
    )
    sets = load_sets(args.gen_dir, args.real_dir, args.gt, args.max_images)
    result = evaluate_loaded(sets, options)

    to_stdout = args.json is not None and str(args.json) == "-"
    table_out = sys.stderr if to_stdout else sys.stdout
    print(format_table(result), file=table_out)
    if to_stdout:
        print(to_json(result))
    else:
        print(to_json(result, curves=False))
        if args.json is not None:
            write_json(result, args.json)
            print(f"wrote {args.json}")
    if args.report is not None:
        k = args.samples
        samples = [("generated", sets.gen[:k], [p.name for p in sets.gen_files[:k]])]
        if sets.real is not None:
            samples.append(("real", sets.real[:k], [p.name for p in sets.real_files[:k]]))
        if sets.gt is not None and sets.gt_index is not None:
            names = [sets.gen_files[i].name for i in sets.gt_index[:k]]
            samples.append(("ground truth (of the generated images named)", sets.gt[:k], names))
        write_html(result, args.report, samples)
        print(f"wrote {args.report}", file=table_out)
    return 0
