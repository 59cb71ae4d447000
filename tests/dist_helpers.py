"""What the multi-process tests share: a free TCP port and joining a gloo process group as one
rank of a CPU "cluster" (the environment torchrun would set)."""

from __future__ import annotations

import os
import socket

import torch


def free_port() -> int:
    """A TCP port nobody listens on now (for MASTER_PORT)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def join_group(rank: int, world: int, port: int) -> None:
    """Set torchrun's variables for ``rank`` of ``world`` on this host, one torch thread, and
    initialise the default gloo process group."""
    import torch.distributed as dist

    torch.set_num_threads(1)
    os.environ.update(
        {
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "RANK": str(rank),
            "WORLD_SIZE": str(world),
            "LOCAL_RANK": str(rank),
        }
    )
    dist.init_process_group("gloo")
