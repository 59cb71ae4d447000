"""benchmarks/precodec.py: what a trained G puts in front of its codec."""

from __future__ import annotations

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
