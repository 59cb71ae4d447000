"""Training health: a saturated D or a colour drift is detected, dated and summarised."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dsgan.training.health import HealthChecks, HealthMonitor


def _feed(mon: HealthMonitor, records: list[tuple[int, float, float, float]]) -> None:
    for step, real, fake, shift in records:
        mon.update(step, {"d/real": real, "d/fake": fake, "diag/rgb_shift": shift})


def test_a_healthy_run_reports_nothing(tmp_path: Path) -> None:
    mon = HealthMonitor(tmp_path / "health.json", 2400)
    _feed(mon, [(s, 0.3, -0.3, 0.3) for s in range(20, 2401, 20)])
    report = json.loads((tmp_path / "health.json").read_text())
    assert report["ok"] and report["episodes"] == []
    assert mon.summary_line() is None


def test_sustained_saturation_and_drift_are_dated(tmp_path: Path) -> None:
    """The FINDINGS failure: D ahead from step 100 on, colour drift from step 800 on."""
    mon = HealthMonitor(tmp_path / "health.json", 2400)
    records = []
    for s in range(20, 2401, 20):
        sat = s >= 100
        records.append((s, 2.0 if sat else 0.2, -4.0 if sat else -0.2, 4.0 if s >= 800 else 0.2))
    _feed(mon, records)
    report = json.loads((tmp_path / "health.json").read_text())
    kinds = {e["kind"]: e for e in report["episodes"]}
    assert not report["ok"]
    assert kinds["d_saturated"]["start"] == 100 and kinds["d_saturated"]["end"] == 2400
    assert kinds["d_saturated"]["mean"] == pytest.approx(6.0)
    assert kinds["colour_drift"]["start"] == 800
    line = mon.summary_line()
    assert line is not None and "discriminator saturated" in line and "100-2400" in line


def test_short_spikes_do_not_count_and_episodes_close(tmp_path: Path) -> None:
    mon = HealthMonitor(tmp_path / "h.json", 1000, checks=HealthChecks(min_steps=100))
    spike = [(s, 3.0, -3.0, 0.1) for s in (20, 40, 60)]  # 40 steps: too short
    calm = [(s, 0.1, -0.1, 0.1) for s in range(80, 300, 20)]
    long = [(s, 3.0, -3.0, 0.1) for s in range(300, 520, 20)]  # 200 steps, then calm again
    _feed(mon, spike + calm + long + [(520, 0.1, -0.1, 0.1)])
    eps = mon.report()["episodes"]
    assert [(e["start"], e["end"]) for e in eps] == [(300, 500)]


def test_wgan_logits_are_not_judged(tmp_path: Path) -> None:
    mon = HealthMonitor(tmp_path / "h.json", 400, watch_d=False)
    _feed(mon, [(s, 50.0, -50.0, 0.1) for s in range(20, 401, 20)])
    assert mon.report()["ok"]


def test_a_resumed_run_keeps_earlier_episodes_and_continues_an_open_one(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    first = HealthMonitor(path, 2000)
    _feed(first, [(s, 0.1, -0.1, 3.0) for s in range(20, 401, 20)])  # drift 20-400, closed
    _feed(first, [(420, 0.1, -0.1, 0.1)])
    _feed(first, [(s, 3.0, -3.0, 0.1) for s in range(440, 801, 20)])  # saturated, still open
    assert json.loads(path.read_text())["episodes"][-1]["open"] is True
    # the checkpoint was at 600: steps 620-800 are trained again, the open episode goes on
    resumed = HealthMonitor(path, 2000, start_step=600)
    _feed(resumed, [(s, 3.0, -3.0, 0.1) for s in range(620, 1001, 20)])
    _feed(resumed, [(1020, 0.1, -0.1, 0.1)])
    eps = resumed.report()["episodes"]
    assert [(e["kind"], e["start"], e["end"]) for e in eps] == [
        ("colour_drift", 20, 400),
        ("d_saturated", 440, 1000),
    ]
    fresh = HealthMonitor(path, 2000)  # a new run in the folder: the old report is not its own
    assert fresh.report()["episodes"] == []


def test_a_rollback_forgets_the_steps_trained_again(tmp_path: Path) -> None:
    mon = HealthMonitor(tmp_path / "h.json", 1000, checks=HealthChecks(min_steps=100))
    _feed(mon, [(s, 0.1, -0.1, 0.1) for s in range(20, 201, 20)])
    _feed(mon, [(s, 3.0, -3.0, 0.1) for s in range(220, 401, 20)])  # saturated 220-400 ...
    _feed(mon, [(s, 0.1, -0.1, 0.1) for s in range(220, 401, 20)])  # ... rolled back to 200
    assert mon.report()["ok"]


def test_the_trainer_writes_health_json(tiny_dsgan: Any) -> None:
    t = tiny_dsgan({"log_every": 2, "iterations": 4})
    t.train()
    report = json.loads((Path(t.cfg.out) / "health.json").read_text())
    assert set(report) == {"ok", "checks", "episodes"}
    assert report["checks"]["logit_gap"] == 3.0


def test_a_second_training_into_the_same_run_directory_is_refused(tiny_dsgan: Any) -> None:
    """Two trainings in one --out would interleave checkpoints and metrics: the second stops
    with the holder's pid; after the first finishes the directory is free again."""
    import os

    from dsgan.errors import UserError
    from dsgan.training.dsgan_trainer import DSGANTrainer

    first = tiny_dsgan({"iterations": 2})
    with pytest.raises(UserError, match=rf"in use by another training \(pid {os.getpid()}\)"):
        DSGANTrainer(first.cfg, resume=False)
    first.train()
    again = DSGANTrainer(first.cfg.model_copy(update={"iterations": 3}), resume=True)
    again.train()
    assert again.step == 3


def test_a_refused_start_frees_the_run_directory_at_once(tiny_dsgan: Any) -> None:
    """Refused (existing run, no --resume): the lock is released even while the exception (and
    the half-built trainer it references) is still alive, so --resume works in the same process."""
    from dsgan.errors import UserError
    from dsgan.training.dsgan_trainer import DSGANTrainer

    first = tiny_dsgan({"iterations": 2})
    first.train()
    with pytest.raises(UserError, match="already holds a training run") as info:
        DSGANTrainer(first.cfg, resume=False)
    assert info.value is not None  # keeps the traceback alive
    resumed = DSGANTrainer(first.cfg.model_copy(update={"iterations": 3}), resume=True)
    resumed.train()
    assert resumed.step == 3


def _grads(mon: HealthMonitor, norms: dict[int, float]) -> None:
    for step, g in norms.items():
        mon.update(step, {"d/real": 0.3, "d/fake": -0.3, "diag/rgb_shift": 0.1, "diag/grad_g": g})


def test_a_gradient_burst_is_dated_at_once(tmp_path: Path, caplog) -> None:
    """The clean run of docs/RESULTS.md: G's gradient norm about 0.01, 0.31 at step 400."""
    mon = HealthMonitor(tmp_path / "h.json", 2400)
    norms = {s: 0.01 + 0.002 * ((s // 50) % 3) for s in range(50, 2401, 50)}
    norms[400] = 0.31
    norms[1100] = 0.08  # 7x: a rough step, not a burst
    with caplog.at_level("WARNING"):
        _grads(mon, norms)
    report = json.loads((tmp_path / "h.json").read_text())
    assert not report["ok"]
    assert [(e["kind"], e["start"]) for e in report["episodes"]] == [("gradient_burst", 400)]
    assert report["episodes"][0]["peak"] == pytest.approx(0.31 / 0.012, rel=0.2)
    assert "gradient burst at step 400" in caplog.text
    line = mon.summary_line()
    assert line is not None and "gradient burst" in line and "step 400" in line


def test_no_burst_is_judged_before_enough_history_and_resume_forgets_later_ones(tmp_path: Path):
    mon = HealthMonitor(tmp_path / "h.json", 1000)
    _grads(mon, {50: 0.01, 100: 0.5})  # one earlier value only: not judged
    assert mon.report()["ok"]
    _grads(mon, {s: 0.01 for s in range(150, 451, 50)} | {500: 0.9, 550: 0.01})
    assert [e["start"] for e in mon.report()["episodes"]] == [500]
    resumed = HealthMonitor(tmp_path / "h.json", 1000, start_step=450)  # from a checkpoint at 450
    assert resumed.report()["ok"]  # the burst at 500 is trained again
    kept = HealthMonitor(tmp_path / "h.json", 1000, start_step=500)
    assert [e["kind"] for e in kept.report()["episodes"]] == ["gradient_burst"]
