"""What a trained generator with a JPEG stage does before its codec, against the real LR.

For each run given: G's change of its bicubic input before the codec (mean absolute difference,
grey levels; the true noise + JPEG corruption adds sigma-6 Gaussian noise, a mean |change| of 4.8),
the share of output pixels outside [0, 1] before and after the codec, and the blockiness
(``dsgan.metrics.blocking.batch_blockiness``, the training statistic) of G's pre-codec output coded
at a range of JPEG qualities, next to the real LR's on random crops of the same size. Where G's
coded blockiness meets the real LR's says which quality matches the real block grid *given* what
G puts in front of the codec.

    python benchmarks/precodec.py RUN [RUN ...] --hr HR_DIR --lr REAL_LR_DIR --name NAME

A RUN is a run directory (its exported generator) or a checkpoint file; ``--raw`` measures a
checkpoint's G itself where it also holds a moving average (``ema``), which is what loads by
default.

``--d-verdict`` also asks the run's own last discriminator which quality it prefers: G's
adversarial loss (the one the codec's finite difference steps on, same D, BatchNorm as in
training) over a grid of qualities, for the images in front of the codec: G's output as trained,
with its sensor stage silenced (the network still gets its noise input), with its noise draw
zeroed (no sensor noise, no noise input to the network), and, with
``--truth-blur SIGMA``, the ideal one for a blur + JPEG truth (the bicubic LR blurred as the truth
was, no noise). With a learned codec gate each is also coded by the full codec (``_gate1``): a
blend of coded and uncoded output is a weaker codec, which a lower quality makes up for. Where
each curve is lowest is where the codec's quality is pulled given that image:
if the ideal image's minimum sits near the true quality and G's lower, G's own output is what drags
the quality down.

    python benchmarks/precodec.py RUN --hr HR_DIR --lr REAL_LR_DIR --d-verdict --truth-blur 1.2 \
        --name NAME
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from benchlib import ROOT, write_result
from dsgan.checkpoints.files import checkpoint_config, read_weights
from dsgan.checkpoints.load import load_generator, resolve_source
from dsgan.config.dsgan import LossConfig
from dsgan.data.sampling import random_crop
from dsgan.errors import UserError
from dsgan.io.images import list_images, load_image
from dsgan.losses.dsgan import DSGANLoss
from dsgan.metrics.blocking import batch_blockiness
from dsgan.metrics.degradation import blur_width
from dsgan.models.codec import MACROBLOCK, jpeg_round_trip
from dsgan.models.dsgan import Discriminator, generator_from_config
from dsgan.ops.corrupt import gaussian_blur
from dsgan.ops.resize import imresize
from dsgan.training.codec_step import frozen_batchnorm_stats
from dsgan.training.common import d_pair_logits

RESULTS = ROOT / "benchmarks" / "results"
QUALITIES = (90, 75, 60, 45, 30, 20)
D_QUALITIES = tuple(range(10, 100, 5))  # --d-verdict's grid


def random_crops(images: list[torch.Tensor], size: int, n: int, g: torch.Generator) -> torch.Tensor:
    """(n, 3, size, size) crops at random positions of random images (as training draws them)."""
    out = []
    for _ in range(n):  # an image, then its crop: the draws in this order
        out.append(random_crop(images[int(torch.randint(len(images), (1,), generator=g))], size, g))
    return torch.stack(out)


def load_raw(run: Path) -> torch.nn.Module:
    """G's own weights from a checkpoint that also holds their moving average (``g_ema.*``)."""
    path = resolve_source(run)
    with safe_open(str(path), "pt") as fh:
        meta = fh.metadata()
    tensors = {k: v for k, v in load_file(path).items() if not k.startswith("g_ema.")}
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        save_file(tensors, copy, metadata=meta)
        g, _ = load_generator(copy)
    return g


@torch.no_grad()
def measure(run: Path, lr_batches: list[torch.Tensor], raw: bool) -> dict:
    """One run's statistics on the given bicubic LR batches (N, 3, crop, crop)."""
    g = load_raw(run) if raw else load_generator(run)[0]
    g.eval()
    torch.manual_seed(0)  # G's noise draws
    pre = [g(x, codec_offset=None).float() for x in lr_batches]
    final = [g(x).float() for x in lr_batches]
    change = statistics.mean(
        float((p - x).abs().mean() * 255) for p, x in zip(pre, lr_batches, strict=True)
    )

    def outside(ts: list[torch.Tensor]) -> float:
        return sum(int(((t < 0) | (t > 1)).sum()) for t in ts) / sum(t.numel() for t in ts)

    coded = {
        q: statistics.mean(
            float(batch_blockiness(jpeg_round_trip(p, torch.tensor(float(q)), (0, 0)).clamp(0, 1)))
            for p in pre
        )
        for q in QUALITIES
    }
    learned = None if g.codec is None else round(float(g.codec.quality), 1)
    gate = None if g.codec is None or g.codec.gate_logit is None else round(float(g.codec.gate), 3)
    return {
        "run": str(run),
        "learned_quality": learned,
        "gate": gate,
        "change": change,
        "outside_pre": outside(pre),
        "outside_final": outside(final),
        "blockiness_coded": coded,
    }


@torch.no_grad()
def d_verdict(
    run: Path,
    lr_batches: list[torch.Tensor],
    real_batches: list[torch.Tensor],
    truth_blur: float | None = None,
    qualities: tuple[int, ...] = D_QUALITIES,
) -> dict:
    """G's adversarial loss under the run's last D at each quality, per image before the codec.

    ``lr_batches``: bicubic LR (N, 3, h, w) in [0, 1]; ``real_batches``: real LR crops of the
    same shape. Variants: ``trained``, ``no_sensor`` (a G with a sensor stage), ``no_noise`` and,
    with ``truth_blur``, ``truth``; each also with the suffix ``_gate1``, coded by the full codec
    without the learned gate's blend (only where the gate is learned). Each batch gets one grid
    offset for all its qualities and variants, so the curves differ only by what they vary.

    Returns ``{"curves": {variant: {q: mean loss}}, "argmin": {variant: q}, "argmin_ci",
    "learned_quality", "gate", "checkpoint", "blur", "blur_real"}``.
    """
    weights = resolve_source(run, checkpoint=True)  # a checkpoint: D is needed
    groups, meta = read_weights(weights)
    if "d" not in groups:
        raise UserError(f"{weights}: holds no discriminator; give a run directory or a checkpoint")
    cfg = checkpoint_config(weights, meta)
    g = generator_from_config(cfg["model"])
    g.load_state_dict(groups["g"])
    if g.codec is None:
        raise UserError(f"{weights}: its generator has no codec (model.codec: none)")
    d = Discriminator(channels=cfg["model"].get("d_channels", 64))
    d.load_state_dict(groups["d"])
    g.eval()
    d.train()  # batch statistics, as when the trainer takes the codec's finite difference
    loss = DSGANLoss(LossConfig.model_validate({**cfg["loss"], "perceptual": "none"}))
    joint = cfg["loss"].get("d_batch", "joint") == "joint"
    rng = torch.Generator().manual_seed(0)
    quiet = None  # G with its sensor stage silenced (zero shot and read noise), the rest as is
    if g.sensor is not None:
        quiet = copy.deepcopy(g)
        quiet.sensor.log_shot.fill_(-math.inf)
        quiet.sensor.log_read.fill_(-math.inf)

    def adv(real: torch.Tensor, coded: torch.Tensor) -> float:
        with frozen_batchnorm_stats(d):
            d_real, d_fake = d_pair_logits(d, loss.d_input(real), loss.d_input(coded), joint)
        return float(loss.adv.generator(d_fake, d_real))

    # as the run codes (its gate's blend included), and, with a learned gate, fully coded
    codes = {"": g.codec.at}
    if g.codec.gate_logit is not None:
        codes["_gate1"] = jpeg_round_trip
    per_batch: dict[str, list[list[float]]] = {}  # variant -> one row of losses per batch
    seen: dict[str, list[torch.Tensor]] = {}  # each image in front of the codec, for its blur
    for x, real in zip(lr_batches, real_batches, strict=True):
        noise = torch.randn(x.shape[0], g.noise_channels, *x.shape[2:], generator=rng)
        fronts = {"trained": g(x, noise, codec_offset=None).float()}
        if quiet is not None:
            fronts["no_sensor"] = quiet(x, noise, codec_offset=None).float()
        fronts["no_noise"] = g(x, torch.zeros_like(noise), codec_offset=None).float()
        if truth_blur is not None:
            fronts["truth"] = torch.stack([gaussian_blur(im, truth_blur) for im in x])
        oy, ox = torch.randint(MACROBLOCK, (2,), generator=rng).tolist()
        for name, front in fronts.items():
            seen.setdefault(name, []).extend(front.clamp(0, 1))
            for tail, code in codes.items():
                per_batch.setdefault(name + tail, []).append(
                    [adv(real, code(front, torch.tensor(float(q)), (oy, ox))) for q in qualities]
                )
    losses = {k: np.asarray(v) for k, v in per_batch.items()}
    curves = {k: dict(zip(qualities, v.mean(0).tolist(), strict=True)) for k, v in losses.items()}
    # blur_width's Gaussian width (LR pixels) of each image in front of the codec, once per image
    blur = {k: blur_width(v) for k, v in seen.items()}
    return {
        "checkpoint": str(weights),
        "learned_quality": round(float(g.codec.quality), 1),
        "gate": None if g.codec.gate_logit is None else round(float(g.codec.gate), 3),
        "curves": curves,
        "argmin": {k: min(c, key=c.__getitem__) for k, c in curves.items()},
        "argmin_ci": {k: argmin_interval(v, qualities) for k, v in losses.items()},
        # and of the real LR crops (codec included: its quantisation also widens edges)
        "blur": {k: blur[k.removesuffix("_gate1")] for k in per_batch},
        "blur_real": blur_width([im for b in real_batches for im in b]),
    }


def argmin_interval(
    losses: np.ndarray, qualities: tuple[int, ...], resamples: int = 2000, seed: int = 0
) -> list[int]:
    """The 95% percentile-bootstrap interval of the quality where the mean loss is lowest,
    resampling the batches: ``losses`` (batches, qualities). A flat curve gives a wide one."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, losses.shape[0], size=(resamples, losses.shape[0]))
    best = np.asarray(qualities)[losses[idx].mean(1).argmin(1)]
    lo, hi = np.quantile(best, [0.025, 0.975], method="nearest")
    return [int(lo), int(hi)]


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def verdict_lines(rows: list[dict], qualities: tuple[int, ...] = D_QUALITIES) -> list[str]:
    """The Markdown table of :func:`d_verdict` results."""
    head = " | ".join(f"q{q}" for q in qualities)
    lines = [
        "",
        "G's adversarial loss under the run's last D (lower: D takes the fakes for real more) by "
        "the quality the codec codes at, for what stands in front of the codec:",
        "",
        f"| run | learned quality | gate | in front of the codec | its blur (real LR's) | D's "
        f"preferred quality [95%, batches resampled] | {head} |",
        "|---|---|---|---|---|---|" + "---|" * len(qualities),
    ]
    for r in rows:
        name = "/".join(Path(r["checkpoint"]).parts[-4:-2])
        for variant, curve in r["curves"].items():
            cells = " | ".join(f"{curve[q]:.3f}" for q in qualities)
            blur = f"{_num(r['blur'][variant])} ({_num(r['blur_real'])})"
            lo, hi = r["argmin_ci"][variant]
            lines.append(
                f"| {name} | {r['learned_quality']} | {r['gate']} | {variant} | {blur} | "
                f"**{r['argmin'][variant]}** [{lo}, {hi}] | {cells} |"
            )
    return lines


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "runs", type=Path, nargs="+", help="dsgan train run directories or checkpoint files"
    )
    p.add_argument("--hr", type=Path, required=True, help="G's clean HR photos")
    p.add_argument("--lr", type=Path, required=True, help="the real LR photos")
    p.add_argument("--crop", type=int, default=32, help="LR crop side (training's)")
    p.add_argument("--batches", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--raw", action="store_true", help="G's weights, not their moving average")
    p.add_argument(
        "--d-verdict", action="store_true", help="also D's preferred quality (module docstring)"
    )
    p.add_argument(
        "--truth-blur",
        type=float,
        help="with --d-verdict: the true blur (LR pixels) of a blur + JPEG truth, for the ideal "
        "image in front of the codec",
    )
    p.add_argument("--name", default="precodec")
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()
    hr = [load_image(f) for f in list_images(args.hr)]
    real = [load_image(f) for f in list_images(args.lr)]
    g = torch.Generator().manual_seed(0)
    real_block = statistics.mean(
        float(batch_blockiness(random_crops(real, args.crop, args.batch_size, g)))
        for _ in range(args.batches)
    )
    side = args.crop * args.scale
    lr_batches = [
        imresize(random_crops(hr, side, args.batch_size, g), 1 / args.scale).clamp(0, 1)
        for _ in range(args.batches)
    ]
    rows = [measure(run, lr_batches, args.raw) for run in args.runs]
    verdicts = []
    if args.d_verdict:
        real_batches = [random_crops(real, args.crop, args.batch_size, g) for _ in lr_batches]
        verdicts = [d_verdict(run, lr_batches, real_batches, args.truth_blur) for run in args.runs]
    head = " | ".join(f"q{q}" for q in QUALITIES)
    lines = [
        f"# Before the codec: {', '.join(r.name for r in args.runs)}",
        "",
        f"{args.batches} batches of {args.batch_size} random {args.crop}-px LR crops (bicubic "
        f"x{args.scale} of {args.hr}); real LR: {args.lr}, batch blockiness **{real_block:.3f}** "
        "on random crops of the same size.",
        "",
        f"| run | learned quality | gate | mean abs change before the codec (0..255) | outside "
        f"[0, 1] before / after the codec | blockiness coded at {head} |",
        "|---|---|---|---|---|" + "---|" * len(QUALITIES),
    ]
    for r in rows:
        cells = " | ".join(f"{r['blockiness_coded'][q]:.3f}" for q in QUALITIES)
        lines.append(
            f"| {'/'.join(Path(r['run']).parts[-3:])} | {r['learned_quality']} | {r['gate']} | {r['change']:.2f} "
            f"| {r['outside_pre']:.1e} / {r['outside_final']:.1e} | {cells} |"
        )
    if verdicts:
        lines += verdict_lines(verdicts)
    write_result(
        args.results / args.name,
        {
            "real_blockiness": real_block,
            "runs": rows,
            "qualities": list(QUALITIES),
            "d_verdict": verdicts,
            "truth_blur": args.truth_blur,
        },
        "\n".join(lines),
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except UserError as exc:  # a missing run or checkpoint: a message, not a traceback
        raise SystemExit(f"error: {exc}") from None
