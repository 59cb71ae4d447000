"""Atomic safetensors checkpoints, pruning, metadata, safe state loading and RNG round trips."""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from dsgan import __version__
from dsgan.checkpoints import (
    latest_checkpoint,
    read_state,
    read_weights,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from dsgan.errors import UserError
from dsgan.models import Discriminator, Generator


def nets() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {"g": Generator(n_res_blocks=1, channels=8), "d": Discriminator(channels=8)}


def test_round_trip(tmp_path: Path):
    networks = nets()
    opt = torch.optim.Adam(networks["g"].parameters(), lr=1e-3)
    networks["g"](torch.rand(1, 3, 8, 8)).mean().backward()
    opt.step()
    state = {"optimizer_g": opt.state_dict(), "step": 5, "rng": rng_state()}
    config = json.dumps({"iterations": 10, "data": {"scale": 4}})
    weights = save_checkpoint(
        tmp_path / "ckpt", 5, networks, state, kind="dsgan", config_json=config
    )
    assert weights.name == "step_00000005.safetensors"

    found = latest_checkpoint(tmp_path / "ckpt")
    assert found is not None and found[0] == weights
    groups, meta = read_weights(found[0])
    assert set(groups) == {"g", "d"}
    assert meta["dsgan_version"] == __version__ and meta["kind"] == "dsgan" and meta["step"] == "5"
    assert json.loads(meta["config"]) == {"iterations": 10, "data": {"scale": 4}}

    fresh = nets()
    for p in fresh["g"].parameters():
        torch.nn.init.zeros_(p)
    fresh["g"].load_state_dict(groups["g"], strict=True)
    fresh["d"].load_state_dict(groups["d"], strict=True)  # incl. BatchNorm buffers
    for name in ("g", "d"):
        for (k, a), b in zip(
            networks[name].state_dict().items(), fresh[name].state_dict().values(), strict=True
        ):
            assert torch.equal(a, b), (name, k)

    loaded = read_state(found[1])
    assert loaded["step"] == 5
    opt2 = torch.optim.Adam(fresh["g"].parameters(), lr=1e-3)
    opt2.load_state_dict(loaded["optimizer_g"])
    assert torch.equal(
        opt2.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"]
    )
    # no temporary files left behind
    assert not [p for p in (tmp_path / "ckpt").iterdir() if p.name.endswith(".tmp")]


def test_keep_prunes_old_checkpoints(tmp_path: Path):
    networks = nets()
    for step in (1, 2, 3, 4, 5):
        save_checkpoint(tmp_path, step, networks, {"step": step}, "dsgan", "{}", keep=2)
    assert sorted(p.name for p in tmp_path.glob("step_*")) == [
        "step_00000004.safetensors",
        "step_00000004.state.pt",
        "step_00000005.safetensors",
        "step_00000005.state.pt",
    ]
    weights, state = latest_checkpoint(tmp_path)
    assert weights.name == "step_00000005.safetensors" and read_state(state)["step"] == 5


def test_pruning_never_deletes_the_new_checkpoint(tmp_path: Path):
    networks = nets()
    for step in (100, 200, 300):
        save_checkpoint(tmp_path, step, networks, {"step": step}, "dsgan", "{}", keep=3)
    save_checkpoint(tmp_path, 50, networks, {"step": 50}, "dsgan", "{}", keep=3)
    weights, _ = latest_checkpoint(tmp_path)
    assert weights.name == "step_00000050.safetensors"


def test_latest_checkpoint_missing_and_broken(tmp_path: Path):
    assert latest_checkpoint(tmp_path) is None
    (tmp_path / "latest.json").write_text("{not json")
    with pytest.raises(UserError, match=r"latest\.json"):
        latest_checkpoint(tmp_path)
    (tmp_path / "latest.json").write_text(json.dumps({"weights": "a.safetensors", "state": "b"}))
    with pytest.raises(UserError, match="missing"):
        latest_checkpoint(tmp_path)


def test_read_weights_rejects_garbage(tmp_path: Path):
    (tmp_path / "x.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(UserError, match=r"x\.safetensors"):
        read_weights(tmp_path / "x.safetensors")


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_read_state_refuses_code(tmp_path: Path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.state.pt"
    torch.save({"step": 1, "x": _Payload(marker)}, path)
    with pytest.raises(UserError, match=r"evil\.state\.pt"):
        read_state(path)
    assert not marker.exists()
    with open(tmp_path / "raw.pt", "wb") as fh:
        pickle.dump(_Payload(marker), fh, protocol=2)
    with pytest.raises(UserError):
        read_state(tmp_path / "raw.pt")
    assert not marker.exists()


def draws() -> tuple:
    return (
        [random.random() for _ in range(3)],
        random.gauss(0, 1),
        np.random.rand(3).tolist(),
        np.random.randint(0, 1000, 4).tolist(),
        torch.rand(3).tolist(),
        torch.randn(2).tolist(),
    )


def test_rng_state_round_trip_through_a_file(tmp_path: Path):
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    draws()  # advance everything a little
    state = rng_state()
    torch.save({"rng": state}, tmp_path / "s.pt")
    expected = draws()
    draws()  # move on
    set_rng_state(read_state(tmp_path / "s.pt")["rng"])
    assert draws() == expected


def test_rng_state_keeps_numpy_cached_gaussian():
    np.random.seed(0)
    np.random.randn(1)  # the polar method caches the second value
    state = rng_state()
    expected = np.random.randn(3).tolist()
    set_rng_state(state)
    assert np.random.randn(3).tolist() == expected
