"""Adaptive gradient clipping: one burst of G's gradient must not freeze a learned stage.

Why (measured, docs/RESULTS.md "Gradient bursts"): Adam divides each step by the root of an
average of squared gradients over about ``1 / (1 - beta2)`` = 1,000 steps. On a clean-photo run the
codec gate's gradient was about 1e-4 per step until, at step ~400, one step's was about 0.3; Adam's
second moment for the gate then stood at 1.1e-4 instead of ~1e-8, so every later step was ~50
times smaller than it should have been, and the gate sat at 0.139 for the remaining 2,000 steps
(falling steadily before). A fixed ``clip_grad_norm_`` threshold does not fit: the stages' and the
network's gradients differ by orders of magnitude and drift over a run. So each parameter group's
gradient norm is clipped to ``factor`` times the median of its own last ``window`` norms, in the
spirit of AutoClip (Seetharaman et al., 2020, which uses a percentile of the whole history).
Ordinary steps (the logged norms of healthy runs vary by about 3x) are left alone.

Not in a library: ``torch.nn.utils.clip_grad_norm_`` takes a fixed threshold. Everything stays on
the device (no host sync per step); under DDP the gradients are already averaged, so every rank
computes the same scale.
"""

from __future__ import annotations

from typing import Any

import torch


class AdaptiveClip:
    """Clips each group's gradient norm to ``factor`` x the median of its recent norms.

    ``groups``: lists of parameters, each clipped as one vector (e.g. G's network, its physical
    stages). The first ``min_history`` steps only record norms. Call :meth:`clip` after
    ``backward`` and before the optimiser's step.
    """

    def __init__(
        self,
        groups: list[list[torch.nn.Parameter]],
        factor: float,
        window: int = 200,
        min_history: int = 20,
    ) -> None:
        if factor <= 0:
            raise ValueError(f"factor must be > 0, got {factor}")
        if not 1 <= min_history <= window:
            raise ValueError(f"need 1 <= min_history <= window, got {min_history}, {window}")
        self.groups = [g for g in groups if g]
        self.factor, self.window, self.min_history = factor, window, min_history
        device = self.groups[0][0].device if self.groups else torch.device("cpu")
        self.history = torch.full((len(self.groups), window), float("nan"), device=device)
        self.count = 0  # steps recorded (host-side: no sync)
        self.clipped = torch.zeros(len(self.groups), device=device)  # clipped steps per group

    @torch.no_grad()
    def clip(self) -> torch.Tensor | None:
        """Scales the gradients in place; returns each group's applied scale (G,), 1 where not
        clipped, as a device tensor, or None when there is nothing to clip."""
        if not self.groups:
            return None
        norms = torch.stack([_norm(g) for g in self.groups])
        scale = torch.ones_like(norms)
        if self.count >= self.min_history:
            limit = self.factor * self.history.nanmedian(dim=1).values
            scale = (limit / norms.clamp_min(1e-30)).clamp(max=1.0)
            scale = torch.where(limit > 0, scale, 1.0)  # no history of gradients yet: no limit
            for group, s in zip(self.groups, scale, strict=True):
                grads = [p.grad for p in group if p.grad is not None]
                if grads:
                    torch._foreach_mul_(grads, s)
            self.clipped += scale < 1
        self.history[:, self.count % self.window] = norms  # the raw norm: a legit rise is followed
        self.count += 1
        return scale

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history.cpu(), "count": self.count, "clipped": self.clipped.cpu()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        history = state["history"]
        if history.shape != self.history.shape:
            raise ValueError(
                f"clip history of shape {tuple(history.shape)} does not fit "
                f"{tuple(self.history.shape)} (optim.clip_window or the generator's stages changed)"
            )
        self.history.copy_(history)
        self.clipped.copy_(state["clipped"])
        self.count = int(state["count"])


def _norm(params: list[torch.nn.Parameter]) -> torch.Tensor:
    """The L2 norm of the group's gradients as one vector; 0 without gradients."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros((), device=params[0].device)
    return torch.stack(torch._foreach_norm(grads)).norm()
