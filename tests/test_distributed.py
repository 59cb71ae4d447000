"""Distributed training: ``torchrun --nproc_per_node 2 -m dsgan train`` (gloo, CPU) equals one
process at the same global batch (SyncBatchNorm, DDP-averaged gradients, sharded batches), and every
rank holds the same weights."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from dist_helpers import free_port, join_group
from dsgan import checkpoints as ckpt
from dsgan.config.base import load_config
from dsgan.config.dsgan import DSGANConfig
from dsgan.training.distributed import CPUSyncBatchNorm2d, DistInfo, env_rank

ITERATIONS = 3
ARGS = [
    "--preset",
    "paper",  # the tests' own small networks, not the default camera stages
    "--crop",
    "8",
    "--scale",
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
    "5",
    "--set",
    "checkpoint_every=2",
    "--set",
    "model.n_res_blocks=1",
    "--set",
    "model.channels=8",
    "--set",
    "model.d_channels=8",
]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _train(cmd_prefix: list[str], hr: Path, out: Path, batch: int) -> subprocess.CompletedProcess:
    cmd = [
        *cmd_prefix,
        "-m",
        "dsgan",
        "train",
        "--hr",
        str(hr),
        "--out",
        str(out),
        *ARGS,
        "--batch-size",
        str(batch),
    ]
    return subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=120)


def _weights(out: Path) -> dict[str, torch.Tensor]:
    groups, meta = ckpt.read_weights(out / "checkpoints" / f"step_{ITERATIONS:08d}.safetensors")
    assert meta["step"] == str(ITERATIONS)
    return {f"{net}.{k}": v for net, sd in groups.items() for k, v in sd.items()}


def test_env_rank_defaults(monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    assert env_rank() == DistInfo(0, 1, 0)
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    info = env_rank()
    assert (info.rank, info.world_size, info.local_rank, info.enabled) == (3, 4, 1, True)


@pytest.mark.slow
def test_torchrun_two_ranks_match_one_process(tmp_path, make_images):
    make_images(tmp_path / "hr", 4, 24)
    single = _train([sys.executable], tmp_path / "hr", tmp_path / "single", batch=2)
    assert single.returncode == 0, single.stderr
    run = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(free_port()),
    ]
    multi = _train(run, tmp_path / "hr", tmp_path / "multi", batch=1)  # 2 ranks x 1 = 2
    assert multi.returncode == 0, multi.stderr
    assert multi.stdout.count("generator written to") == 1  # rank 0 alone reports and writes
    a, b = _weights(tmp_path / "single"), _weights(tmp_path / "multi")
    assert a.keys() == b.keys()
    # The biases of D's convolutions that feed a BatchNorm get a gradient that is 0 up to rounding
    # (BN removes any constant shift); Adam normalises that noise to +-lr per step, so they (and
    # the running means that track them) are arbitrary at the 1e-4 level in any two runs.
    noise = {"d.net.2.bias", "d.net.5.bias", "d.net.3.running_mean", "d.net.6.running_mean"}
    worst = max((a[k] - b[k]).abs().max().item() for k in a if k not in noise)
    assert worst < 1e-5, f"2-rank training differs from 1 process by {worst}"
    # the weights did move between checkpoints (the comparison is not trivially true)
    groups, _ = ckpt.read_weights(tmp_path / "single" / "checkpoints" / "step_00000002.safetensors")
    earlier = {f"{net}.{k}": v for net, sd in groups.items() for k, v in sd.items()}
    assert max((a[k] - earlier[k]).abs().max().item() for k in a) > 1e-6


def _rank_worker(
    rank: int, world: int, port: int, hr: str, out: str, extra: dict | None = None
) -> None:
    import torch.distributed as dist

    from dsgan.training.dsgan_trainer import DSGANTrainer

    join_group(rank, world, port)
    extra = dict(extra or {})
    gate_logit = extra.pop("_gate_logit", None)  # set before training (no config key for it)
    try:
        cfg = load_config(
            DSGANConfig,
            overrides={
                "data.hr": hr,
                "data.crop": 8,
                "data.scale": 2,
                "batch_size": 1,
                "loss.perceptual": "none",
                "iterations": 2,
                "device": "cpu",
                "amp": "off",
                "out": out,
                "model.n_res_blocks": 1,
                "model.channels": 8,
                "model.d_channels": 8,
                "seed": 11,
                **extra,
            },
        )
        trainer = DSGANTrainer(cfg, rank=rank, world_size=world)
        if gate_logit is not None:
            with torch.no_grad():
                trainer.g.codec.gate_logit.fill_(gate_logit)
        assert isinstance(trainer.d_run, torch.nn.parallel.DistributedDataParallel)
        assert any(isinstance(m, CPUSyncBatchNorm2d) for m in trainer.d.modules())
        trainer.train()
        state = {f"g.{k}": v for k, v in trainer.g.state_dict().items()}
        state.update({f"d.{k}": v for k, v in trainer.d.state_dict().items()})
        torch.save(state, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
@pytest.mark.parametrize("codec", ["none", "jpeg", "camera", "snapped-off", "sampled"])
def test_ranks_keep_identical_weights(tmp_path, make_images, codec):
    """Also with the JPEG codec, whose quality each rank updates from its own finite difference
    (own batch, own grid offset): the slopes are averaged over ranks, so the quality stays equal.
    And with the camera stages, whose codec gate is used outside G's DDP-wrapped forward; and
    with that gate snapped off at the second step, where the codec is skipped (DDP still needs
    a gradient, zero, for the gate); and with a sampled gate (each rank its own draw, the gate's
    slope averaged)."""
    make_images(tmp_path / "hr", 4, 24)
    out = tmp_path / "run"
    extra = {"model.codec": codec, "model.output": "residual", "optim.codec_lr": 0.05}
    if codec == "snapped-off":
        extra.update({"optim.gate_snap": 0.5, "_gate_logit": -3.0})
    if codec == "sampled":
        extra["model.codec_gate_mode"] = "sample"
    if codec in ("camera", "snapped-off", "sampled"):
        extra.update(
            {
                "model.codec": "jpeg",
                "model.codec_gate": True,
                "model.noise_channels": 3,
                "model.blur": 2,
                "model.signal_noise": True,
            }
        )
    args = (2, free_port(), str(tmp_path / "hr"), str(out), extra)
    mp.spawn(_rank_worker, args=args, nprocs=2)
    s0, s1 = (torch.load(out / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert all(torch.equal(s0[k], s1[k]) for k in s0)
    if codec != "none":  # and it did move
        q = torch.sigmoid(s0["g.codec.quality_logit"]) * 99 + 1
        assert abs(float(q) - 75.0) > 0.01
    if codec == "snapped-off":
        assert float(s0["g.codec.gate_logit"]) == -30.0  # snapped at step 1, then left alone
    if codec in (
        "camera",
        "sampled",
    ):  # the gate and the stages trained (by autograd, averaged by DDP)
        assert abs(float(s0["g.codec.gate_logit"])) > 1e-4
        assert float(s0["g.blur.sigma_param"]) != pytest.approx(-1.0502, abs=1e-4)
    assert (out / "generator.safetensors").is_file()  # written by rank 0
