"""Multi-process training and inference under ``torchrun`` (one process per device).

``torchrun`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` (and ``MASTER_ADDR``/``MASTER_PORT``);
:func:`setup` initialises the process group from them (``nccl`` on CUDA, ``gloo`` on CPU) and picks
the device of the local rank. Without those variables (or with ``WORLD_SIZE=1``) everything is a
no-op and the code runs as a single process.

Inference (``dsgan degrade``) needs no process group: :func:`env_rank` gives the rank and world size
used to shard the file list.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_rank() -> DistInfo:
    """Rank, world size and local rank from the ``torchrun`` environment (0, 1, 0 without it)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", str(rank)))
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"inconsistent RANK={rank} / WORLD_SIZE={world}")
    return DistInfo(rank, world, local)


def local_device(device: torch.device, info: DistInfo | None = None) -> torch.device:
    """``cuda`` -> ``cuda:LOCAL_RANK`` when several processes share a node; other devices unchanged.

    An explicit index (``cuda:1``) is kept with a single process and replaced by the local rank with
    several (each process must own one GPU).
    """
    info = info or env_rank()
    if device.type == "cuda" and info.enabled:
        index = info.local_rank % max(1, torch.cuda.device_count())
        device = torch.device("cuda", index)
    if device.type == "cuda":
        torch.cuda.set_device(device.index or 0)
    return device


def setup(device: torch.device) -> DistInfo:
    """Initialise the default process group from the environment when ``WORLD_SIZE > 1``."""
    info = env_rank()
    if not info.enabled or dist.is_initialized():
        return info
    backend = "nccl" if device.type == "cuda" else "gloo"
    kwargs: dict = {"backend": backend, "timeout": datetime.timedelta(minutes=30)}
    if backend == "nccl":
        kwargs["device_id"] = device
    dist.init_process_group(**kwargs)
    log.info("process group: rank %d of %d (%s)", info.rank, info.world_size, backend)
    return info


def cleanup() -> None:
    global _MEAN_GROUP
    _MEAN_GROUP = None
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def process_group(device: torch.device) -> Iterator[DistInfo]:
    """``with process_group(dev) as info:`` — setup on entry, destroy on exit."""
    info = setup(device)
    try:
        yield info
    finally:
        if info.enabled:
            cleanup()


def is_initialized() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def barrier() -> None:
    if is_initialized():
        dist.barrier()


def all_true(flag: torch.Tensor) -> torch.Tensor:
    """Logical AND of a boolean scalar over all ranks (identity with one process)."""
    if not is_initialized():
        return flag
    t = flag.to(torch.int32).reshape(1)
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return t[0].bool()


def all_mean(t: torch.Tensor) -> torch.Tensor:
    """Mean of a float tensor over all ranks (identity with one process)."""
    if not is_initialized():
        return t
    t = t.clone()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t / dist.get_world_size()


def broadcast_from_main(module: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every rank (as DDP does when it wraps a module);
    no-op with one process."""
    if not is_initialized():
        return
    with torch.no_grad():
        for t in [*module.parameters(), *module.buffers()]:
            dist.broadcast(t, 0)


def average_gradients(params: list[torch.nn.Parameter]) -> None:
    """Average the parameters' gradients over all ranks in place, in one flat all-reduce (no-op
    with one process): for a network that runs more than one forward per backward, which DDP's
    reducer does not follow."""
    if not is_initialized():
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


_MEAN_GROUP: Any = None


def global_mean(t: torch.Tensor) -> torch.Tensor:
    """Mean of ``t`` over every rank's elements, differentiable (each rank holds as many), as a
    0-d tensor; ``t.mean()`` with one process. Gradients reach each rank's own ``t`` through the
    all-reduce's backward, which runs on its own process group: on DDP's, it could pair with a
    gradient bucket of another rank."""
    if not is_initialized():
        return t.mean()
    from torch.distributed.nn.functional import all_reduce

    global _MEAN_GROUP
    if _MEAN_GROUP is None:  # every rank gets here at the same call, as new_group needs
        _MEAN_GROUP = dist.new_group(backend=dist.get_backend())
    with warnings.catch_warnings():  # its successor is not autograd-aware yet
        warnings.filterwarnings("ignore", category=FutureWarning)
        return all_reduce(t.mean(), group=_MEAN_GROUP) / dist.get_world_size()


class CPUSyncBatchNorm2d(torch.nn.BatchNorm2d):
    """BatchNorm2d whose training statistics span all ranks, for CPU (gloo) runs.

    ``torch.nn.SyncBatchNorm`` is GPU-only; this does the same with one autograd-aware all-reduce
    of (sum, sum of squares, count) per call, in float64, on its own process group (so it never
    interleaves with DDP's gradient all-reduces). Eval mode and single processes use BatchNorm2d.
    """

    group: Any = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and is_initialized()):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        c = x.shape[1]
        xd = x.double()
        count = torch.full((1,), x.numel() / c, dtype=torch.float64, device=x.device)
        stats = torch.cat([xd.sum((0, 2, 3)), (xd * xd).sum((0, 2, 3)), count])
        with warnings.catch_warnings():  # its successor is not autograd-aware yet
            warnings.filterwarnings("ignore", category=FutureWarning)
            stats = all_reduce(stats, group=self.group)
        n = stats[-1]
        mean = stats[:c] / n
        var = (stats[c : 2 * c] / n - mean * mean).clamp_min(0)
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                m = self.momentum if self.momentum is not None else 0.1
                self.num_batches_tracked.add_(1)
                self.running_mean.mul_(1 - m).add_(mean.to(x.dtype), alpha=m)
                unbiased = var * n / (n - 1).clamp_min(1)
                self.running_var.mul_(1 - m).add_(unbiased.to(x.dtype), alpha=m)
        inv = torch.rsqrt(var + self.eps).to(x.dtype)
        y = (x - mean.to(x.dtype)[None, :, None, None]) * inv[None, :, None, None]
        if self.affine:
            y = y * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        return y


def convert_sync_batchnorm(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """BatchNorms -> SyncBatchNorm (CUDA) or :class:`CPUSyncBatchNorm2d` (CPU/gloo)."""
    if device.type == "cuda":
        return torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)
    group = dist.new_group(backend="gloo") if is_initialized() else None
    for name, child in module.named_children():
        if isinstance(child, torch.nn.BatchNorm2d) and not isinstance(child, CPUSyncBatchNorm2d):
            new = CPUSyncBatchNorm2d(
                child.num_features,
                child.eps,
                child.momentum,
                child.affine,
                child.track_running_stats,
            )
            new.load_state_dict(child.state_dict())
            new.group = group
            setattr(module, name, new)
        else:
            convert_sync_batchnorm(child, device)
    return module
