"""``dsgan sr-train`` at scale: the EMA of G (what is validated and exported, saved and resumed) and
DDP under ``torchrun`` (gloo, CPU): two ranks equal one process at the same global batch, a run
without gradient averaging does not, and validation is sharded over the ranks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from dist_helpers import free_port, join_group
from dsgan.checkpoints import read_weights
from ema_helpers import assert_is_ema, moving_average
from test_sr_train import make_pairs, sr_train

STEPS = 3


def _groups(run: Path, step: int) -> dict[str, dict[str, torch.Tensor]]:
    return read_weights(run / "checkpoints" / f"step_{step:08d}.safetensors")[0]


def test_ema_is_the_moving_average_and_what_is_exported(tmp_path, make_images) -> None:
    """With decay 0.5: ema_1 = g_1, ema_t = 0.5 ema_(t-1) + 0.5 g_t, from the checkpointed G of
    every step; the exported generator is the EMA, not the last G."""
    pairs = make_pairs(tmp_path / "pairs", make_images)
    run = tmp_path / "run"
    extra = ["--psnr-only", "--iterations", str(STEPS), "--ema", "0.5"]
    assert sr_train(pairs, run, *extra, "--set", "checkpoint_every=1") == 0
    gs = [_groups(run, t)["g"] for t in range(1, STEPS + 1)]
    exported = read_weights(run / "generator.safetensors")[0]["g"]
    assert_is_ema(moving_average(gs, 0.5), _groups(run, STEPS)["g_ema"], exported, gs[-1])


def test_no_ema_exports_the_last_weights(tmp_path, make_images) -> None:
    pairs = make_pairs(tmp_path / "pairs", make_images)
    run = tmp_path / "run"
    assert sr_train(pairs, run, "--psnr-only", "--iterations", "2", "--no-ema") == 0
    last = _groups(run, 2)
    assert set(last) == {"g"}
    exported = read_weights(run / "generator.safetensors")[0]["g"]
    assert all(torch.equal(exported[k], v) for k, v in last["g"].items())


def _config(pairs: str, val: str, out: str, batch: int, gan: bool):
    from dsgan.config.base import load_config
    from dsgan.config.sr import SRConfig

    return load_config(
        SRConfig,
        overrides={
            "data.pairs": pairs,
            "data.val": val,
            "data.patch": 32,
            "batch_size": batch,
            # with gan: one L1 step, then the GAN phase (D, its BatchNorms synchronised)
            "pretrain_iterations": 1 if gan else 0,
            "iterations": STEPS - 1 if gan else STEPS,
            "loss.gan": gan,
            "loss.perceptual": "none",
            "model.nf": 8,
            "model.nb": 1,
            "model.gc": 4,
            "model.d_channels": 4,
            "device": "cpu",
            "amp": "off",
            "out": out,
            "seed": 3,
            "ema": 0.5,
            "val_every": STEPS,
        },
    )


def _state(trainer) -> dict[str, torch.Tensor]:
    nets = {"g": trainer.g, "g_ema": trainer.ema.module}
    if trainer.d is not None:
        nets["d"] = trainer.d
    state = {f"{n}.{k}": v for n, net in nets.items() for k, v in net.state_dict().items()}
    state["val"] = torch.tensor(trainer.validate()["val/psnr"])
    return state


def _rank_worker(rank: int, world: int, port: int, paths: tuple, gan: bool, ddp: bool) -> None:
    import torch.distributed as dist

    from dsgan.training.sr_trainer import SRTrainer

    pairs, val, out = paths
    join_group(rank, world, port)
    try:
        if not ddp:  # the broken variant the comparison must catch: no gradient averaging
            SRTrainer._wrap = lambda self, net, compile_=False: net  # type: ignore[method-assign]
            from dsgan.training import distributed

            distributed.average_gradients = lambda params: None
        trainer = SRTrainer(_config(pairs, val, out, 1, gan), rank=rank, world_size=world)
        if ddp:
            assert isinstance(trainer.g_run, torch.nn.parallel.DistributedDataParallel)
        trainer.train()
        torch.save(_state(trainer), Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _run_both(tmp_path: Path, make_images, gan: bool, ddp: bool):
    """(one process at batch 2, rank 0 and rank 1 of two at batch 1, initial weights)."""
    from dsgan.training.sr_trainer import SRTrainer

    pairs = make_pairs(tmp_path / "pairs", make_images, n=4)
    val = make_pairs(tmp_path / "val", make_images, n=3, seed=1)
    trainer = SRTrainer(_config(str(pairs), str(val), str(tmp_path / "single"), 2, gan))
    init = {f"g.{k}": v.clone() for k, v in trainer.g.state_dict().items()}
    trainer.train()
    single = _state(trainer)
    out = tmp_path / "multi"
    paths = (str(pairs), str(val), str(out))
    mp.spawn(_rank_worker, args=(2, free_port(), paths, gan, ddp), nprocs=2)
    r0, r1 = (torch.load(out / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    return single, r0, r1, init


@pytest.mark.slow
@pytest.mark.parametrize("ddp", [True, False])
def test_l1_phase_two_ranks_equal_one_process_only_with_ddp(tmp_path, make_images, ddp) -> None:
    """L1 training (no D): G's gradients averaged by DDP give one process's weights to float
    noise; without the averaging each rank steps on its own half-batch and they drift."""
    single, r0, r1, _ = _run_both(tmp_path, make_images, gan=False, ddp=ddp)
    keys = [k for k in single if k != "val"]
    worst = max((single[k] - r0[k]).abs().max().item() for k in keys)
    if ddp:
        assert all(torch.equal(r0[k], r1[k]) for k in r0)  # ranks hold identical weights
        assert worst < 1e-5, f"2-rank training differs from 1 process by {worst}"
        # validation sharded over the ranks (3 pairs: 2 + 1) gives the single process's mean
        assert float(r0["val"]) == pytest.approx(float(single["val"]), abs=1e-4)
    else:
        assert worst > 1e-4
        assert any(not torch.equal(r0[k], r1[k]) for k in keys)


def _relative_change_gap(single, multi, init) -> float:
    """|w_multi - w_single| / |w_single - w_init| over G's weights: 0 for identical training."""
    num = sum(float((multi[k] - single[k]).pow(2).sum()) for k in init)
    den = sum(float((single[k] - init[k]).pow(2).sum()) for k in init)
    return (num / den) ** 0.5


@pytest.mark.slow
@pytest.mark.parametrize("ddp", [True, False])
def test_gan_phase_two_ranks_follow_one_process(tmp_path, make_images, ddp) -> None:
    """The GAN phase: D's BatchNorm statistics and RaGAN's batch means span both ranks. Float
    rounding (float64 synchronised statistics against float32 ones) is amplified by Adam's first
    steps, so the ranks' G is compared by how far it moved: within 10% of its own update with DDP
    (measured: 3.0%); without gradient averaging it is another training (measured: 100%)."""
    single, r0, r1, init = _run_both(tmp_path, make_images, gan=True, ddp=ddp)
    gap = _relative_change_gap(single, r0, init)
    if ddp:
        assert all(torch.equal(r0[k], r1[k]) for k in r0)
        assert gap < 0.1, f"2-rank G moved {gap:.1%} away from one process's"
    else:
        assert gap > 0.3


@pytest.mark.slow
def test_torchrun_sr_train_writes_one_run(tmp_path, make_images) -> None:
    """``torchrun --nproc_per_node 2 -m dsgan sr-train``: one training over two ranks; rank 0
    alone writes and reports (it used to run two trainings into one folder)."""
    import subprocess
    import sys

    pairs = make_pairs(tmp_path / "pairs", make_images, n=4)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    cmd += ["--master_port", str(free_port()), "-m", "dsgan", "sr-train", "--pairs", str(pairs)]
    cmd += ["--out", str(out), "--patch", "32", "--batch-size", "1", "--psnr-only"]
    cmd += ["--iterations", "2", "--perceptual", "none", "--device", "cpu", "--amp", "off"]
    cmd += ["--set", "model.nf=8", "--set", "model.nb=1", "--set", "model.gc=4"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("SR generator written to") == 1
    assert (out / "generator.safetensors").is_file()
    assert read_weights(out / "checkpoints" / "step_00000002.safetensors")[1]["step"] == "2"


def _signal_worker(rank: int, world: int, port: int, paths: tuple, code: dict) -> None:
    """Rank 1 alone receives SIGTERM after its second step (as a scheduler might deliver it)."""
    import signal

    import torch.distributed as dist

    from dsgan.training.sr_trainer import SRTrainer

    pairs, val, out = paths
    join_group(rank, world, port)
    try:
        cfg = _config(pairs, val, out, 1, gan=False).model_copy(update={"iterations": 6})
        trainer = SRTrainer(cfg, rank=rank, world_size=world)
        step = trainer.train_step

        def train_step(*tensors):
            result = step(*tensors)
            if rank == 1 and trainer.step == 1:  # the loop counts this one as step 2
                os.kill(os.getpid(), signal.SIGTERM)
            return result

        trainer.train_step = train_step
        try:
            trainer.train()
            code[rank] = 0
        except KeyboardInterrupt:
            code[rank] = 130
        (Path(out) / f"rank{rank}.step").write_text(str(trainer.step))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_sigterm_on_one_rank_stops_all_at_one_checkpoint(tmp_path, make_images) -> None:
    pairs = make_pairs(tmp_path / "pairs", make_images, n=4)
    val = make_pairs(tmp_path / "val", make_images, n=1, seed=1)
    out = tmp_path / "run"
    paths = (str(pairs), str(val), str(out))
    with mp.Manager() as manager:
        code = manager.dict()
        mp.spawn(_signal_worker, args=(2, free_port(), paths, code), nprocs=2)
        codes = dict(code)
    assert codes == {0: 130, 1: 130}  # both stopped (KeyboardInterrupt after the checkpoint)
    steps = {(out / f"rank{r}.step").read_text() for r in (0, 1)}
    assert steps == {"2"}
    assert read_weights(out / "checkpoints" / "step_00000002.safetensors")[1]["step"] == "2"


def test_compile_goes_through_the_shared_wrapper(tmp_path, make_images, monkeypatch, tiny_dsgan):
    """``compile: true`` wraps each trainer's training forward with torch.compile, in the one
    wrapper of the trainer core (recorded here instead of compiling, which needs a compiler)."""
    from dsgan.training.sr_trainer import SRTrainer

    wrapped = []
    monkeypatch.setattr(torch, "compile", lambda net: wrapped.append(net) or net)
    pairs = make_pairs(tmp_path / "pairs", make_images, n=2)
    cfg = _config(str(pairs), str(pairs), str(tmp_path / "sr"), 1, gan=False)
    sr = SRTrainer(cfg.model_copy(update={"compile": True}))
    assert wrapped == [sr.g]
    wrapped.clear()
    dsgan = tiny_dsgan({"compile": True})
    assert wrapped == [dsgan.g, dsgan.d]
