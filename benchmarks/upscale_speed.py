"""Speed of ``dsgan upscale`` against a plain tile loop written the way Real-ESRGAN's inference
script processes an image (issue 20): megapixels of output per second, one folder of PNGs in,
PNGs out, decode and encode included.

Paths, each timed on the same images in interleaved rounds (median of the rounds):

* ``reference``: fp32, one tile at a time, ``tile_pad`` pixels of context per side, the centre
  kept (Real-ESRGAN's ``RealESRGANer.tile_process``, re-implemented from its description), the
  same RRDBNet and the same image IO;
* ``dsgan upscale`` (:func:`dsgan.inference.upscale.upscale_folder`) with PyTorch fp32, with
  ``--channels-last``, with ``--amp bf16`` (bf16 trunk, :mod:`dsgan.inference.precision`), and
  with ``--backend onnxruntime``, each also with ``--tile-batch 4`` where it helps; same tile and
  padding;
* for comparison, the same runner with the whole network under bf16 autocast (what ``--amp
  bf16`` did before the trunk-only policy).

Each path's output is compared with the reference's on the first image (float, before 8-bit
rounding, and the share of 8-bit values that differ): fp32 paths must agree to float noise, bf16
is reported as it is.

The same run also measures how close the reference already is to what this machine can do: the
model's multiply-adds per round are counted exactly (torch's ``FlopCounterMode``, over the
reference's own tiles), each path's rate is given in GFLOP/s, and the best rate of two large,
well-shaped kernels (a matrix product and a wide 3x3 convolution, fp32 and bf16) is measured
before and after the rounds as a practical peak. ``fp32 bound`` = fp32 peak / reference rate:
the most any fp32 path could gain without doing less arithmetic.

    python benchmarks/upscale_speed.py                       # CPU default (~5 min here)
    python benchmarks/upscale_speed.py --device cuda --size 512 --tile 256 --images 8
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode

from benchlib import ROOT, git_commit, machine
from dsgan.checkpoints.load import load_sr_model
from dsgan.inference.backends import OnnxSR
from dsgan.inference.upscale import UpscaleOptions, upscale_batch, upscale_folder
from dsgan.io.images import load_image, save_image
from dsgan.models.rrdb import RRDBNet
from speed import sync

RESULTS = ROOT / "benchmarks" / "results"


@torch.no_grad()
def reference_tiles(model: RRDBNet, img: torch.Tensor, tile: int, pad: int) -> torch.Tensor:
    """(1, 3, h, w) -> (1, 3, h*s, w*s): tiles of ``tile`` pixels, ``pad`` pixels of context on
    each side (clipped at the borders), one forward per tile, the centre of each kept."""
    s = model.scale
    _, c, h, w = img.shape
    out = img.new_zeros(1, c, h * s, w * s)
    for y in range((h + tile - 1) // tile):
        for x in range((w + tile - 1) // tile):
            x0, y0 = x * tile, y * tile
            x1, y1 = min(x0 + tile, w), min(y0 + tile, h)
            px0, py0 = max(x0 - pad, 0), max(y0 - pad, 0)
            px1, py1 = min(x1 + pad, w), min(y1 + pad, h)
            res = model(img[:, :, py0:py1, px0:px1])
            oy, ox = (y0 - py0) * s, (x0 - px0) * s
            out[:, :, y0 * s : y1 * s, x0 * s : x1 * s] = res[
                :, :, oy : oy + (y1 - y0) * s, ox : ox + (x1 - x0) * s
            ]
    return out.clamp_(0, 1)


class AutocastRRDB(torch.nn.Module):
    """``net`` run entirely under bf16 autocast (what ``dsgan upscale --amp bf16`` did before it
    kept all but the trunk in float32, :mod:`dsgan.inference.precision`), for comparison."""

    def __init__(self, net: RRDBNet) -> None:
        super().__init__()
        self.net, self.scale, self.unshuffle = net, net.scale, net.unshuffle

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, torch.bfloat16):
            return self.net(x).float()


def count_conv_flops(model: torch.nn.Module, img: torch.Tensor, tile: int, pad: int) -> int:
    """Floating-point operations (2 per multiply-add, as :class:`FlopCounterMode` counts them) of
    one :func:`reference_tiles` pass over ``img`` (1, 3, h, w): RRDBNet's convolutions; bias adds,
    activations and upsampling are not counted."""
    counter = FlopCounterMode(display=False)
    with counter:
        reference_tiles(model, img, tile, pad)
    return int(counter.get_total_flops())


def peak_gflops(kind: str, dtype: torch.dtype, dev: torch.device, seconds: float = 3.0) -> float:
    """Best rate (GFLOP/s) over about ``seconds`` of repeats of a large, well-shaped kernel in
    ``dtype``: ``gemm``, a 2048 x 2048 matrix product, or ``conv``, a 3x3 convolution of 128 to
    128 channels on 128 x 128 pixels (oneDNN's favourite case; RRDBNet's own convs are smaller).
    The practical peak the model's convolutions are measured against."""
    g = torch.Generator(device="cpu").manual_seed(0)
    if kind == "gemm":
        a, b = (torch.randn(2048, 2048, generator=g).to(dev, dtype) for _ in range(2))
        flops, fn = 2 * 2048**3, lambda: torch.mm(a, b)
    else:
        x = torch.randn(1, 128, 128, 128, generator=g).to(dev, dtype)
        w = torch.randn(128, 128, 3, 3, generator=g).to(dev, dtype)
        flops, fn = 2 * 128 * 128 * 9 * 128 * 128, lambda: F.conv2d(x, w, padding=1)
    with torch.no_grad():
        fn()  # warm-up
        best = float("inf")
        t_end = time.perf_counter() + seconds
        while time.perf_counter() < t_end:
            sync(dev)
            t0 = time.perf_counter()
            fn()
            sync(dev)
            best = min(best, time.perf_counter() - t0)
    return flops / best / 1e9


def write_images(folder: Path, n: int, size: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        low = rng.random((size // 8 + 1, size // 8 + 1, 3))
        img = Image.fromarray((low * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC)
        arr = np.asarray(img).astype(np.float64) + rng.normal(0, 6, (size, size, 3))
        Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(folder / f"img_{i:03d}.png")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset", default="esrgan", help="RRDBNet preset (esrgan: 16.7 M params)")
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--weights", type=Path, help="a trained SR checkpoint instead of --preset")
    p.add_argument("--images", type=int, default=2)
    p.add_argument("--size", type=int, default=96, help="LR image side (pixels)")
    p.add_argument("--tile", type=int, default=48)
    p.add_argument("--tile-pad", type=int, default=10, help="context per tile side (Real-ESRGAN's)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--name", default=None)
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    torch.manual_seed(0)
    if args.weights:
        model, _ = load_sr_model(args.weights)
        model = model.to(dev).eval()
    else:
        model = RRDBNet.from_preset(args.preset, scale=args.scale).to(dev).eval()
        with torch.no_grad():  # a random RRDBNet's output is near 0, where clamping would hide
            # differences: scale the last layer so the output spans about [0, 1]
            y = model(torch.rand(1, 3, 32, 32, device=dev))
            model.conv_last.weight.mul_(0.2 / float(y.std()))
            model.conv_last.bias.add_(
                0.5 - float(model(torch.rand(1, 3, 32, 32, device=dev)).mean())
            )
    work = Path(tempfile.mkdtemp(prefix="dsgan-upscale-speed-"))
    inp = work / "in"
    write_images(inp, args.images, args.size, 0)
    files = sorted(inp.glob("*.png"))
    onnx_path = work / "model.onnx"
    from dsgan.export.graphs import sr_graph
    from dsgan.export.writers import write_onnx

    write_onnx(sr_graph(model.cpu(), "benchmark"), onnx_path)
    model.to(dev)
    ort_model = OnnxSR(onnx_path, dev)
    autocast_model = AutocastRRDB(model)

    def run_reference(out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        for f in files:
            img = load_image(f).unsqueeze(0).to(dev)
            save_image(reference_tiles(model, img, args.tile, args.tile_pad)[0].cpu(), out / f.name)

    def ours(**kw: Any):
        def run(out: Path) -> None:
            m = {"onnxruntime": ort_model, "autocast": autocast_model}.get(kw.get("backend"), model)
            opts = UpscaleOptions(
                tile=args.tile,
                overlap=args.tile_pad,
                amp=kw.get("amp", "off"),
                channels_last=kw.get("channels_last", False),
                tile_batch=kw.get("tile_batch", 1),
                overwrite=True,
            )
            upscale_folder(m, inp, out, opts, dev)
            if kw.get("channels_last"):
                model.to(memory_format=torch.contiguous_format)

        return run

    paths = {
        "reference (Real-ESRGAN-style tile loop, fp32)": run_reference,
        "dsgan upscale, torch fp32": ours(),
        "dsgan upscale, torch --channels-last": ours(channels_last=True),
        "dsgan upscale, torch --amp bf16": ours(amp="bf16"),
        "dsgan upscale, --backend onnxruntime": ours(backend="onnxruntime"),
        "dsgan upscale, torch --tile-batch 4": ours(tile_batch=4),
        "dsgan upscale, torch --amp bf16 --tile-batch 4": ours(amp="bf16", tile_batch=4),
        "dsgan upscale, torch --amp bf16 --channels-last --tile-batch 4": ours(
            amp="bf16", channels_last=True, tile_batch=4
        ),
        "bf16 autocast, whole network": ours(backend="autocast"),
        "bf16 autocast, whole network, --tile-batch 4": ours(backend="autocast", tile_batch=4),
        "dsgan upscale, --backend onnxruntime --tile-batch 4": ours(
            backend="onnxruntime", tile_batch=4
        ),
    }
    times: dict[str, list[float]] = {k: [] for k in paths}
    for run in paths.values():  # warm-up (one-time allocations, ORT's first run)
        run(work / "warm")
    with torch.no_grad():
        flops = sum(
            count_conv_flops(model, load_image(f).unsqueeze(0).to(dev), args.tile, args.tile_pad)
            for f in files
        )
    kernels = [(k, dt) for k in ("gemm", "conv") for dt in (torch.float32, torch.bfloat16)]
    peaks = {kd: [peak_gflops(*kd, dev)] for kd in kernels}
    for _ in range(args.rounds):
        for name, run in paths.items():
            sync(dev)
            t0 = time.perf_counter()
            run(work / "out")
            sync(dev)
            times[name].append(time.perf_counter() - t0)
    for kd in kernels:  # again after the rounds: the best of the two (clock, neighbours)
        peaks[kd].append(peak_gflops(*kd, dev))
    kernel_rates = {f"{k} {str(dt).removeprefix('torch.')}": max(v) for (k, dt), v in peaks.items()}
    peak = {
        dt: max(v for k, v in kernel_rates.items() if k.endswith(dt))
        for dt in ("float32", "bfloat16")
    }
    # agreement with the reference on the first image, in float
    img = load_image(files[0]).unsqueeze(0).to(dev)
    ref = reference_tiles(model, img, args.tile, args.tile_pad).cpu()
    outs = {
        "dsgan upscale, torch fp32": upscale_batch(model, img, args.tile, args.tile_pad),
        "dsgan upscale, torch --channels-last": upscale_batch(
            model.to(memory_format=torch.channels_last), img, args.tile, args.tile_pad, "off", True
        ),
        "dsgan upscale, torch --amp bf16": upscale_batch(
            model.to(memory_format=torch.contiguous_format), img, args.tile, args.tile_pad, "bf16"
        ),
        "dsgan upscale, --backend onnxruntime": upscale_batch(
            ort_model, img, args.tile, args.tile_pad
        ),
        "dsgan upscale, torch --tile-batch 4": upscale_batch(
            model, img, args.tile, args.tile_pad, tile_batch=4
        ),
        "dsgan upscale, torch --amp bf16 --tile-batch 4": upscale_batch(
            model, img, args.tile, args.tile_pad, "bf16", tile_batch=4
        ),
        "dsgan upscale, --backend onnxruntime --tile-batch 4": upscale_batch(
            ort_model, img, args.tile, args.tile_pad, tile_batch=4
        ),
        "bf16 autocast, whole network": upscale_batch(
            autocast_model, img, args.tile, args.tile_pad
        ),
        "bf16 autocast, whole network, --tile-batch 4": upscale_batch(
            autocast_model, img, args.tile, args.tile_pad, tile_batch=4
        ),
    }
    outs["dsgan upscale, torch --amp bf16 --channels-last --tile-batch 4"] = upscale_batch(
        model.to(memory_format=torch.channels_last), img, args.tile, args.tile_pad, "bf16", True, 4
    )
    model.to(memory_format=torch.contiguous_format)
    mp = args.images * (args.size * args.scale) ** 2 / 1e6
    ref_med = statistics.median(times[next(iter(paths))])
    rows = []
    for name in paths:
        med = statistics.median(times[name])
        out = outs[name].cpu() if name in outs else ref
        rows.append(
            {
                "path": name,
                "seconds_median": med,
                "seconds": times[name],
                "mp_per_s": mp / med,
                "vs_reference": ref_med / med,
                "max_abs_diff_vs_reference": float((out - ref).abs().max()),
                "mean_abs_diff_vs_reference": float((out - ref).abs().mean()),
                "share_8bit_values_differing": float(
                    ((out * 255).round() != (ref * 255).round()).float().mean()
                ),
                "gflops_per_s": flops / med / 1e9,
            }
        )
    summary = {
        "command": "python benchmarks/upscale_speed.py "
        + " ".join(
            f"--{k.replace('_', '-')} {v}"
            for k, v in vars(args).items()
            if v is not None and k not in ("results", "name")
        ),
        "commit": git_commit(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(dev),
        "settings": {k: v for k, v in vars(args).items() if k != "results"} | {"results": None},
        "output_megapixels_per_round": mp,
        "conv_flops_per_round": flops,
        "kernel_gflops_per_s": kernel_rates,
        "peak_gflops_per_s": peak,
        "fp32_bound_vs_reference": peak["float32"] / rows[0]["gflops_per_s"],
        "rows": rows,
    }
    name = args.name or f"upscale-speed-{dev.type}"
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"{name}.json").write_text(json.dumps(summary, indent=1, default=str))
    lines = [
        f"# `dsgan upscale` speed ({dev.type})",
        "",
        f"- command: `{summary['command']}`",
        f"- commit: {summary['commit']}, date: {summary['date']}",
        f"- machine: {json.dumps(summary['machine'])}",
        f"- RRDBNet preset {args.preset}, x{args.scale}, {args.images} images of "
        f"{args.size}x{args.size}, tile {args.tile}, context {args.tile_pad}; PNG in and out; "
        f"median of {args.rounds} interleaved rounds",
        "",
        f"- convolutions: {flops / 1e9:.2f} GFLOP per round (counted over the reference's tiles); "
        "practical peak, the best of a 2048x2048 matrix product and a 128->128-channel 3x3 "
        "convolution on 128x128 pixels: "
        + ", ".join(f"{k} {v:.0f}" for k, v in kernel_rates.items())
        + " GFLOP/s",
        f"- the reference runs at {rows[0]['gflops_per_s'] / peak['float32']:.0%} of the fp32 "
        f"peak, end to end: **fp32 bound {summary['fp32_bound_vs_reference']:.2f}x** (the most an "
        "fp32 path can gain without doing less arithmetic)",
        "",
        "| path | output MP/s | vs reference | GFLOP/s | max abs diff (float, 0..1) "
        "| mean abs diff | 8-bit values differing |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['path']} | {r['mp_per_s']:.4f} | {r['vs_reference']:.2f}x "
            f"| {r['gflops_per_s']:.0f} | {r['max_abs_diff_vs_reference']:.1e} "
            f"| {r['mean_abs_diff_vs_reference']:.1e} "
            f"| {r['share_8bit_values_differing']:.2%} |"
        )
    (args.results / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
