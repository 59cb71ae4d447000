"""train_or_resume: done, resumed (also for more steps than the run was trained for) or started."""

from __future__ import annotations

import json
from pathlib import Path

from dsgan.checkpoints import save_weights
from dsgan.models.dsgan import generator_from_config
from dsgan.workflows.runs import train_or_resume


def _export(run: Path, step: int) -> Path:
    g = generator_from_config({"n_res_blocks": 1, "channels": 4})
    path = run / "generator.safetensors"
    save_weights(path, step, {"g": g}, "dsgan-generator", json.dumps({}))
    return path


def test_train_or_resume_decides_from_the_run_directory(tmp_path):
    calls: list[bool] = []

    def train(resume: bool) -> Path:
        calls.append(resume)
        return tmp_path / "new"

    run = tmp_path / "run"
    assert train_or_resume("x", run, train, quiet=True) == tmp_path / "new"  # nothing there
    assert calls == [False]
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "step_00000002.safetensors").write_bytes(b"")  # no latest.json
    train_or_resume("x", run, train, quiet=True)
    assert calls == [False, True]  # checkpoint files mean resume
    final = _export(run, step=2)
    assert train_or_resume("x", run, train, quiet=True) == final  # finished: reused
    assert train_or_resume("x", run, train, iterations=2, quiet=True) == final
    assert calls == [False, True]
    train_or_resume("x", run, train, iterations=5, quiet=True)  # more steps asked: trains on
    assert calls == [False, True, True]
