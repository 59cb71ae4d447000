"""Interruption: a real ``python -m dsgan train`` killed (SIGKILL) or stopped (SIGTERM) at random
moments and resumed each time ends with exactly the weights of an uninterrupted run, and every
checkpoint it leaves loads."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from dsgan import checkpoints as ckpt

ITERATIONS = 32
ARGS = [
    "--preset",
    "paper",  # the tests' own small networks, not the default camera stages
    "--crop",
    "8",
    "--scale",
    "2",
    "--batch-size",
    "2",
    "--perceptual",
    "none",
    "--iterations",
    str(ITERATIONS),
    "--device",
    "cpu",
    "--amp",
    "off",
    "--seed",
    "3",
    "--set",
    "checkpoint_every=2",
    "--set",
    "image_every=5",
    "--set",
    "log_every=3",
    "--set",
    "model.n_res_blocks=1",
    "--set",
    "model.channels=8",
    "--set",
    "model.d_channels=8",
    # a noise input: G draws from the global RNG every step, so the RNG state must be restored
    "--set",
    "model.noise_channels=1",
]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _start(hr: Path, out: Path) -> subprocess.Popen:
    resume = ["--resume"] if (out / "checkpoints" / ckpt.LATEST).is_file() else []
    cmd = [
        sys.executable,
        "-m",
        "dsgan",
        "train",
        "--hr",
        str(hr),
        "--out",
        str(out),
        *ARGS,
        *resume,
    ]
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_training(proc: subprocess.Popen, out: Path, since: float, timeout: float = 60) -> bool:
    """Wait until the run has started its loop (RunDir rewrote config.yaml); False if it exited."""
    end = time.time() + timeout
    config = out / "config.yaml"
    while time.time() < end:
        if proc.poll() is not None:
            return False
        if config.is_file() and config.stat().st_mtime >= since:
            return True
        time.sleep(0.02)
    raise AssertionError("the training process did not start in time")


def _latest_step(out: Path) -> int:
    try:
        return int(json.loads((out / "checkpoints" / ckpt.LATEST).read_text())["step"])
    except (FileNotFoundError, ValueError, KeyError):
        return 0


def _generator(out: Path) -> dict[str, torch.Tensor]:
    groups, meta = ckpt.read_weights(out / "generator.safetensors")
    assert meta["step"] == str(ITERATIONS)
    return groups["g"]


def _check_checkpoints(out: Path) -> None:
    folder = out / "checkpoints"
    latest = json.loads((folder / ckpt.LATEST).read_text())
    assert latest["step"] == ITERATIONS
    files = sorted(folder.glob("step_*.safetensors"))
    assert files
    for weights in files:
        groups, meta = ckpt.read_weights(weights)
        assert meta["kind"] == "dsgan" and set(groups) == {"g", "d"}
        state = ckpt.read_state(
            weights.with_name(weights.name.replace(".safetensors", ".state.pt"))
        )
        assert int(state["step"]) == int(meta["step"])


def _assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    worst = max((a[k] - b[k]).abs().max().item() for k in a)
    assert worst == 0.0, f"resumed weights differ from the uninterrupted run by {worst}"


@pytest.fixture
def images(tmp_path, make_images) -> Path:
    make_images(tmp_path / "hr", 3, [24, (20, 28), 32])
    return tmp_path / "hr"


@pytest.mark.slow
def test_random_kills_and_resumes_match_an_uninterrupted_run(tmp_path, images):
    ref_out = tmp_path / "ref"
    t0 = time.time()
    ref = _start(images, ref_out)
    _wait_training(ref, ref_out, t0)
    t_loop = time.time()
    _, err = ref.communicate(timeout=120)
    assert ref.returncode == 0, err
    loop_time = time.time() - t_loop
    reference = _generator(ref_out)

    out = tmp_path / "run"
    rng = random.Random(1234)
    interruptions = 0
    for attempt in range(12):
        since = time.time()
        proc = _start(images, out)
        done = _latest_step(out)
        if attempt < 7 and done + 6 <= ITERATIONS - 4 and _wait_training(proc, out, since):
            # a random moment of the training loop (checkpoint writes included): a random number
            # of checkpoints further, plus up to ~1.5 steps' time
            target = done + 2 * rng.randint(1, 3)
            while _latest_step(out) < target and proc.poll() is None:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 1.5 * loop_time / ITERATIONS))
            if proc.poll() is None:
                interruptions += 1
                if attempt == 2:  # one polite stop: a checkpoint at the current step, exit 130
                    proc.send_signal(signal.SIGTERM)
                    stdout, err = proc.communicate(timeout=60)
                    # 0, or -SIGTERM once main() has returned (interpreter teardown): it had
                    # just finished
                    if proc.returncode == -signal.SIGTERM:
                        assert "generator written to" in stdout, err
                    elif proc.returncode != 0:
                        assert proc.returncode == 130, err
                        assert "stopped at step" in stdout, stdout
                        assert "Traceback" not in err
                    continue
                proc.kill()
        _, err = proc.communicate(timeout=120)
        if proc.returncode == 0:
            break
        assert proc.returncode in (-signal.SIGKILL, 130), err
        assert "Traceback" not in err
    else:
        raise AssertionError("the interrupted run never completed")
    assert interruptions >= 3
    # a kill mid-write may leave a hidden temporary file, never a visible partial checkpoint
    visible = {p.name for p in (out / "checkpoints").iterdir() if not p.name.startswith(".")}
    assert all(n == ckpt.LATEST or n.startswith("step_") for n in visible), visible
    _check_checkpoints(out)
    _assert_same(reference, _generator(out))


@pytest.mark.slow
def test_sigterm_checkpoints_at_the_current_step_and_resumes(tmp_path, images):
    out = tmp_path / "run"
    since = time.time()
    proc = _start(images, out)
    assert _wait_training(proc, out, since)
    latest = out / "checkpoints" / ckpt.LATEST
    while not latest.is_file():  # a first checkpoint (step 2): the loop is running
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    stdout, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before SIGTERM arrived (machine too fast)")
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "received SIGTERM" in err
    step = json.loads(latest.read_text())["step"]
    assert f"stopped at step {step}; checkpoint saved" in stdout
    assert 2 <= step < ITERATIONS
    proc = _start(images, out)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert f"resumed from step {step}" in err
    _check_checkpoints(out)
