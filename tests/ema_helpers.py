"""What the EMA tests share: the expected moving average of a run's checkpointed weights and the
check that a checkpoint's ``g_ema`` and the exported generator both hold it."""

from __future__ import annotations

import torch

State = dict[str, torch.Tensor]


def moving_average(states: list[State], decay: float) -> State:
    """ema_1 = states[0], ema_t = decay ema_(t-1) + (1 - decay) states[t]; tensors that are not
    floating point (counters) are taken from the newest state."""
    expect = dict(states[0])
    for g in states[1:]:
        expect = {
            k: decay * expect[k] + (1 - decay) * v if v.is_floating_point() else v
            for k, v in g.items()
        }
    return expect


def assert_is_ema(expect: State, saved_ema: State, exported: State, last: State) -> None:
    """``saved_ema`` (a checkpoint's ``g_ema``) and ``exported`` equal ``expect``; the EMA is not
    ``last`` (the newest G), so the comparison can fail."""
    for k, v in expect.items():
        torch.testing.assert_close(saved_ema[k], v, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(exported[k], v, rtol=1e-5, atol=1e-7)
    assert max(float((exported[k] - last[k]).abs().max()) for k in last) > 1e-5
