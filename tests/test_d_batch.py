"""``loss.d_batch``: with one joint batch D's BatchNorms see reals and fakes together; with the
authors' two calls each is normalised by its own statistics."""

from __future__ import annotations

import pytest
import torch


@pytest.mark.parametrize("d_batch", ["separate", "joint"])
def test_real_logits_depend_on_the_fakes_only_in_a_joint_batch(tiny_dsgan, d_batch):
    t = tiny_dsgan({"loss.d_batch": d_batch, "model.channels": 8, "model.d_channels": 8})
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(2, 3, 8, 8, generator=gen) * 0.05
    fake = torch.randn(2, 3, 8, 8, generator=gen) * 0.05
    with torch.no_grad():
        a_real, a_fake = t.d_logits(real, fake)
        b_real, _ = t.d_logits(real, 3 * fake)  # fakes with three times the noise level
    assert a_real.shape == a_fake.shape == (2, 1, 8, 8)
    changed = (a_real - b_real).abs().max().item()
    if d_batch == "separate":
        assert changed == 0.0
    else:
        assert changed > 1e-3
        with torch.no_grad():  # the joint call is D on the concatenated batch, split
            whole = t.d(torch.cat([real, fake]))
        assert torch.allclose(a_real, whole[:2]) and torch.allclose(a_fake, whole[2:])
