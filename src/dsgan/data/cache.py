"""How much decoded training data the image pools keep in memory (``data.cache_gb``).

Pools (:class:`~dsgan.data.pool.ImagePool`, :class:`~dsgan.data.pairs.PairDataset`) decode images
into uint8 tensors while the budget lasts, at start-up, in the main process (DataLoader workers
then share them copy-on-write); every image beyond it is decoded on demand, in the workers. The
default budget is a quarter of the machine's memory, split between the processes ``torchrun``
started on this node, so a dataset larger than memory trains without swapping.
"""

from __future__ import annotations

import os


def machine_memory() -> int:
    """Physical memory of this machine in bytes (0 if unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def cache_budget(cache_images: bool, cache_gb: float | None) -> int:
    """Bytes of decoded images one process may keep: 0 without ``cache_images``; ``cache_gb``
    (GB, 1e9 bytes) if set; else a quarter of the machine's memory divided by the processes on
    this node (``LOCAL_WORLD_SIZE``, set by ``torchrun``)."""
    if not cache_images:
        return 0
    if cache_gb is not None:
        return int(cache_gb * 1e9)
    local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return machine_memory() // 4 // local


class Budget:
    """A byte budget that pools draw from in order: ``take(n)`` is True (and spends n) while
    n bytes are left."""

    def __init__(self, total: int) -> None:
        self.left = total

    def take(self, nbytes: int) -> bool:
        if nbytes > self.left:
            return False
        self.left -= nbytes
        return True
