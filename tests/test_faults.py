"""Numerical faults in training: non-finite steps are skipped, repeated ones roll back to the last
good checkpoint, and faults that keep recurring stop the run with a clear error (never a loop)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from dsgan import checkpoints as ckpt
from dsgan.config.base import load_config
from dsgan.config.dsgan import DSGANConfig
from dsgan.errors import UserError
from dsgan.training.common import MAX_ROLLBACKS
from dsgan.training.dsgan_trainer import DSGANTrainer


def _cfg(tmp_path: Path, iterations: int = 12) -> DSGANConfig:
    return load_config(
        DSGANConfig,
        overrides={
            "data.hr": str(tmp_path / "hr"),
            "data.crop": 8,
            "data.scale": 2,
            "batch_size": 2,
            "loss.perceptual": "none",
            "iterations": iterations,
            "out": str(tmp_path / "run"),
            "device": "cpu",
            "amp": "off",
            "checkpoint_every": 4,
            "image_every": 1000,
            "model.n_res_blocks": 1,
            "model.channels": 8,
            "model.d_channels": 8,
        },
    )


class _NaNColor(torch.nn.Module):
    """Wraps the colour loss; returns NaN on the calls whose (0-based) number is in ``bad``."""

    def __init__(self, inner: torch.nn.Module, bad: set[int] | None) -> None:
        super().__init__()
        self.inner, self.bad, self.calls = inner, bad, 0

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        out = self.inner(a, b)
        n, self.calls = self.calls, self.calls + 1
        if self.bad is None or n in self.bad:
            return out * float("nan")
        return out


def test_nan_steps_are_skipped_and_rolled_back(tmp_path, make_images, caplog):
    make_images(tmp_path / "hr", 3, 20)
    trainer = DSGANTrainer(_cfg(tmp_path))
    # calls 0-5 are steps 0-5 (fine); calls 6..11: six NaN G losses in a row after the step-4
    # checkpoint -> 5 skips, a rollback to step 4, one more skip, then training goes on
    bad = set(range(6, 12))
    trainer.loss.color = _NaNColor(trainer.loss.color, bad)
    with caplog.at_level(logging.WARNING):
        out = trainer.train()
    text = caplog.text
    assert "non-finite loss or gradient, step skipped" in text
    assert "rolling back to step_00000004.safetensors" in text
    assert text.count("step skipped") == len(bad)
    assert trainer.step == 12
    # every skipped step was redone, and steps 4-5 once more after the rollback
    assert trainer.loss.color.calls == 12 + len(bad) + 2
    groups, meta = ckpt.read_weights(out)
    assert meta["step"] == "12"
    assert all(torch.isfinite(t).all() for t in groups["g"].values())
    for weights in sorted((tmp_path / "run" / "checkpoints").glob("step_*.safetensors")):
        g, _ = ckpt.read_weights(weights)
        assert all(torch.isfinite(t).all() for net in g.values() for t in net.values())


def test_nan_before_any_checkpoint_is_a_clear_error(tmp_path, make_images):
    make_images(tmp_path / "hr", 2, 20)
    trainer = DSGANTrainer(_cfg(tmp_path))
    trainer.loss.color = _NaNColor(trainer.loss.color, None)
    with pytest.raises(UserError, match=r"diverged .* before any checkpoint"):
        trainer.train()


def test_recurring_faults_give_up_instead_of_looping(tmp_path, make_images):
    make_images(tmp_path / "hr", 2, 20)
    trainer = DSGANTrainer(_cfg(tmp_path))
    trainer.loss.color = _NaNColor(trainer.loss.color, set(range(4, 10_000)))  # NaN from step 4 on
    with pytest.raises(UserError, match="keeps diverging"):
        trainer.train()
    assert trainer.rollbacks == {"step_00000004.safetensors": MAX_ROLLBACKS}


def test_nan_gradient_is_detected(tmp_path, make_images):
    """A finite loss with a non-finite gradient is skipped too (Adam state untouched)."""
    make_images(tmp_path / "hr", 2, 20)
    trainer = DSGANTrainer(_cfg(tmp_path, iterations=2))
    before = {k: v.clone() for k, v in trainer.g.state_dict().items()}

    def nan_grad(grad: torch.Tensor) -> torch.Tensor:
        return grad * float("nan")

    handle = next(trainer.g.parameters()).register_hook(nan_grad)
    xb = torch.rand(2, 3, 8, 8)
    assert trainer.train_step(xb, torch.rand(2, 3, 8, 8)) is None
    handle.remove()
    after = trainer.g.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not trainer.opt_g.state  # no Adam moments were written
    assert trainer.train_step(xb, torch.rand(2, 3, 8, 8)) is not None


def test_rollback_target_gives_up_after_repeated_rollbacks(tmp_path) -> None:
    """Shared by both trainers: no checkpoint -> clear error; the same one too often -> stop."""
    from dsgan.checkpoints import save_checkpoint
    from dsgan.errors import UserError
    from dsgan.training.common import rollback_target

    counts: dict[str, int] = {}
    with pytest.raises(UserError, match="before any checkpoint"):
        rollback_target(tmp_path, counts, 5)
    save_checkpoint(tmp_path, 4, {"g": torch.nn.Linear(2, 2)}, {"step": 4}, "sr", "{}")
    for _ in range(MAX_ROLLBACKS):
        weights, _ = rollback_target(tmp_path, counts, 5)
        assert weights.name == "step_00000004.safetensors"
    with pytest.raises(UserError, match="keeps diverging"):
        rollback_target(tmp_path, counts, 5)


def _sr_trainer(tmp_path: Path, make_images, **overrides):
    """A tiny L1-only SR trainer on 3 random 16 -> 32 pixel pairs (x2)."""
    from dsgan.config.sr import SRConfig
    from dsgan.training.sr_trainer import SRTrainer

    make_images(tmp_path / "lr", 3, 16)
    make_images(tmp_path / "hr", 3, 32)
    base = {
        "data.lr": str(tmp_path / "lr"),
        "data.hr": str(tmp_path / "hr"),
        "data.scale": 2,
        "data.patch": 16,
        "model.nf": 8,
        "model.nb": 1,
        "model.gc": 4,
        "loss.gan": False,
        "batch_size": 2,
        "out": str(tmp_path / "run"),
        "device": "cpu",
        "amp": "off",
        "image_every": 1000,
    }
    return SRTrainer(load_config(SRConfig, overrides={**base, **overrides}))


def test_sr_training_skips_and_rolls_back_like_dsgan(tmp_path, make_images, caplog):
    """The SR trainer shares the loop: skipped steps are redone, a rollback restores step 4."""
    trainer = _sr_trainer(tmp_path, make_images, iterations=12, checkpoint_every=4)
    calls = {"n": 0}
    bad = set(range(6, 12))

    def nan_output(module, args, out):
        n, calls["n"] = calls["n"], calls["n"] + 1
        return out * float("nan") if n in bad else out

    trainer.g.register_forward_hook(nan_output)
    with caplog.at_level(logging.WARNING):
        out = trainer.train()
    assert caplog.text.count("step skipped") == len(bad)
    assert "rolling back to step_00000004.safetensors" in caplog.text
    # the final sample grid is drawn by G's moving average (another module, not hooked)
    assert trainer.step == 12 and calls["n"] == 12 + len(bad) + 2
    groups, meta = ckpt.read_weights(out)
    assert meta["step"] == "12" and all(torch.isfinite(t).all() for t in groups["g"].values())


def test_sr_out_of_memory_is_a_user_error(tmp_path, make_images, monkeypatch):
    trainer = _sr_trainer(tmp_path, make_images, iterations=2)

    def oom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(trainer, "train_step", oom)
    with pytest.raises(UserError, match=r"out of memory .*--batch-size 2 and --patch 16"):
        trainer.train()
