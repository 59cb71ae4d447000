"""``loss.color_mean``: the colour loss sees the mean of the antithetic pair G(x, n), G(x, -n), so
zero-mean noise costs nothing while a colour shift still does."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from dsgan.config.dsgan import DSGANConfig


@pytest.mark.parametrize("shift", [0.0, 0.05])
def test_colour_loss_of_the_mean_ignores_noise_but_not_a_shift(tiny_dsgan, shift):
    torch.manual_seed(0)
    losses = {}
    for color_mean in (False, True):
        t = tiny_dsgan(
            {
                "loss.color_mean": color_mean,
                "model.output": "residual",
                "model.noise_channels": 3,
                "model.noise_injection": True,
                "model.n_res_blocks": 1,
                "model.channels": 8,
                "model.d_channels": 8,
            }
        )
        # G(x, n) = x + shift + 0.1 n: residual conv and injection weights zero (as initialised),
        # constant biases only
        with torch.no_grad():
            t.g.noise_scale.bias.fill_(0.1)
            t.g.block_output.bias.fill_(shift)
        xb, real = t._prepare(*next(iter(t._loader())))
        losses[color_mean] = float(t.train_step(xb, real)["loss/col"])
    # the noise's low-pass leakage: 0.1 * N(0, 1) through a 5x5 box is about 0.02 per pixel
    assert losses[False] > 0.01
    # the mean of x + s + 0.1 n and x + s - 0.1 n is x + s exactly: only the shift is left
    assert losses[True] == pytest.approx(shift, abs=1e-6)


def test_colour_mean_needs_a_noise_input():
    with pytest.raises(ValidationError, match="noise_channels"):
        DSGANConfig.model_validate({"loss": {"color_mean": True}})
    cfg = DSGANConfig.model_validate(
        {"loss": {"color_mean": True}, "model": {"noise_channels": 3, "output": "residual"}}
    )
    assert cfg.loss.color_mean
