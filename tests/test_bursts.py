"""Gradient bursts: adaptive clipping (training/clip.py, ``optim.clip_g``) and the frozen-stage
meter (training/freeze.py, ``diag/stage_freeze``, health check ``stage_frozen``)."""

from __future__ import annotations

import json

import pytest
import torch

from dsgan.training.clip import AdaptiveClip

# a tiny generator with the default recipe's physical stages (sensor noise, gated JPEG)
STAGES = {
    "model.output": "residual",
    "model.noise_channels": 3,
    "model.signal_noise": True,
    "model.codec": "jpeg",
    "model.codec_gate": True,
}


def _step(clip: AdaptiveClip | None, p: torch.nn.Parameter, opt, grad: float) -> None:
    opt.zero_grad()
    p.grad = torch.full_like(p, grad)
    if clip is not None:
        clip.clip()
    opt.step()


def test_a_burst_is_clipped_to_factor_times_the_median_and_ordinary_steps_are_not() -> None:
    p = torch.nn.Parameter(torch.zeros(4))
    clip = AdaptiveClip([[p]], factor=5.0, window=50, min_history=20)
    gen = torch.Generator().manual_seed(0)
    for _ in range(30):  # norms between 1 and 2: median about 1.5
        p.grad = torch.ones(4) * (0.5 + 0.5 * torch.rand((), generator=gen))
        assert float(clip.clip()[0]) == 1.0
    median = float(clip.history.nanmedian())
    p.grad = torch.ones(4) * 500.0  # a burst: norm 1000
    scale = float(clip.clip()[0])
    assert p.grad.norm() == pytest.approx(5 * median, rel=1e-5)
    assert scale == pytest.approx(5 * median / 1000, rel=1e-5)
    p.grad = torch.ones(4) * 2.0  # norm 4 < 5 x median: untouched
    clip.clip()
    assert torch.equal(p.grad, torch.full((4,), 2.0))
    assert int(clip.clipped.sum()) == 1


def test_nothing_is_clipped_before_min_history() -> None:
    p = torch.nn.Parameter(torch.zeros(1))
    clip = AdaptiveClip([[p]], factor=1.0, window=20, min_history=5)
    for i in range(5):
        p.grad = torch.full((1,), 10.0**i)
        clip.clip()
        assert float(p.grad) == 10.0**i


def test_clipping_keeps_a_burst_from_freezing_adam() -> None:
    """The mechanism of docs/RESULTS.md "Gradient bursts": after one gradient 3,000 times the usual,
    Adam's steps on a parameter with a steady gradient shrink ~50x for the rest of the run;
    clipped, the parameter keeps moving at its pace."""
    moved = {}
    for clipped in (False, True):
        p = torch.nn.Parameter(torch.zeros(()))
        opt = torch.optim.Adam([p], lr=0.01, betas=(0.5, 0.999))
        clip = AdaptiveClip([[p]], factor=5.0) if clipped else None
        for step in range(400):
            _step(clip, p, opt, 0.3 if step == 100 else 1e-4)
        before = float(p.detach())
        for _ in range(1000):
            _step(clip, p, opt, 1e-4)
        moved[clipped] = before - float(p.detach())
    assert moved[True] > 0.9 * 1000 * 0.01  # about lr per step, as Adam should
    assert moved[False] < moved[True] / 10  # frozen


def test_state_round_trips_and_a_wrong_shape_is_refused() -> None:
    p = torch.nn.Parameter(torch.zeros(2))
    a = AdaptiveClip([[p]], factor=2.0, window=30)
    for i in range(25):
        p.grad = torch.full((2,), 1.0 + i % 3)
        a.clip()
    b = AdaptiveClip([[p]], factor=2.0, window=30)
    b.load_state_dict(a.state_dict())
    assert b.count == a.count and torch.equal(b.clipped, a.clipped)
    assert torch.equal(b.history.nan_to_num(-1), a.history.nan_to_num(-1))
    with pytest.raises(ValueError, match="clip_window"):
        AdaptiveClip([[p]], factor=2.0, window=40).load_state_dict(a.state_dict())


def test_trainer_clips_logs_and_resumes_exactly(tiny_dsgan) -> None:
    """factor 0.5 clips about every step once 20 norms are recorded; a run resumed at step 24
    equals the uninterrupted one only if the norm history came back from the checkpoint."""
    over = {
        **STAGES,
        "optim.clip_g": 0.5,
        "optim.clip_window": 20,
        "log_every": 1,
        "checkpoint_every": 24,
        "optim.decay_start": 1.0,  # the same learning rates whether a run ends at 24 or 30
    }
    whole = tiny_dsgan({**over, "iterations": 30})
    whole.train()
    rows = [
        json.loads(line) for line in (whole.run.root / "metrics.jsonl").read_text().splitlines()
    ]
    scales = [r["diag/clip_scale"] for r in rows if "diag/clip_scale" in r]
    assert len(scales) == 30 and all(s == 1.0 for s in scales[:20])
    assert min(scales[20:]) < 1.0 and all(0 < s <= 1 for s in scales)
    assert rows[-1]["diag/clipped_steps"] >= 5

    part = tiny_dsgan({**over, "iterations": 24})
    part.train()
    resumed = type(part)(part.cfg.model_copy(update={"iterations": 30}), resume=True)
    assert resumed.clip is not None and resumed.clip.count == 24
    resumed.train()
    for (name, a), b in zip(
        whole.g.state_dict().items(), resumed.g.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name


def test_adam_state_benchmark_reads_a_runs_stage_moments(tiny_dsgan) -> None:
    import adam_state

    t = tiny_dsgan(
        {
            **STAGES,
            "iterations": 4,
            "log_every": 1,
            "checkpoint_every": 2,
        }
    )
    t.train()
    result = adam_state.inspect_run(t.run.root)
    assert [s["step"] for s in result["states"]] == [2, 4]
    ratios = result["states"][-1]["ratio"]
    assert list(ratios) == ["sensor.log_shot", "sensor.log_read", "sensor.mix", "codec.gate_logit"]
    assert all(v > 0 for v in ratios.values())
    assert "codec.gate_logit" in adam_state.markdown([result])


def _adam_run(meter_steps: int, burst_at: int | None) -> float:
    """One Adam parameter with gradients of about 1e-4 (random sign and size), optionally one of
    0.3; returns FreezeMeter's ratio after ``meter_steps`` steps."""
    from dsgan.training.freeze import FreezeMeter

    p = torch.nn.Parameter(torch.zeros(3))
    opt = torch.optim.Adam([p], lr=0.01, betas=(0.5, 0.999))
    meter = FreezeMeter([p], opt)
    gen = torch.Generator().manual_seed(1)
    ratio = None
    for step in range(meter_steps):
        opt.zero_grad()
        p.grad = 1e-4 * torch.randn(3, generator=gen)
        if step == burst_at:
            p.grad = torch.full((3,), 0.3)
        opt.step()
        ratio = meter.ratio()
    assert ratio is not None
    return float(ratio)


def test_freeze_meter_is_about_one_while_learning_and_large_after_a_burst() -> None:
    assert 0.3 < _adam_run(300, None) < 3
    assert _adam_run(300, 100) > 20  # 200 steps after the burst: still frozen


def test_health_dates_a_frozen_stage(tmp_path) -> None:
    from dsgan.training.health import HealthMonitor

    mon = HealthMonitor(tmp_path / "h.json", 2400)
    for step in range(50, 2401, 50):
        mon.update(step, {"diag/stage_freeze": 40.0 if step >= 500 else 1.2, "diag/rgb_shift": 0.1})
    report = json.loads((tmp_path / "h.json").read_text())
    assert not report["ok"]
    (ep,) = report["episodes"]
    assert ep["kind"] == "stage_frozen" and ep["start"] == 500 and ep["peak"] == 40.0
    assert "frozen" in mon.summary_line()


def test_trainer_logs_stage_freeze_and_resumes_a_checkpoint_without_its_state(tiny_dsgan) -> None:
    """A checkpoint written before clip_g / stage_freeze existed still resumes (they start fresh)."""
    over = {
        **STAGES,
        "optim.clip_g": 5.0,
        "log_every": 1,
        "iterations": 4,
        "checkpoint_every": 4,
    }
    t = tiny_dsgan(over)
    t.train()
    rows = [json.loads(line) for line in (t.run.root / "metrics.jsonl").read_text().splitlines()]
    assert all(r["diag/stage_freeze"] > 0 for r in rows)
    (state_path,) = (t.run.root / "checkpoints").glob("*.state.pt")
    state = torch.load(state_path, weights_only=True)
    assert {"clip_g", "stage_freeze"} <= set(state)
    del state["clip_g"], state["stage_freeze"]
    torch.save(state, state_path)
    resumed = type(t)(t.cfg.model_copy(update={"iterations": 6}), resume=True)
    assert resumed.step == 4 and resumed.clip is not None and resumed.clip.count == 0
    resumed.train()
    assert resumed.step == 6


def test_a_group_without_gradients_so_far_is_not_zeroed() -> None:
    p = torch.nn.Parameter(torch.zeros(2))
    clip = AdaptiveClip([[p]], factor=5.0, window=20, min_history=5)
    for _ in range(10):
        p.grad = torch.zeros(2)
        clip.clip()
    p.grad = torch.ones(2)
    clip.clip()
    assert torch.equal(p.grad, torch.ones(2))
