"""What the learned-quality JPEG codec costs per DSGAN training step (``model.codec: jpeg``).

Two trainers of the recommended DSGAN (configs/dsgan-real.yaml's model and losses), one with the
codec, on the same generated images and the same batch; rounds alternate one step of each, so
both see the same machine load. Reported: the median step time of each and their ratio (the
codec adds its round trip and, for the quality's finite difference, two more D forward passes).
A third trainer has a gated codec snapped off (``optim.gate_snap``, the gate below 0.5), which the
trainer skips: its ratio to the codec-less step should be 1.

With ``--id-quality``, instead: two trainers with the default's identity prior (``loss.w_id``
0.03, so G runs an antithetic pair) and a gated codec, one of them with ``loss.id_quality`` (the
quality's finite difference codes both outputs of the pair, not one); their ratio is what that
option costs (``codec-cost-idq-<device>.json``).

    python benchmarks/codec_cost.py                         # CPU, batch 8, LR crop 32
    python benchmarks/codec_cost.py --device cuda --batch-size 32 --crop 64
    python benchmarks/codec_cost.py --id-quality
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchlib import ROOT, git_commit, machine
from dsgan.config.base import load_config
from dsgan.config.dsgan import DSGANConfig
from dsgan.training.dsgan_trainer import DSGANTrainer
from speed import sync, write_images

PRIOR = {"model.codec_gate": True, "loss.w_id": 0.03}  # the default's prior and gate


def trainer(hr: Path, out: Path, args: argparse.Namespace, codec: str) -> DSGANTrainer:
    """codec: none, jpeg, off (jpeg with a learned gate, snapped off from step 1 on), prior
    (jpeg, gated, identity prior) or idq (prior with loss.id_quality)."""
    off = codec == "off"
    extra = {
        "off": {"model.codec_gate": True, "optim.gate_snap": 1e-6},
        "prior": PRIOR,
        "idq": {**PRIOR, "loss.id_quality": True},
    }.get(codec, {})
    t = DSGANTrainer(
        load_config(
            DSGANConfig,
            overrides={
                **extra,
                "data.hr": str(hr),
                "data.crop": args.crop,
                "batch_size": args.batch_size,
                "loss.perceptual": "none",
                "model.output": "residual",
                "model.noise_channels": 3,
                "model.codec": "none" if codec == "none" else "jpeg",
                "loss.w_col": 0.1,
                "loss.d_batch": "joint",
                "device": args.device,
                "out": str(out),
                "iterations": 10**6,
            },
        )
    )
    if off:
        with torch.no_grad():
            t.g.codec.gate_logit.fill_(-3.0)
        t.step = 1  # past the snap (the loop, not train_step, counts steps)
    return t


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--crop", type=int, default=32, help="LR crop (the CPU quality benchmark's)")
    p.add_argument("--rounds", type=int, default=20, help="timed rounds (one step of each)")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument(
        "--id-quality", action="store_true", help="time loss.id_quality against the prior alone"
    )
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_images(work / "hr", 8, args.crop * 4 + 16, seed=0)
        kinds = ("prior", "idq") if args.id_quality else ("none", "jpeg", "off")
        runs = {c: trainer(work / "hr", work / c, args, c) for c in kinds}
        hr = torch.randint(0, 256, (args.batch_size, 3, args.crop * 4, args.crop * 4))
        real = torch.randint(0, 256, (args.batch_size, 3, args.crop, args.crop))
        batch = {c: t._prepare(hr.to(torch.uint8), real.to(torch.uint8)) for c, t in runs.items()}
        times: dict[str, list[float]] = {c: [] for c in runs}
        for r in range(args.rounds + 2):  # two warm-up rounds
            for c, t in runs.items():
                sync(dev)
                start = time.perf_counter()
                t.train_step(*batch[c])
                sync(dev)
                if r >= 2:
                    times[c].append(time.perf_counter() - start)
    med = {c: statistics.median(v) for c, v in times.items()}
    summary = {
        "command": "python benchmarks/codec_cost.py " + " ".join(argv or sys.argv[1:]),
        "commit": git_commit(),
        "machine": machine(dev),
        "batch_size": args.batch_size,
        "crop": args.crop,
        "rounds": args.rounds,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    if args.id_quality:
        summary |= {
            "step_s_prior": med["prior"],
            "step_s_id_quality": med["idq"],
            "ratio": med["idq"] / med["prior"],
        }
        print(json.dumps(summary))
        (args.out / f"codec-cost-idq-{dev.type}.json").write_text(
            json.dumps(summary, indent=1) + "\n"
        )
        return 0
    summary |= {
        "step_s_without_codec": med["none"],
        "step_s_with_codec": med["jpeg"],
        "ratio": med["jpeg"] / med["none"],
        "step_s_codec_snapped_off": med["off"],
        "ratio_snapped_off": med["off"] / med["none"],
    }
    print(json.dumps(summary))
    (args.out / f"codec-cost-{dev.type}.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
