"""DSGAN's objective as a module (losses/dsgan.py): the terms and their weights."""

from __future__ import annotations

import contextlib

import pytest
import torch

from dsgan.config.dsgan import LossConfig
from dsgan.losses.dsgan import DSGANLoss


def test_generator_loss_is_the_weighted_sum_of_its_terms() -> None:
    cfg = LossConfig(perceptual="none", w_col=0.1, w_tex=0.005)
    loss = DSGANLoss(cfg)
    torch.manual_seed(0)
    x = torch.rand(2, 3, 16, 16)
    fake = x + 0.05 * torch.randn_like(x)  # noise: colour (low-pass) barely changes
    d_fake, d_real = torch.randn(2, 1, 4, 4), torch.randn(2, 1, 4, 4)
    out = loss.generator(fake, fake, x, d_fake, d_real, contextlib.nullcontext)
    assert set(out) == {"loss/tex", "loss/col", "loss/g"}
    assert float(out["loss/g"]) == pytest.approx(
        0.1 * float(out["loss/col"]) + 0.005 * float(out["loss/tex"])
    )
    same = loss.generator(x, x, x, d_fake, d_real, contextlib.nullcontext)
    assert float(same["loss/col"]) == 0.0
    # a colour shift is what the colour loss sees; high-frequency noise much less
    shifted = loss.generator(x + 0.05, x + 0.05, x, d_fake, d_real, contextlib.nullcontext)
    assert float(shifted["loss/col"]) > 5 * float(out["loss/col"])


def test_d_sees_high_passes_and_wgan_gp_adds_its_penalty() -> None:
    x = torch.rand(1, 3, 16, 16)
    assert torch.allclose(
        DSGANLoss(LossConfig(perceptual="none")).d_input(x).mean(), torch.tensor(0.0), atol=0.05
    )
    no_hp = DSGANLoss(LossConfig(perceptual="none", highpass=False))
    assert torch.equal(no_hp.d_input(x), x)
    d = torch.nn.Conv2d(3, 1, 3)
    wgan = DSGANLoss(LossConfig(perceptual="none", gan="wgan-gp"))
    real, fake = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    out = wgan.discriminator(d(real), d(fake), d, real, fake)
    assert set(out) == {"loss/d", "loss/d_gp"}
    plain = wgan.adv.discriminator(d(real), d(fake))
    assert float(out["loss/d"]) == pytest.approx(float(plain + out["loss/d_gp"]), rel=1e-6)
    bce = DSGANLoss(LossConfig(perceptual="none"))
    assert set(bce.discriminator(d(real), d(fake))) == {"loss/d"}
