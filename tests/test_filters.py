"""Low/high-pass filters, the colour loss and the adversarial losses."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dsgan.losses import AdversarialLoss, ColorLoss
from dsgan.ops.filters import HighPass, LowPass, gaussian_kernel1d

KINDS = ["box", "gaussian"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("k", [3, 5, 7])
def test_low_plus_high_is_identity_and_shapes_kept(kind, k):
    torch.manual_seed(0)
    x = torch.rand(2, 3, 11, 9)
    low, high = LowPass(kind, k)(x), HighPass(kind, k)(x)
    assert low.shape == high.shape == x.shape
    torch.testing.assert_close(low + high, x, atol=1e-6, rtol=0)
    assert high.abs().mean() > 0.05  # random noise is mostly high frequency


@pytest.mark.parametrize("kind", KINDS)
def test_constant_image_no_border_darkening(kind):
    x = torch.full((1, 3, 10, 13), 0.6)
    low = LowPass(kind, 5)(x)
    torch.testing.assert_close(low, x, atol=1e-6, rtol=0)  # corners included
    assert HighPass(kind, 5)(x).abs().max() < 1e-6


@pytest.mark.parametrize("kind", KINDS)
def test_valid_padding_shrinks_by_k_minus_1(kind):
    x = torch.rand(1, 3, 12, 10)
    assert LowPass(kind, 5, padding="valid")(x).shape == (1, 3, 8, 6)
    assert LowPass(kind, 3, padding="valid")(x).shape == (1, 3, 10, 8)


def test_box_filter_is_a_local_mean():
    torch.manual_seed(0)
    x = torch.rand(1, 1, 9, 9)
    low = LowPass("box", 3)(x)
    torch.testing.assert_close(low[0, 0, 4, 4], x[0, 0, 3:6, 3:6].mean())
    torch.testing.assert_close(
        low[0, 0, 0, 0], x[0, 0, :2, :2].mean()
    )  # border: inside pixels only
    valid = LowPass("box", 3, padding="valid")(x)
    torch.testing.assert_close(valid, F.avg_pool2d(x, 3, stride=1))


def test_gaussian_kernel_properties():
    k = gaussian_kernel1d(7)
    torch.testing.assert_close(k.sum(), torch.tensor(1.0))
    torch.testing.assert_close(k, k.flip(0))
    assert int(k.argmax()) == 3 and torch.all(k[:3] < k[1:4])


def test_low_pass_removes_high_frequencies():
    """A checkerboard (Nyquist) is flattened by the low-pass and kept by the high-pass."""
    yy, xx = torch.meshgrid(torch.arange(16), torch.arange(16), indexing="ij")
    board = ((yy + xx) % 2).float().expand(1, 3, 16, 16)
    for kind in KINDS:
        inner = LowPass(kind, 5)(board)[..., 3:-3, 3:-3]
        assert (inner - 0.5).abs().max() < 0.05
        assert HighPass(kind, 5)(board)[..., 3:-3, 3:-3].abs().min() > 0.45


def test_invalid_filter_arguments():
    with pytest.raises(ValueError):
        LowPass("box", 4)
    with pytest.raises(ValueError):
        LowPass("median", 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="padding"):
        LowPass("box", 5, padding="reflect")  # type: ignore[arg-type]


def test_filters_follow_float64():
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64)
    assert LowPass("gaussian", 5)(x).dtype == torch.float64


# --- colour loss --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_color_loss(kind):
    torch.manual_seed(0)
    loss = ColorLoss(kind, 5)
    x = torch.rand(2, 3, 16, 16)
    assert loss(x, x.clone()).item() == 0.0
    shifted = x.clone()
    shifted[:, 0] += 0.1  # a colour cast
    torch.testing.assert_close(loss(x, shifted), torch.tensor(0.1 / 3), atol=1e-6, rtol=0)
    brighter = x + 0.1
    torch.testing.assert_close(loss(x, brighter), torch.tensor(0.1), atol=1e-6, rtol=0)
    # high-frequency noise of the same size moves it much less than the brightness shift
    noise = torch.randn_like(x) * 0.1
    assert loss(x, x + noise) < 0.5 * loss(x, brighter)
    with pytest.raises(ValueError, match="shape"):
        loss(x, x[..., :8])


# --- adversarial losses -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["bce", "ragan", "wgan-gp"])
def test_adversarial_losses_are_finite_and_sensible(kind):
    adv = AdversarialLoss(kind)
    good_real = torch.full((2, 1, 4, 4), 5.0)  # D confident and right
    good_fake = torch.full((2, 1, 4, 4), -5.0)
    d_right = adv.discriminator(good_real, good_fake)
    d_wrong = adv.discriminator(good_fake, good_real)
    g_fooled_d = adv.generator(good_real, good_fake)  # fakes look real
    g_caught = adv.generator(good_fake, good_real)
    for value in (d_right, d_wrong, g_fooled_d, g_caught):
        assert value.ndim == 0 and torch.isfinite(value)
    assert d_right < d_wrong
    assert g_fooled_d < g_caught
    if kind != "wgan-gp":
        assert d_right < 0.05 and g_fooled_d < 0.05  # cross-entropies near 0 when right
    # huge logits stay finite (logit-space BCE)
    big = torch.full((1, 1, 2, 2), 1e4)
    assert torch.isfinite(adv.discriminator(big, -big)) and torch.isfinite(adv.generator(-big, big))


def test_bce_values():
    adv = AdversarialLoss("bce")
    zero = torch.zeros(1, 1, 3, 3)
    ln2 = torch.log(torch.tensor(2.0))
    torch.testing.assert_close(adv.generator(zero), ln2)
    torch.testing.assert_close(adv.discriminator(zero, zero), 2 * ln2)


def test_generator_loss_gradient_pushes_fakes_towards_real():
    for kind in ("bce", "ragan", "wgan-gp"):
        adv = AdversarialLoss(kind)
        fake = torch.zeros(1, 1, 2, 2, requires_grad=True)
        adv.generator(fake, torch.ones(1, 1, 2, 2)).backward()
        assert torch.all(fake.grad < 0), kind  # increasing the fake logit lowers G's loss


def test_unknown_gan_kind():
    with pytest.raises(ValueError):
        AdversarialLoss("lsgan")  # type: ignore[arg-type]


def test_gradient_penalty_zero_for_unit_gradient_linear_d():
    torch.manual_seed(0)
    w = torch.randn(1, 3, 5, 5)
    w = w / w.norm()

    def linear_d(x):
        return (x * w).sum(dim=(1, 2, 3), keepdim=True)

    adv = AdversarialLoss("wgan-gp", gp_weight=10.0)
    real, fake = torch.rand(4, 3, 5, 5), torch.rand(4, 3, 5, 5)
    assert adv.gradient_penalty(linear_d, real, fake).item() < 1e-8

    def steep_d(x):
        return 3 * linear_d(x)

    torch.testing.assert_close(
        adv.gradient_penalty(steep_d, real, fake), torch.tensor(40.0), atol=1e-4, rtol=0
    )


def test_gradient_penalty_is_differentiable_wrt_d():
    torch.manual_seed(0)
    d = torch.nn.Conv2d(3, 1, 3, padding=1)
    adv = AdversarialLoss("wgan-gp")
    gp = adv.gradient_penalty(d, torch.rand(2, 3, 6, 6), torch.rand(2, 3, 6, 6))
    gp.backward()
    assert d.weight.grad is not None and d.weight.grad.abs().sum() > 0
