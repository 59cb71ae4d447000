"""Pieces shared by the training loops: schedules, autocast, signals, fault tracking, seeding."""

from __future__ import annotations

import contextlib
import logging
import random
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dsgan.errors import UserError

log = logging.getLogger(__name__)


def d_pair_logits(
    d: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor, joint: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """D's float32 logits (N, 1, h, w) on real and fake D inputs (N, 3, h, w).

    ``joint`` (``loss.d_batch: joint``): one batch, so D's BatchNorms normalise reals and fakes
    with the same statistics. Otherwise (the authors'): two calls; with batch statistics per call,
    a difference every fake shares (noise level, spectrum) is partly normalised away.
    """
    if joint:
        d_real, d_fake = d(torch.cat([real, fake])).float().split([real.shape[0], fake.shape[0]])
        return d_real, d_fake
    return d(real).float(), d(fake).float()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def tune_backends(device: torch.device) -> None:
    """On CUDA, let cuDNN time its convolution algorithms for the run's fixed shapes and keep the
    fastest (``cudnn.benchmark``, as BasicSR's trainers do): slower first steps, faster ones
    after; like cuDNN's defaults, not bitwise reproducible from run to run on a GPU."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True


def linear_decay(total: int, decay_start: float) -> Any:
    """LambdaLR factor: 1 until ``decay_start * total`` steps, then linearly to 0 at ``total``."""
    start = int(decay_start * total)
    span = max(1, total - start)

    def factor(step: int) -> float:
        return 1.0 if step < start else max(0.0, 1.0 - (step - start) / span)

    return factor


def cpu_has_native_bf16() -> bool:
    """True if this CPU computes bf16 in hardware (AVX512-BF16 or AMX).

    Without those instructions oneDNN emulates bf16 and autocast is slower than fp32; with them,
    the DSGAN step is about twice as fast (docs/SPEED.md). torch exposes the CPUID checks only as
    private helpers, hence the guarded lookups.
    """
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def autocast_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``--amp`` (off/bf16/fp16/auto) on ``device``, or None for fp32.

    ``auto`` is bf16 where the hardware has it (CUDA GPUs with bf16, CPUs with AVX512-BF16/AMX)
    and fp32 elsewhere. Weights, optimizer state and losses stay fp32 either way.
    """
    if mode == "off":
        return None
    if mode == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
        if device.type == "cpu" and cpu_has_native_bf16():
            return torch.bfloat16
        return None
    return torch.bfloat16 if mode == "bf16" else torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


class StopFlag:
    """Turns SIGINT/SIGTERM into a flag the loop checks, so it can checkpoint and exit cleanly.

    A second SIGINT while stopping raises KeyboardInterrupt as usual.
    """

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        log.warning("received %s: saving a checkpoint and stopping", signal.Signals(signum).name)

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopFlag]:
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handler)
        except ValueError:  # not in the main thread: no handlers
            pass
        try:
            yield self
        finally:
            for sig, old in self._old.items():
                signal.signal(sig, old)


class FaultCounter:
    """Counts consecutive non-finite steps; ``rollback`` is due after ``limit`` in a row."""

    def __init__(self, limit: int = 5) -> None:
        self.limit = limit
        self.consecutive = 0
        self.total = 0

    def ok(self) -> None:
        self.consecutive = 0

    def fault(self) -> bool:
        """Record a fault; True when a rollback is due."""
        self.consecutive += 1
        self.total += 1
        return self.consecutive >= self.limit


MAX_ROLLBACKS = 3  # to one checkpoint, before giving up


def rollback_target(folder: Path, rollbacks: dict[str, int], consecutive: int) -> tuple[Path, Path]:
    """The checkpoint (weights, state) to roll back to after ``consecutive`` non-finite steps.

    ``rollbacks`` counts rollbacks per checkpoint name (updated here); when the same faults keep
    recurring from the same state, this raises instead of looping forever.
    """
    from dsgan import checkpoints as ckpt

    found = ckpt.latest_checkpoint(folder)
    if found is None:
        raise UserError(
            "training diverged (non-finite losses) before any checkpoint; "
            "lower optim.lr or check the data"
        )
    n = rollbacks.get(found[0].name, 0) + 1
    if n > MAX_ROLLBACKS:
        raise UserError(
            f"training keeps diverging: {MAX_ROLLBACKS} rollbacks to {found[0].name} did "
            "not help; lower optim.lr, try --amp off or check the data"
        )
    rollbacks[found[0].name] = n
    log.error("%d non-finite steps in a row: rolling back to %s", consecutive, found[0].name)
    return found


def grads_finite(params: list[torch.nn.Parameter]) -> bool:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return True
    norms = torch._foreach_norm(grads)
    return bool(torch.isfinite(torch.stack(norms)).all())
