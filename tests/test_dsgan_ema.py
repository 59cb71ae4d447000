"""``ema`` for DSGAN's G (off by default): the moving average of G's weights, its physical stages
included, is what a run exports; it is checkpointed and resumed exactly."""

from __future__ import annotations

import torch

from dsgan.checkpoints import read_weights
from ema_helpers import assert_is_ema, moving_average
from test_bursts import STAGES

STEPS = 3  # checkpoints keep the 3 newest steps


def _ckpt(trainer, step: int) -> dict[str, dict[str, torch.Tensor]]:
    return read_weights(trainer.run.root / "checkpoints" / f"step_{step:08d}.safetensors")[0]


def test_dsgan_ema_is_the_moving_average_and_what_is_exported(tiny_dsgan) -> None:
    """decay 0.5: ema_1 = g_1, ema_t = 0.5 ema_(t-1) + 0.5 g_t, over the checkpointed G of every
    step (stage parameters such as the codec's quality logit too); the generator file is the EMA."""
    t = tiny_dsgan({**STAGES, "ema": 0.5, "iterations": STEPS, "checkpoint_every": 1})
    exported = read_weights(t.train())[0]["g"]
    gs = [_ckpt(t, s)["g"] for s in range(1, STEPS + 1)]
    expect = moving_average(gs, 0.5)
    assert "codec.quality_logit" in expect
    assert_is_ema(expect, _ckpt(t, STEPS)["g_ema"], exported, gs[-1])


def test_dsgan_ema_resumes_exactly_and_is_off_by_default(tiny_dsgan) -> None:
    over = {**STAGES, "ema": 0.9, "checkpoint_every": 3, "optim.decay_start": 1.0}
    whole = tiny_dsgan({**over, "iterations": 5})
    whole.train()
    part = tiny_dsgan({**over, "iterations": 3})
    part.train()
    resumed = type(part)(part.cfg.model_copy(update={"iterations": 5}), resume=True)
    assert resumed.ema is not None and int(resumed.ema.n_averaged) == 3
    resumed.train()
    for (name, a), b in zip(
        whole.ema.module.state_dict().items(),
        resumed.ema.module.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(a, b), name

    plain = tiny_dsgan({**STAGES, "iterations": 2})  # the default: no EMA, the last weights
    assert plain.ema is None
    exported = read_weights(plain.train())[0]["g"]
    last = _ckpt(plain, 2)
    assert set(last) == {"g", "d"}
    assert all(torch.equal(exported[k], v) for k, v in last["g"].items())


def test_a_checkpoint_loads_as_its_moving_average(tiny_dsgan) -> None:
    """``dsgan degrade RUN`` of a run stopped before its export loads the latest checkpoint: with
    an EMA, its average, as the export would have held."""
    from dsgan.checkpoints.load import load_generator

    t = tiny_dsgan({**STAGES, "ema": 0.5, "iterations": 2, "checkpoint_every": 2})
    t.train()
    (t.run.root / "generator.safetensors").unlink()  # as if stopped before the export
    g, info = load_generator(t.run.root)
    assert info["step"] in (2, "2")
    saved = _ckpt(t, 2)
    state = g.state_dict()
    assert all(torch.equal(state[k], v) for k, v in saved["g_ema"].items())
    assert any(not torch.equal(state[k], v) for k, v in saved["g"].items())
