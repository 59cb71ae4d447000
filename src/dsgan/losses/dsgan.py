"""DSGAN's objective with frequency separation (Fritsche et al. 2019, section 3), beside the SR
stage's (:mod:`dsgan.losses.sr`).

G turns a bicubic LR image ``x`` into ``G(x)``; the low frequencies must keep ``x``'s colours
(colour loss on low-passes), the high frequencies must look like the real LR's (adversarial loss
on high-passes, D sees ``H(.)``), and optionally the whole image stays perceptually close
(VGG19 / LPIPS)::

    L_G = w_col * L1(L(G(x)), L(x)) + w_tex * adv_G(D(H(G(x))), D(H(real))) + w_per * per(G(x), x)
          [+ w_id * L1(H(mean_n G(x, n)), H(x))]   (identity prior, not in the paper)
    L_D = adv_D(D(H(real)), D(H(G(x)))) [+ WGAN-GP's penalty]

The trainer (:class:`dsgan.training.dsgan_trainer.DSGANTrainer`) calls D and orders the updates;
this module holds the filters and the terms.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import torch
from torch import nn

from dsgan.config.dsgan import LossConfig
from dsgan.losses.adversarial import AdversarialLoss
from dsgan.losses.color import ColorLoss
from dsgan.losses.perceptual import build_perceptual_loss
from dsgan.ops.filters import HighPass, LowPass


class DSGANLoss(nn.Module):
    """The terms of ``loss`` (a :class:`~dsgan.config.dsgan.LossConfig`).

    Images: (N, 3, h, w), about [0, 1]; D's logits: any shape, one per patch.
    """

    def __init__(
        self,
        loss: LossConfig,
        batch_mean: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        """``batch_mean``: RaGAN's batch mean (:class:`AdversarialLoss`; under DDP the global
        one)."""
        super().__init__()
        self.cfg = loss
        self.highpass = HighPass(loss.filter, loss.kernel_size)
        self.lowpass = LowPass(loss.filter, loss.kernel_size)
        self.color = ColorLoss(loss.filter, loss.kernel_size)
        self.perceptual = build_perceptual_loss(
            loss.perceptual if loss.w_per > 0 else "none", loss.perceptual_weights
        )
        self.adv = AdversarialLoss(loss.gan, loss.gp_weight, batch_mean)

    def d_input(self, x: torch.Tensor) -> torch.Tensor:
        """What D sees of an image: its high-pass (``loss.highpass``, the paper), or all of it."""
        return self.highpass(x) if self.cfg.highpass else x

    def discriminator(
        self,
        d_real: torch.Tensor,
        d_fake: torch.Tensor,
        critic: Callable[[torch.Tensor], torch.Tensor] | None = None,
        real: torch.Tensor | None = None,
        fake: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """D's loss ``loss/d`` (with WGAN-GP also its penalty ``loss/d_gp``, included in
        ``loss/d``; it needs ``critic``: image -> logits, and the ``real`` / ``fake`` images)."""
        out = {"loss/d": self.adv.discriminator(d_real, d_fake)}
        if self.cfg.gan == "wgan-gp":
            assert critic is not None and real is not None and fake is not None
            out["loss/d_gp"] = self.adv.gradient_penalty(critic, real, fake)
            out["loss/d"] = out["loss/d"] + out["loss/d_gp"]
        return out

    def generator(
        self,
        fake: torch.Tensor,
        fake_for_colour: torch.Tensor,
        clean: torch.Tensor,
        d_fake: torch.Tensor,
        d_real: torch.Tensor,
        autocast: Callable[[], AbstractContextManager],
        fake_mean: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """G's loss ``loss/g`` and its terms ``loss/tex``, ``loss/col`` (and ``loss/per``,
        ``loss/id``).

        ``fake``: G(x) as G made it (autocast dtype); ``fake_for_colour``: the float32 image the
        colour loss compares (G(x), or the mean of an antithetic pair with ``color_mean``);
        ``clean``: x; ``autocast``: the trainer's autocast context for the perceptual network;
        ``fake_mean``: the float32 mean of G(x, n) and G(x, -n) for the identity prior
        (``w_id``; G(x) for a G without noise input).
        """
        c = self.cfg
        out = {
            "loss/tex": self.adv.generator(d_fake, d_real.detach()),
            "loss/col": self.color(fake_for_colour, clean),
        }
        loss = c.w_col * out["loss/col"] + c.w_tex * out["loss/tex"]
        if self.perceptual is not None:
            with autocast():
                out["loss/per"] = self.perceptual(fake, clean).float()
            loss = loss + c.w_per * out["loss/per"]
        if c.w_id > 0:
            assert fake_mean is not None, "loss.w_id needs the noise-averaged output"
            out["loss/id"] = (self.highpass(fake_mean) - self.highpass(clean)).abs().mean()
            loss = loss + c.w_id * out["loss/id"]
        out["loss/g"] = loss
        return out
