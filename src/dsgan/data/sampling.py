"""Reproducible sampling by step: the batch of step ``t`` depends only on (seed, t, rank).

Resuming at step t therefore continues exactly the same data stream, without storing loader state,
and works the same with any number of loader workers.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch


def step_generator(seed: int, step: int, salt: int = 0) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed((seed * 1_000_003 + step * 7919 + salt * 104_729) % (2**63 - 1))
    return g


class StepSampler(torch.utils.data.Sampler):
    """Yields, for steps ``start..stop-1``, lists of (image_index, sample_seed) of ``batch`` items.

    With ``world_size > 1`` each rank takes its own slice of the global batch.
    """

    def __init__(
        self,
        n_items: int,
        batch: int,
        seed: int,
        start: int,
        stop: int,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.n, self.batch, self.seed = n_items, batch, seed
        self.start, self.stop = start, stop
        self.rank, self.world = rank, world_size

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start, self.stop):
            g = step_generator(self.seed, step)
            total = self.batch * self.world
            idx = torch.randint(self.n, (total,), generator=g).tolist()
            seeds = torch.randint(2**31 - 1, (total,), generator=g).tolist()
            lo = self.rank * self.batch
            yield list(zip(idx[lo : lo + self.batch], seeds[lo : lo + self.batch], strict=True))


def random_crop(img: torch.Tensor, size: int, g: torch.Generator) -> torch.Tensor:
    """A random (C, size, size) crop of (C, H, W); size <= 0 returns the image."""
    if size <= 0:
        return img
    h, w = img.shape[-2:]
    y = int(torch.randint(h - size + 1, (1,), generator=g))
    x = int(torch.randint(w - size + 1, (1,), generator=g))
    return img[..., y : y + size, x : x + size]


def augment(img: torch.Tensor, g: torch.Generator, flips: bool, rotations: bool) -> torch.Tensor:
    """Random horizontal/vertical flips and rotation by a multiple of 90 degrees."""
    if flips:
        if torch.rand(1, generator=g) < 0.5:
            img = img.flip(-1)
        if torch.rand(1, generator=g) < 0.5:
            img = img.flip(-2)
    if rotations:
        k = int(torch.randint(4, (1,), generator=g))
        if k and img.shape[-1] == img.shape[-2]:
            img = torch.rot90(img, k, dims=(-2, -1))
    return img


def step_loader(
    dataset: torch.utils.data.Dataset,
    sampler: StepSampler,
    workers: int,
    pin_memory: bool,
) -> torch.utils.data.DataLoader:
    """A DataLoader over ``sampler``'s step batches.

    Its base seed comes from the sampler's seed, not from the global RNG: otherwise each (re)start
    would consume a global draw and shift every later random stream (G's noise input, GP draws), so
    a resumed run would no longer match the uninterrupted one.
    """
    return torch.utils.data.DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=workers,
        pin_memory=pin_memory,
        generator=torch.Generator().manual_seed(sampler.seed),
    )
