"""``loss.w_id``: an identity prior on G's deterministic change. It compares the high-passes of the
mean of the antithetic pair G(x, n), G(x, -n) and of x: zero-mean noise costs nothing, a
deterministic change (here a sharpening-like bias pattern) does, and the codec's gate is pulled
towards off."""

from __future__ import annotations

from contextlib import nullcontext

import pytest
import torch

from dsgan.config.dsgan import LossConfig
from dsgan.losses.dsgan import DSGANLoss

SMALL = {
    "model.output": "residual",
    "model.noise_channels": 3,
    "model.noise_injection": True,
    "model.n_res_blocks": 1,
    "model.channels": 8,
    "model.d_channels": 8,
}


@pytest.mark.parametrize("w_id", [0.0, 0.5])
def test_prior_ignores_zero_mean_noise(tiny_dsgan, w_id):
    """G(x, n) = x + 0.1 n: the pair's mean is x, so the prior's term is exactly 0."""
    torch.manual_seed(0)
    t = tiny_dsgan({**SMALL, "loss.w_id": w_id})
    with torch.no_grad():
        t.g.noise_scale.bias.fill_(0.1)
    xb, real = t._prepare(*next(iter(t._loader())))
    out = t.train_step(xb, real)
    assert out is not None
    if w_id == 0:
        assert "loss/id" not in out
    else:
        assert float(out["loss/id"]) == pytest.approx(0.0, abs=1e-6)


def test_prior_measures_a_deterministic_change():
    """The term is mean |H(fake_mean) - H(x)|: zero for x itself, positive for a changed x, and it
    enters loss/g with its weight."""
    torch.manual_seed(0)
    loss = DSGANLoss(LossConfig(perceptual="none", w_id=0.25))
    x = torch.rand(2, 3, 16, 16)
    d = torch.zeros(2, 1, 4, 4)
    same = loss.generator(x, x, x, d, d, nullcontext, x)
    assert float(same["loss/id"]) == 0.0
    changed = x + 0.05 * torch.randn_like(x)
    out = loss.generator(x, x, x, d, d, nullcontext, changed)
    expect = (loss.highpass(changed) - loss.highpass(x)).abs().mean()
    assert float(out["loss/id"]) == pytest.approx(float(expect))
    assert float(out["loss/g"] - same["loss/g"]) == pytest.approx(0.25 * float(expect), rel=1e-5)


def test_prior_pulls_the_codec_gate_towards_off(tiny_dsgan):
    """The prior adds a positive part to the gate logit's gradient (a descent step lowers the
    gate): the codec's deterministic change costs. Same seed, same batch, with and without it."""
    grads = {}
    for w_id in (0.0, 1.0):
        torch.manual_seed(0)
        t = tiny_dsgan(
            {
                **SMALL,
                "loss.w_id": w_id,
                "model.codec": "jpeg",
                "model.codec_gate": True,
                "data.crop": 16,
            }
        )
        xb, real = t._prepare(*next(iter(t._loader())))
        assert t.train_step(xb, real) is not None
        grads[w_id] = float(t.g.codec.gate_logit.grad)
    assert grads[1.0] - grads[0.0] > 1e-3
