"""The fast training path computes what the authors' loop computes: the reference step of
benchmarks/speed.py (fp32, eager, NCHW, sigmoid + log losses, separate D passes) and
``DSGANTrainer.train_step`` (channels_last, one D pass on fakes, ``inputs=`` backward passes) give the
same losses and the same updated weights on the same batch; and out-of-memory errors become advice."""

from __future__ import annotations

import pytest
import torch

from dsgan.errors import UserError
from dsgan.models.dsgan import Discriminator, Generator
from speed import ReferenceStep


def test_fast_step_matches_the_reference_step(tiny_dsgan):
    fast = tiny_dsgan()
    ref = ReferenceStep(Generator(2, 16), Discriminator(channels=16), fast.cfg, fast.device)
    ref.g.load_state_dict(fast.g.state_dict())
    ref.d.load_state_dict(fast.d.state_dict())
    xb, real = fast._prepare(*next(iter(fast._loader())))
    assert xb.is_contiguous(memory_format=torch.channels_last)
    for step in range(3):  # later steps run on weights both paths updated themselves
        a = ref(xb.contiguous(), real.contiguous())
        b = {k: float(v) for k, v in fast.train_step(xb, real).items()}
        # step 0: same weights, identical terms; later steps differ by Adam's sign-like first
        # updates of near-zero gradients (rounding-level differences become +-lr)
        tol = 1e-5 if step == 0 else 5e-4
        for key in ("loss/d", "loss/tex", "loss/col", "loss/g"):
            assert abs(a[key] - b[key]) < tol, (step, key, a[key], b[key])
        if step == 0:  # the gradients each network was updated with
            for net_ref, net_fast in ((ref.g, fast.g), (ref.d, fast.d)):
                for (name, p), q in zip(
                    net_ref.named_parameters(), net_fast.parameters(), strict=True
                ):
                    assert torch.allclose(p.grad, q.grad, rtol=1e-3, atol=1e-6), name


def test_fast_step_returns_device_tensors_without_syncing(tiny_dsgan):
    fast = tiny_dsgan()
    xb, real = fast._prepare(*next(iter(fast._loader())))
    out = fast.train_step(xb, real)
    assert out is not None
    assert all(
        isinstance(v, torch.Tensor) and v.ndim == 0 and not v.requires_grad for v in out.values()
    )


def test_bf16_autocast_stays_close_to_fp32(tiny_dsgan):
    fast = tiny_dsgan({"amp": "bf16"})
    xb, real = fast._prepare(*next(iter(fast._loader())))
    g32 = {k: v.clone() for k, v in fast.g.state_dict().items()}
    d32 = {k: v.clone() for k, v in fast.d.state_dict().items()}
    low = {k: float(v) for k, v in fast.train_step(xb, real).items()}
    fast.g.load_state_dict(g32)
    fast.d.load_state_dict(d32)
    fast.amp = None
    fast.opt_g.state.clear()
    fast.opt_d.state.clear()
    full = {k: float(v) for k, v in fast.train_step(xb, real).items()}
    for key in ("loss/d", "loss/col", "loss/g"):
        assert abs(low[key] - full[key]) < 0.02 * max(1.0, abs(full[key])), key


def _raise_oom(*args, **kwargs):
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_training_oom_is_a_user_error(tiny_dsgan, monkeypatch):
    trainer = tiny_dsgan()
    monkeypatch.setattr(trainer, "train_step", _raise_oom)
    with pytest.raises(UserError, match=r"out of memory .*smaller --crop or --batch-size"):
        trainer.train()


def test_degrade_oom_is_a_user_error(tmp_path, make_images, monkeypatch):
    from dsgan.inference import degrade

    make_images(tmp_path / "in", 1, 32)
    monkeypatch.setattr(degrade, "apply_generator", _raise_oom)
    with pytest.raises(UserError, match="--tile"):
        degrade.degrade_folder(
            Generator(1, 8),
            tmp_path / "in",
            tmp_path / "out",
            degrade.DegradeOptions(workers=0),
            torch.device("cpu"),
        )


@pytest.mark.parametrize(
    ("native", "expected"), [(True, torch.bfloat16), (False, None)], ids=["bf16-cpu", "plain-cpu"]
)
def test_amp_auto_is_bf16_only_on_cpus_with_bf16_hardware(monkeypatch, native, expected):
    from dsgan.training import common

    monkeypatch.setattr(common, "cpu_has_native_bf16", lambda: native)
    cpu = torch.device("cpu")
    assert common.autocast_dtype("auto", cpu) is expected
    assert common.autocast_dtype("off", cpu) is None
    assert common.autocast_dtype("bf16", cpu) is torch.bfloat16


def test_cpu_bf16_detection_follows_the_cpuid_checks(monkeypatch):
    from dsgan.training import common

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert common.cpu_has_native_bf16() is False
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert common.cpu_has_native_bf16() is True
