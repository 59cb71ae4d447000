"""``loss.d_batch``: with one joint batch D's BatchNorms see reals and fakes together; with the
authors' two calls each is normalised by its own statistics."""

from __future__ import annotations

import pytest
import torch

from dsgan.config.base import load_config
from dsgan.config.dsgan import DSGANConfig
from dsgan.training.dsgan_trainer import DSGANTrainer


def _trainer(tmp_path, make_images, d_batch: str) -> DSGANTrainer:
    make_images(tmp_path / "hr", 2, 24)
    cfg = load_config(
        DSGANConfig,
        overrides={
            "data.hr": str(tmp_path / "hr"),
            "data.crop": 8,
            "data.scale": 2,
            "batch_size": 2,
            "loss.perceptual": "none",
            "loss.d_batch": d_batch,
            "device": "cpu",
            "amp": "off",
            "out": str(tmp_path / d_batch),
            "model.n_res_blocks": 1,
            "model.channels": 8,
            "model.d_channels": 8,
        },
    )
    return DSGANTrainer(cfg)


@pytest.mark.parametrize("d_batch", ["separate", "joint"])
def test_real_logits_depend_on_the_fakes_only_in_a_joint_batch(tmp_path, make_images, d_batch):
    t = _trainer(tmp_path, make_images, d_batch)
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
