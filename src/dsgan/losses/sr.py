"""ESRGAN-FS losses for the SR generator (Fritsche et al. 2019, section 4).

With frequency separation (``fs``): pixel L1 between *low-passes* of SR and HR (so G keeps the
colours and shading of the HR image), a VGG19 feature L1 on full images, and RaGAN with the
discriminator seeing *high-passes* only (so the adversarial term shapes texture, not colour).
Without it (plain ESRGAN): pixel L1 and RaGAN on full images. PSNR mode: pixel L1 on full images.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from dsgan.config.sr import SRLossConfig
from dsgan.losses.adversarial import AdversarialLoss
from dsgan.losses.color import ColorLoss
from dsgan.losses.perceptual import VGGPerceptualLoss
from dsgan.ops.filters import HighPass


class SRLoss(nn.Module):
    """Loss terms for SR (N, 3, H, W) and HR (N, 3, H, W) images in [0, 1].

    ``gan_input`` maps images to what D sees (high-pass with ``fs``, identity without); the caller
    runs D. ``perceptual`` is None with ``perceptual: none``, ``w_feat: 0`` or ``gan: false``.
    """

    def __init__(
        self,
        cfg: SRLossConfig,
        batch_mean: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.low_l1 = ColorLoss(cfg.filter, cfg.kernel_size)
        self.high = HighPass(cfg.filter, cfg.kernel_size)
        self.adv = AdversarialLoss("ragan", batch_mean=batch_mean)  # see AdversarialLoss
        use_vgg = cfg.gan and cfg.perceptual == "vgg" and cfg.w_feat > 0
        self.perceptual = (
            VGGPerceptualLoss(cfg.perceptual_weights, cfg.perceptual_layer, criterion="l1")
            if use_vgg
            else None
        )

    def pixel(self, sr: torch.Tensor, hr: torch.Tensor, full: bool = False) -> torch.Tensor:
        """L1 on low-passes (``fs``; valid box/gaussian filter, H, W >= kernel) or full images."""
        if self.cfg.fs and not full:
            return self.low_l1(sr, hr)
        return (sr - hr).abs().mean()

    def gan_input(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> the same shape: high-pass (about [-1, 1]) with ``fs``, else ``x``."""
        return self.high(x) if self.cfg.fs else x

    def generator_terms(
        self, sr: torch.Tensor, hr: torch.Tensor, d_fake: torch.Tensor, d_real: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Weighted G objective ``loss/g`` and its unweighted terms (pix, feat, gan)."""
        c = self.cfg
        out = {"loss/pix": self.pixel(sr, hr), "loss/gan": self.adv.generator(d_fake, d_real)}
        total = c.w_pix * out["loss/pix"] + c.w_gan * out["loss/gan"]
        if self.perceptual is not None:
            out["loss/feat"] = self.perceptual(sr, hr)
            total = total + c.w_feat * out["loss/feat"]
        out["loss/g"] = total
        return out

    def discriminator(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
        """RaGAN D loss on logits (N, 1)."""
        return self.adv.discriminator(d_real, d_fake)
