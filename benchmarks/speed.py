"""Speed benchmark of DSGAN training and degradation (issue #7). Needs only torch + the repo.

    PYTHONPATH=src python benchmarks/speed.py --quick                 # < 2 min on a 2-core CPU
    PYTHONPATH=src python benchmarks/speed.py                         # default crop 48, batch 16
    PYTHONPATH=src python benchmarks/speed.py --device cuda --batch-size 64 --crop 96 --compile

Training: in one process, on the same batch and the same initial weights, it alternates rounds of
* ``reference``: the authors' loop (manuelfritsche/real-world-sr ``dsgan/train.py``) in plain fp32,
  eager, NCHW: ``fake = G(x)``; ``real_tex = D(H(real))``; ``fake_tex = D(H(fake))`` (not detached);
  D loss ``-log(sig(real_tex)) - log(1 - sig(fake_tex))`` (sigmoid + log, eps 1e-8, as theirs)
  ``.backward(retain_graph=True)`` (this also back-propagates into G, wasted); G loss
  ``w_col * colour + w_tex * -log(sig(fake_tex))`` on the *same* ``fake_tex`` ``.backward()``
  (this also computes D weight gradients, wasted); ``torch.optim.Adam`` defaults; every loss
  ``.item()``-ed each step, plus their per-step ``rgb_loss``/``mean_loss`` diagnostics. One
  deviation is forced by PyTorch >= 1.5: the authors call ``optimizer_d.step()`` between the two
  backward passes, which now raises an in-place-modification error, so the reference keeps D's
  gradients aside during G's backward and steps D afterwards (G's gradient then uses D before its
  update: the same simultaneous update the project's trainer does). The perceptual loss is off in
  both paths by default (it needs pretrained weights; ``--perceptual vgg --perceptual-weights F``).
* ``fast``: ``DSGANTrainer.train_step`` with its fast settings (channels_last, foreach/fused Adam,
  one D pass on fakes, no per-step host syncs, ``--amp`` autocast, optional ``--compile``), and the
  same step in fp32 (``fast_fp32``) to separate the gain of autocast from the rest.

Convolution FLOPs of one fast step are counted with ``FlopCounterMode``; the convolutions the step
ran (forward and backward, recorded at the aten level with their shapes, strides and dtypes) are
then replayed alone on random tensors: their FLOP/s is the practical limit of this device for this
step, and ``conv_fraction_of_step`` is how much of the step's time those convolutions take.

Degradation: ``degrade_folder`` (layout sdsr: HR copy + LR, PNG) over a folder of generated images,
against G's forward pass alone on the same (pre-resized) images: ``degrade_fraction_of_forward`` =
forward-only megapixels/s over end-to-end megapixels/s (1.0 = decoding, resizing and encoding are
fully hidden), from 3 rounds of each, interleaved.

Prints one JSON line; writes benchmarks/results/speed-<device>.json and benchmarks/results/speed.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from benchlib import git_commit, machine
from dsgan.config.base import load_config
from dsgan.config.dsgan import DSGANConfig
from dsgan.devices import resolve_device
from dsgan.inference.degrade import DegradeOptions, degrade_folder
from dsgan.models.dsgan import Discriminator, Generator
from dsgan.ops.filters import HighPass
from dsgan.ops.resize import crop_to_multiple, imresize
from dsgan.training.dsgan_trainer import DSGANTrainer

RESULTS = Path(__file__).resolve().parent / "results"


# ----------------------------------------------------------------------------- helpers
def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def write_images(folder: Path, n: int, size: int, seed: int) -> None:
    """Smooth random colour fields with fine grain (PNG), like photos for the codecs' sake."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        coarse = rng.uniform(0, 255, size=(8, 8, 3)).astype(np.float32)
        img = np.asarray(
            Image.fromarray(coarse.astype(np.uint8)).resize((size, size), Image.BICUBIC)
        )
        img = img.astype(np.float32) + rng.normal(0, 6, size=img.shape)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"img_{i:03d}.png")


# ----------------------------------------------------------------------------- reference step
class ReferenceStep:
    """The authors' training step in plain fp32 eager NCHW PyTorch (see the module docstring)."""

    def __init__(
        self, g: Generator, d: Discriminator, cfg: DSGANConfig, device: torch.device
    ) -> None:
        lc = cfg.loss
        self.g, self.d = g.to(device), d.to(device)
        self.hp = HighPass(lc.filter, lc.kernel_size).to(device)
        from dsgan.losses.color import ColorLoss

        self.color = ColorLoss(lc.filter, lc.kernel_size).to(device)
        self.w_col, self.w_tex = lc.w_col, lc.w_tex
        betas = (cfg.optim.beta1, cfg.optim.beta2)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=cfg.optim.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=cfg.optim.lr, betas=betas)

    def __call__(self, xb: torch.Tensor, real: torch.Tensor) -> dict[str, float]:
        fake = self.g(xb)
        real_tex = torch.sigmoid(self.d(self.hp(real)))
        fake_tex = torch.sigmoid(self.d(self.hp(fake)))
        self.d.zero_grad()
        d_loss = -torch.log(real_tex + 1e-8).mean() - torch.log(1 - fake_tex + 1e-8).mean()
        d_loss.backward(retain_graph=True)
        d_grads = [p.grad for p in self.d.parameters()]
        for p in self.d.parameters():
            p.grad = None  # G's backward below must not accumulate into D's own gradient
        self.g.zero_grad()
        tex = torch.mean(-torch.log(fake_tex + 1e-8))
        col = self.color(fake, xb)
        g_loss = self.w_col * col + self.w_tex * tex
        assert not torch.isnan(g_loss), "Generator loss returns NaN values"
        g_loss.backward()
        for p, grad in zip(self.d.parameters(), d_grads, strict=True):
            p.grad = grad  # D's own gradient, not the one G's backward accumulated
        self.opt_d.step()
        self.opt_g.step()
        rgb = (fake.mean(3).mean(2) - xb.mean(3).mean(2)).abs().mean()
        mean = (fake.flatten(1).mean(1) - xb.flatten(1).mean(1)).abs().mean()
        return {
            "loss/d": d_loss.item(),
            "loss/tex": tex.item(),
            "loss/col": col.item(),
            "loss/g": g_loss.item(),
            "d/real": real_tex.mean().item(),
            "d/fake": fake_tex.mean().item(),
            "rgb": rgb.item(),
            "mean": mean.item(),
        }


# ----------------------------------------------------------------------------- conv replay
class ConvRecorder(TorchDispatchMode):
    """Records every aten convolution (forward and backward) with its tensor metadata."""

    OPS = (torch.ops.aten.convolution.default, torch.ops.aten.convolution_backward.default)

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, list[Any], dict[str, Any]]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        if func in self.OPS:

            def meta(a: Any) -> Any:
                if isinstance(a, torch.Tensor):
                    return ("T", tuple(a.shape), a.stride(), a.dtype, a.device)
                return a

            self.calls.append((func, [meta(a) for a in args], dict(kwargs)))
        return func(*args, **kwargs)


def replay_convs(calls: list, device: torch.device, reps: int) -> tuple[float, float]:
    """(seconds, FLOPs) of the recorded convolutions run alone on random tensors."""

    def make(a: Any) -> Any:
        if isinstance(a, tuple) and a and a[0] == "T":
            _, shape, stride, dtype, dev = a
            size = 1 + sum((n - 1) * st for n, st in zip(shape, stride, strict=True) if n)
            base = torch.empty(size, dtype=dtype, device=dev).normal_()
            return base.as_strided(shape, stride)  # expanded (stride 0) layouts too
        return a

    prepared = [(f, [make(a) for a in args], kw) for f, args, kw in calls]
    with torch.no_grad():
        for f, args, kw in prepared:  # warm-up
            f(*args, **kw)
        counter = FlopCounterMode(display=False)
        with counter:
            for f, args, kw in prepared:
                f(*args, **kw)
        times = []
        for _ in range(reps):
            sync(device)
            t = time.perf_counter()
            for f, args, kw in prepared:
                f(*args, **kw)
            sync(device)
            times.append(time.perf_counter() - t)
    return statistics.median(times), float(counter.get_total_flops())


# ----------------------------------------------------------------------------- training
def make_trainer(
    args: argparse.Namespace, hr: Path, out: Path, amp: str, compile_: bool
) -> DSGANTrainer:
    overrides = {
        "data.hr": str(hr),
        "data.crop": args.crop,
        "batch_size": args.batch_size,
        "loss.perceptual": args.perceptual,
        "device": str(args.device),
        "amp": amp,
        "channels_last": True,
        "compile": compile_,
        "out": str(out),
        "seed": 0,
        "iterations": 10**6,
    }
    if args.perceptual_weights:
        overrides["loss.perceptual_weights"] = str(args.perceptual_weights)
    return DSGANTrainer(load_config(DSGANConfig, overrides=overrides))


def bench_training(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    dev = args.device
    hr = work / "hr"
    write_images(hr, 8, args.crop * 4 + 16, seed=1)
    fast = make_trainer(args, hr, work / "run_fast", args.amp, args.compile)
    # what --amp resolved to on this device ("auto": the trainer's default choice)
    amp = {None: "off", torch.bfloat16: "bf16", torch.float16: "fp16"}[fast.amp]
    fast32 = make_trainer(args, hr, work / "run_fast32", "off", False)
    fast32.g.load_state_dict(fast.g.state_dict())
    fast32.d.load_state_dict(fast.d.state_dict())
    ref = ReferenceStep(Generator().to(dev), Discriminator().to(dev), fast.cfg, dev)
    ref.g.load_state_dict(fast.g.state_dict())
    ref.d.load_state_dict(fast.d.state_dict())
    hr_u8, real_u8 = next(iter(fast._loader()))
    xb, real = fast._prepare(hr_u8, real_u8)
    xb_n, real_n = xb.contiguous(), real.contiguous()
    steps = {
        "reference": lambda: ref(xb_n, real_n),
        "fast_fp32": lambda: fast32.train_step(xb, real),
        "fast": lambda: fast.train_step(xb, real),
    }
    mem: dict[str, float] = {}
    compile_s = None
    for name, fn in reversed(steps.items()):  # warm-up (+ compilation), peak memory per path
        reset_peak(dev)
        before = peak_memory_mb(dev)
        t = time.perf_counter()
        for _ in range(2):
            fn()
        sync(dev)
        if name == "fast" and args.compile:
            compile_s = time.perf_counter() - t
        mem[name] = peak_memory_mb(dev) - (0.0 if dev.type == "cuda" else before)
    times: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(args.iterations):
        for name, fn in steps.items():
            sync(dev)
            t = time.perf_counter()
            fn()
            sync(dev)
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratios = [r / f for r, f in zip(times["reference"], times["fast"], strict=True)]
    ratios32 = [r / f for r, f in zip(times["reference"], times["fast_fp32"], strict=True)]

    # conv FLOPs of one fast step and the same convolutions alone
    rec = ConvRecorder()
    counter = FlopCounterMode(display=False)
    with counter, rec:
        fast.train_step(xb, real)
    step_flops = float(counter.get_total_flops())
    conv_s, conv_flops = replay_convs(rec.calls, dev, reps=max(3, args.iterations // 2))
    n = args.batch_size
    return {
        "amp": amp,
        "compile": args.compile,
        "compile_warmup_s": compile_s,
        "batch_size": n,
        "crop_lr": args.crop,
        "crop_hr": args.crop * 4,
        "rounds": args.iterations,
        "reference_s_per_it": med["reference"],
        "fast_s_per_it": med["fast"],
        "fast_fp32_s_per_it": med["fast_fp32"],
        "train_speedup_vs_reference": med["reference"] / med["fast"],
        "train_speedup_vs_reference_median_of_rounds": statistics.median(ratios),
        "train_speedup_fp32_vs_reference": med["reference"] / med["fast_fp32"],
        "train_speedup_fp32_median_of_rounds": statistics.median(ratios32),
        "iterations_per_s": 1 / med["fast"],
        "images_per_s": n / med["fast"],
        "reference_iterations_per_s": 1 / med["reference"],
        "peak_memory_mb": mem,
        "peak_memory_kind": (
            "cuda max_memory_allocated per path"
            if dev.type == "cuda"
            else "CPU ru_maxrss growth during each path's warm-up (after setup; paths run in "
            "order fast, fast_fp32, reference: later paths reuse memory freed before)"
        ),
        "process_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "step_flops": step_flops,
        "conv_flops": conv_flops,
        "achieved_conv_flops_per_s": conv_flops / med["fast"],
        "convs_alone_flops_per_s": conv_flops / conv_s,
        "conv_fraction_of_step": conv_s / med["fast"],
        "convs_alone_s": conv_s,
    }


# ----------------------------------------------------------------------------- degradation
def bench_degrade(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    dev = args.device
    src = work / "degrade_in"
    write_images(src, args.degrade_images, args.degrade_size, seed=2)
    g = Generator().to(dev).eval()
    opts = DegradeOptions(scale=4, layout="sdsr", workers=args.workers, writers=args.writers)
    # forward alone, on the same images already decoded and resized
    from dsgan.io.images import list_images, load_image

    lrs = []
    for f in list_images(src):
        hr = crop_to_multiple(load_image(f), 4)
        lrs.append(
            imresize(hr.to(dev).unsqueeze(0), 0.25).contiguous(memory_format=torch.channels_last)
        )
    mpix = sum(lr.shape[-1] * lr.shape[-2] * 16 for lr in lrs) / 1e6
    from dsgan.inference.degrade import prepare_generator

    gf = prepare_generator(g, dev)

    def forward_alone() -> float:
        with torch.inference_mode():
            sync(dev)
            t = time.perf_counter()
            for lr in lrs:
                gf(lr)
            sync(dev)
        return time.perf_counter() - t

    def degrade_round(i: int) -> float:
        out = work / f"degrade_out_{i}"
        t = time.perf_counter()
        counts = degrade_folder(g, src, out, opts, dev)
        sync(dev)
        elapsed = time.perf_counter() - t
        assert counts["written"] == len(lrs), counts
        shutil.rmtree(out)
        return elapsed

    with torch.inference_mode():
        gf(lrs[0])  # warm-up
    # interleaved rounds, as the training comparison: a machine that slows down in the middle
    # slows both paths alike
    fwd, end = [], []
    for i in range(3):
        fwd.append(forward_alone())
        end.append(degrade_round(i))
    t_fwd, t_end = statistics.median(fwd), statistics.median(end)
    return {
        "degrade_images": len(lrs),
        "degrade_size_hr": args.degrade_size,
        "layout": "sdsr",
        "degrade_workers": args.workers,
        "degrade_writers": args.writers or max(2, args.workers),
        "degrade_mpix_per_s": mpix / t_end,
        "forward_mpix_per_s": mpix / t_fwd,
        "degrade_fraction_of_forward": t_fwd / t_end,
        "degrade_fraction_median_of_rounds": statistics.median(
            f / e for f, e in zip(fwd, end, strict=True)
        ),
        "rounds": len(fwd),
        "note": "megapixels of HR input; forward = G on the bicubic LR images alone",
    }


# ----------------------------------------------------------------------------- main


def write_markdown(summary: dict[str, Any], path: Path) -> None:
    t, dg, m = summary["train"], summary["degrade"], summary["machine"]
    label = summary["device"] + ("" if t else ", degrade only")
    block = f"""## {m["device_name"]} ({label})

- command: `{summary["command"]}`
- commit {summary["commit"]}, {summary["date"]}; {m["platform"]}, {m["cpus"]} CPUs,
  torch {m["torch"]} ({m["torch_threads"]} threads)
"""
    if t:
        block += _training_lines(t)
    block += f"""- degrade ({dg["degrade_images"]} images {dg["degrade_size_hr"]}px, sdsr, PNG):
  {dg["degrade_mpix_per_s"]:.2f} MP/s vs forward alone {dg["forward_mpix_per_s"]:.2f} MP/s:
  **degrade_fraction_of_forward {dg["degrade_fraction_of_forward"]:.2f}** (median of
  {dg.get("rounds", 3)} interleaved rounds' ratios {dg.get("degrade_fraction_median_of_rounds", 0):.2f})

"""
    header = "# Speed benchmark results\n\nWritten by `benchmarks/speed.py` (one section per device).\n\n"
    old = path.read_text() if path.is_file() else header
    sections = [s for s in old.split("\n## ") if s.strip()]
    kept = [s for s in sections[1:] if f"({label})" not in s.splitlines()[0]]
    text = sections[0].rstrip() + "\n\n" + "".join("## " + s.rstrip() + "\n\n" for s in kept)
    path.write_text(text + block)


def _training_lines(t: dict[str, Any]) -> str:
    mem = ", ".join(f"{k} {v:.0f} MB" for k, v in t["peak_memory_mb"].items())
    return f"""- training (batch {t["batch_size"]}, LR crop {t["crop_lr"]}, amp {t["amp"]}, compile {t["compile"]},
  {t["rounds"]} interleaved rounds): reference {t["reference_s_per_it"]:.3f} s/it, fast
  {t["fast_s_per_it"]:.3f} s/it ({t["iterations_per_s"]:.2f} it/s, {t["images_per_s"]:.1f} img/s),
  fast fp32 {t["fast_fp32_s_per_it"]:.3f} s/it
- **train_speedup_vs_reference {t["train_speedup_vs_reference"]:.2f}** (median of per-round ratios
  {t["train_speedup_vs_reference_median_of_rounds"]:.2f}); fp32 only:
  {t["train_speedup_fp32_vs_reference"]:.2f}
- conv FLOP/s: achieved {t["achieved_conv_flops_per_s"] / 1e9:.1f} GFLOP/s, the same convolutions
  alone {t["convs_alone_flops_per_s"] / 1e9:.1f} GFLOP/s (convs are
  {100 * t["conv_fraction_of_step"]:.0f}% of the step time)
- peak memory ({t["peak_memory_kind"]}): {mem}; process peak RSS {t["process_peak_rss_mb"]:.0f} MB
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes: < 2 minutes on a CPU")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--crop", type=int, help="LR crop (default 48, the training default)")
    p.add_argument("--iterations", type=int, help="timed rounds (one step of each path each)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--amp", default="auto", choices=("auto", "off", "bf16", "fp16"))
    p.add_argument("--compile", action="store_true", help="torch.compile G and D (fast path)")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--perceptual", default="none", choices=("none", "vgg", "lpips"))
    p.add_argument("--perceptual-weights", type=Path)
    p.add_argument("--degrade-images", type=int)
    p.add_argument("--degrade-size", type=int)
    p.add_argument("--workers", type=int, default=2, help="degrade decoding workers")
    p.add_argument("--writers", type=int, default=0, help="degrade encoding threads (0: auto)")
    p.add_argument("--skip-degrade", action="store_true")
    p.add_argument("--skip-training", action="store_true")
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()
    q = args.quick
    args.batch_size = args.batch_size or (8 if q else 16)
    args.crop = args.crop or (32 if q else 48)
    args.iterations = args.iterations or (4 if q else 8)
    args.degrade_images = args.degrade_images or (12 if q else 32)
    args.degrade_size = args.degrade_size or 512
    if args.threads:
        torch.set_num_threads(args.threads)
    args.device = resolve_device(args.device)
    if args.device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    command = "PYTHONPATH=src python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    work = Path(tempfile.mkdtemp(prefix="dsgan-speed-"))
    try:
        train = {} if args.skip_training else bench_training(args, work)
        degrade = {} if args.skip_degrade else bench_degrade(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = {
        "train_speedup_vs_reference": round(train.get("train_speedup_vs_reference", 0.0), 3),
        "degrade_fraction_of_forward": round(degrade.get("degrade_fraction_of_forward", 0.0), 3),
        "device": str(args.device),
        "command": command,
        "commit": git_commit(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(args.device),
        "train": train,
        "degrade": degrade,
    }
    print(json.dumps(summary))
    args.results.mkdir(parents=True, exist_ok=True)
    stem = f"speed-{args.device.type}" + ("-degrade" if args.skip_training else "")
    (args.results / f"{stem}.json").write_text(json.dumps(summary, indent=2))
    if degrade:
        write_markdown(summary, args.results / "speed.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
