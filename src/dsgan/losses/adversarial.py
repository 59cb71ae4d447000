"""Adversarial losses on discriminator logits: standard cross-entropy, RaGAN, WGAN-GP.

All functions take raw logits (N, 1, H, W) of a per-pixel discriminator; the mean over pixels and
batch is taken. BCE is computed with ``binary_cross_entropy_with_logits`` (stable, autocast-safe).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F

GanKind = Literal["bce", "ragan", "wgan-gp"]


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


class AdversarialLoss:
    """Generator and discriminator objectives for one GAN flavour.

    ``batch_mean``: the mean RaGAN compares each logit with (the other side's average over the
    batch); under DDP the trainers pass the mean over every rank's batch
    (:func:`dsgan.training.distributed.global_mean`), so the objective is that of one process on
    the global batch. Default: the local batch's mean.
    """

    def __init__(
        self,
        kind: GanKind = "bce",
        gp_weight: float = 10.0,
        batch_mean: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        if kind not in ("bce", "ragan", "wgan-gp"):
            raise ValueError(f"unknown GAN loss {kind!r}")
        self.kind = kind
        self.gp_weight = gp_weight
        self.batch_mean = batch_mean or torch.mean

    def generator(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        """Loss for G given D's logits on fakes (and on reals, needed by RaGAN, detached)."""
        if self.kind == "bce":
            return _bce(fake, 1.0)
        if self.kind == "wgan-gp":
            return -fake.mean()
        assert real is not None, "RaGAN needs the real logits"
        real = real.detach()
        m = self.batch_mean
        return 0.5 * (_bce(real - m(fake), 0.0) + _bce(fake - m(real), 1.0))

    def discriminator(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Loss for D given its logits on reals and (detached) fakes, without gradient penalty."""
        if self.kind == "bce":
            return _bce(real, 1.0) + _bce(fake, 0.0)
        if self.kind == "wgan-gp":
            return fake.mean() - real.mean()
        m = self.batch_mean
        return 0.5 * (_bce(real - m(fake), 1.0) + _bce(fake - m(real), 0.0))

    def gradient_penalty(
        self,
        disc: Callable[[torch.Tensor], torch.Tensor],
        real: torch.Tensor,
        fake: torch.Tensor,
    ) -> torch.Tensor:
        """WGAN-GP penalty weight * (||grad D(x_hat)||_2 - 1)^2 on random interpolates, per sample."""
        alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
        x_hat = (alpha * real + (1 - alpha) * fake.detach()).requires_grad_(True)
        out = disc(x_hat)
        (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
        norm = grad.flatten(1).norm(dim=1)
        return self.gp_weight * ((norm - 1) ** 2).mean()
