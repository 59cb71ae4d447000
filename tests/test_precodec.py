"""benchmarks/precodec.py: what a trained G puts in front of its codec."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import precodec


def test_measures_g_before_its_codec(tiny_dsgan) -> None:
    # a G that starts as the identity (zero-initialised residual, no noise) with a JPEG stage
    over = {"model.output": "residual", "model.noise_channels": 0, "model.codec": "jpeg"}
    t = tiny_dsgan({**over, "iterations": 1})
    t.train()
    g = torch.Generator().manual_seed(0)
    batches = [torch.rand(4, 3, 32, 32, generator=g) for _ in range(2)]
    row = precodec.measure(t.run.root, batches, raw=False)
    assert row["learned_quality"] == pytest.approx(float(t.g.codec.quality), abs=0.05)
    # one step from the identity: G itself has hardly changed its input, though its codec
    # changes these random images by far more than a grey level
    assert 0 <= row["change"] < 1.0
    assert 0 <= row["outside_pre"] <= 1 and 0 <= row["outside_final"] <= 1
    coded = row["blockiness_coded"]
    assert coded[20] > coded[90]  # coding harder shows more of the block grid
    # --raw on a checkpoint without a moving average measures the same weights
    (ckpt,) = sorted((t.run.root / "checkpoints").glob("step_*.safetensors"))
    raw = precodec.measure(ckpt, batches, raw=True)
    assert raw["change"] == pytest.approx(row["change"], rel=1e-6)
    assert raw["blockiness_coded"] == pytest.approx(coded, rel=1e-6)


def test_random_crops_have_the_size_asked() -> None:
    g = torch.Generator().manual_seed(0)
    images = [torch.rand(3, 40, 50), torch.rand(3, 33, 60)]
    crops = precodec.random_crops(images, 32, 5, g)
    assert crops.shape == (5, 3, 32, 32)


def _trained(tiny_dsgan, over: dict) -> object:
    t = tiny_dsgan({"model.output": "residual", "model.codec": "jpeg", "iterations": 1, **over})
    t.train()
    return t


def test_d_verdict_is_the_trainers_adversarial_loss(tiny_dsgan) -> None:
    from dsgan.models.codec import MACROBLOCK
    from dsgan.training.codec_step import frozen_batchnorm_stats

    t = _trained(tiny_dsgan, {"model.noise_channels": 0, "model.codec_gate": True})
    g = torch.Generator().manual_seed(1)
    lr = [torch.rand(3, 3, 32, 32, generator=g)]
    real = [torch.rand(3, 3, 32, 32, generator=g)]
    qualities = (20, 50, 80)
    out = precodec.d_verdict(t.run.root, lr, real, truth_blur=1.0, qualities=qualities)
    assert out["learned_quality"] == pytest.approx(float(t.g.codec.quality), abs=0.05)
    # each also fully coded (_gate1), as this codec learns a gate
    assert set(out["curves"]) == {
        v + t for v in ("trained", "no_noise", "truth") for t in ("", "_gate1")
    }
    for name, curve in out["curves"].items():
        assert list(curve) == list(qualities)
        assert out["argmin"][name] == min(curve, key=curve.__getitem__)
    assert set(out["blur"]) == set(out["curves"])
    # the truth's image is the bicubic LR blurred by 1 px: wider edges than G's near-identity
    assert out["blur"]["truth"] > out["blur"]["trained"]
    # a G without noise input: zeroing its noise draw changes nothing
    assert out["curves"]["no_noise"] == out["curves"]["trained"]
    # the truth's image (blurred bicubic LR) is not G's: another curve
    assert out["curves"]["truth"] != out["curves"]["trained"]
    assert out["curves"]["truth_gate1"] != out["curves"]["truth"]  # the gate's blend matters
    # the same loss as the trainer's finite difference takes (same D, offset, gate, BatchNorm)
    rng = torch.Generator().manual_seed(0)
    torch.randn(3, 0, 32, 32, generator=rng)  # the (empty) noise draw d_verdict makes first
    offset = tuple(torch.randint(MACROBLOCK, (2,), generator=rng).tolist())
    t.g.eval()
    t.d.train()
    with torch.no_grad(), frozen_batchnorm_stats(t.d):
        pre = t.g(lr[0], codec_offset=None)
        coded = t.g.codec.at(pre, torch.tensor(50.0), offset)
        d_real, d_fake = t.d_logits(t.loss.d_input(real[0]), t.loss.d_input(coded))
        want = float(t.loss.adv.generator(d_fake, d_real))
    assert out["curves"]["trained"][50] == pytest.approx(want, rel=1e-5)


def test_d_verdict_separates_g_noise(tiny_dsgan) -> None:
    t = _trained(tiny_dsgan, {"model.noise_channels": 3, "model.signal_noise": True})
    g = torch.Generator().manual_seed(2)
    lr = [torch.rand(3, 3, 32, 32, generator=g)]
    real = [torch.rand(3, 3, 32, 32, generator=g)]
    out = precodec.d_verdict(t.run.root, lr, real, qualities=(30, 70))
    # no truth without --truth-blur; no_sensor: the sensor stage silenced, the network's noise on
    assert set(out["curves"]) == {"trained", "no_sensor", "no_noise"}
    assert out["curves"]["no_noise"] != out["curves"]["trained"]  # G's noise is seen
    assert out["curves"]["no_sensor"] != out["curves"]["trained"]
    assert out["curves"]["no_sensor"] != out["curves"]["no_noise"]  # the network's own noise
    lines = precodec.verdict_lines([out], (30, 70))
    rows = [line for line in lines if line.startswith("| ") and "| **" in line]
    assert len(rows) == 3  # one row per variant, each naming the run and D's preferred quality
    assert all(f"/{t.run.root.name} |" in row for row in rows)


def test_d_verdict_needs_a_checkpoint(tiny_dsgan) -> None:
    from dsgan.checkpoints.load import EXPORT, resolve_source
    from dsgan.errors import UserError

    t = _trained(tiny_dsgan, {"model.noise_channels": 0})
    run = t.run.root
    assert (run / EXPORT).is_file()  # a finished run: the exported G, which holds no D
    assert resolve_source(run) == run / EXPORT
    assert resolve_source(run, checkpoint=True).parent == run / "checkpoints"
    with pytest.raises(UserError, match="holds no discriminator"):
        precodec.d_verdict(run / EXPORT, [], [])  # the exported G alone
    for f in (run / "checkpoints").iterdir():
        f.unlink()
    with pytest.raises(UserError, match="no checkpoints in it"):
        precodec.d_verdict(run, [], [])


def test_argmin_interval_is_narrow_for_a_clear_minimum_and_wide_for_a_flat_curve() -> None:
    rng = np.random.default_rng(0)
    qualities = (20, 40, 60, 80)
    clear = np.array([1.0, 0.5, 0.9, 1.2]) + rng.normal(0, 0.01, size=(30, 4))
    assert precodec.argmin_interval(clear, qualities) == [40, 40]
    # each batch prefers another quality, and all four equally often: no quality is preferred
    flat = np.ones((32, 4))
    flat[np.arange(32), np.arange(32) % 4] -= 0.1
    assert precodec.argmin_interval(flat, qualities) == [20, 80]
