"""Is a learned stage frozen? Adam's long memory of squared gradients against a short one.

Adam scales each parameter's step by the root of ``v``, an average of its squared gradients over
about ``1 / (1 - beta2)`` = 1,000 steps. After one very large gradient, ``v`` stays far above what
the parameter's gradients are now, and its steps shrink by that factor until ``v`` decays: the
parameter stops learning (docs/RESULTS.md, "Gradient bursts": a codec gate sat at one value for
2,000 steps). :class:`FreezeMeter` compares, per parameter tensor, the root of the sum of ``v``
(bias-corrected) with that of a 10-step average of the same squared gradients; the largest ratio is logged as
``diag/stage_freeze`` and watched by the health monitor (``stage_frozen``). While a parameter
learns at its pace the ratio is about 1 (0.3-3 as gradients fluctuate), frozen it is 20-100.
"""

from __future__ import annotations

from typing import Any

import torch


class FreezeMeter:
    """Tracks the parameters' recent squared gradients; :meth:`ratio` after each optimiser step.

    ``params`` must be in ``optimizer``'s param groups; ``decay``: the short average's memory
    (0.9: about 10 steps).
    """

    def __init__(
        self, params: list[torch.nn.Parameter], optimizer: torch.optim.Adam, decay: float = 0.9
    ) -> None:
        self.params, self.opt, self.decay = params, optimizer, decay
        self.short = [torch.zeros_like(p) for p in params]
        self.count = 0
        beta2 = {id(q): g["betas"][1] for g in optimizer.param_groups for q in g["params"]}
        self.beta2 = [beta2[id(p)] for p in params]

    @torch.no_grad()
    def ratio(self) -> torch.Tensor | None:
        """Largest ``sqrt(sum v_hat) / sqrt(sum short average of g^2)`` over the parameter
        tensors, a 0-d device tensor (no host sync), or None before any gradient."""
        if all(p.grad is None for p in self.params):
            return None
        self.count += 1
        ratios = []
        correct = 1 - self.decay**self.count
        for p, s, beta2 in zip(self.params, self.short, self.beta2, strict=True):
            if p.grad is None:
                continue
            s.mul_(self.decay).addcmul_(p.grad, p.grad, value=1 - self.decay)
            state = self.opt.state.get(p, {})
            if "exp_avg_sq" not in state:
                continue
            v_hat = state["exp_avg_sq"].sum() / (1 - beta2 ** state["step"])  # step: a tensor
            ratios.append(v_hat.sqrt() / (s.sum() / correct).sqrt().clamp_min(1e-20))
        return torch.stack(ratios).max() if ratios else None

    def state_dict(self) -> dict[str, Any]:
        return {"short": [s.cpu() for s in self.short], "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for s, saved in zip(self.short, state["short"], strict=True):
            s.copy_(saved)
        self.count = int(state["count"])
