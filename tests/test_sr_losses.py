"""ESRGAN-FS loss terms and the validation metrics of the SR trainer."""

from __future__ import annotations

import pytest
import torch
import torchvision

from dsgan.config.sr import SRConfig, SRLossConfig
from dsgan.losses.sr import SRLoss
from dsgan.metrics.reference import sr_quality
from dsgan.models import VGGDiscriminator


def test_fs_pixel_loss_zero_for_identical_and_blind_to_high_frequencies() -> None:
    loss = SRLoss(SRLossConfig(perceptual="none"))
    hr = torch.rand(2, 3, 32, 32)
    assert float(loss.pixel(hr, hr.clone())) == 0.0
    # a checkerboard averages out under the 9x9 box filter (nearly), unlike plain L1
    checker = (torch.arange(32)[:, None] + torch.arange(32)[None]) % 2 * 0.2 - 0.1
    noisy = hr + checker
    assert float(loss.pixel(noisy, hr)) < 0.01 < float(loss.pixel(noisy, hr, full=True))


def test_no_fs_uses_full_images() -> None:
    loss = SRLoss(SRLossConfig(perceptual="none", fs=False))
    x = torch.rand(1, 3, 16, 16)
    assert torch.equal(loss.gan_input(x), x)
    assert float(loss.pixel(x + 0.1, x)) == pytest.approx(0.1, abs=1e-6)


def test_highpass_ragan_terms_finite() -> None:
    torch.manual_seed(0)
    loss = SRLoss(SRLossConfig(perceptual="none"))
    d = VGGDiscriminator(nf=4)
    sr = torch.rand(2, 3, 32, 32, requires_grad=True)
    hr = torch.rand(2, 3, 32, 32)
    const = torch.full((1, 3, 32, 32), 0.3)
    assert loss.gan_input(const).abs().max() < 1e-6  # high-pass of a flat image
    d_real, d_fake = d(loss.gan_input(hr)), d(loss.gan_input(sr))
    terms = loss.generator_terms(sr, hr, d_fake, d_real.detach())
    assert set(terms) == {"loss/pix", "loss/gan", "loss/g"}
    assert all(torch.isfinite(v) for v in terms.values())
    terms["loss/g"].backward()
    assert sr.grad is not None and torch.isfinite(sr.grad).all()
    assert torch.isfinite(loss.discriminator(d_real, d_fake.detach()))


@pytest.mark.slow  # building torchvision's VGG19 (143M parameters) takes seconds on a CPU
def test_vgg_feature_term(tmp_path) -> None:
    path = tmp_path / "vgg19.pth"
    with torch.device("meta"):
        shapes = {
            k: v.shape for k, v in torchvision.models.vgg19(weights=None).state_dict().items()
        }
    g = torch.Generator().manual_seed(0)
    state = {  # random conv weights, zero classifier (unused): the real key layout
        k: torch.randn(s, generator=g) * 0.05 if k.startswith("features") else torch.zeros(s)
        for k, s in shapes.items()
    }
    torch.save(state, path)
    loss = SRLoss(SRLossConfig(perceptual_weights=path))
    assert loss.perceptual is not None
    x, y = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    d = torch.zeros(1, 1)
    assert float(loss.generator_terms(x, x, d, d)["loss/feat"]) == 0.0
    assert float(loss.generator_terms(x, y, d, d)["loss/feat"]) > 0.0


def test_psnr_only_config_builds_no_vgg() -> None:
    cfg = SRConfig.model_validate({"loss": {"gan": False, "perceptual_weights": "/nonexistent"}})
    assert SRLoss(cfg.loss).perceptual is None


def test_sr_quality_quantises_crops_and_uses_luma() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 24, 24, generator=g)
    p, s = sr_quality(x, x, crop=4, space="y")
    assert p == float("inf") and s == pytest.approx(1.0)
    # differences below half an 8-bit level vanish in the quantisation
    assert sr_quality(x + 0.1 / 255, x, crop=4, space="rgb")[0] > 40
    y = (x + 0.1).clamp(0, 1)
    y[..., :4, :] = 0  # damage inside the cropped border only is not counted
    p_crop, _ = sr_quality(y, (x + 0.1).clamp(0, 1), crop=4, space="rgb")
    assert p_crop > 40
    p_rgb, s_rgb = sr_quality(x, (x + 0.1).clamp(0, 1), crop=0, space="rgb")
    assert 19.0 < p_rgb < 21.5 and s_rgb < 1.0
