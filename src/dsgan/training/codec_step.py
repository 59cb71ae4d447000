"""The learned JPEG quality's update (``model.codec: jpeg``): a finite-difference slope.

The codec's quality has no usable autograd gradient (``dsgan.models.codec``), but G's adversarial
loss as a function of the quality is a smooth statistic of the whole batch: D's verdict on how
blocky and flat the fakes are. Its slope is estimated by a central difference on the very same
batch (same G output before the codec, same reals, same grid offset, same D), which cancels
everything but the quality's effect, and fed to Adam as the quality logit's gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

from dsgan.models.codec import jpeg_round_trip, quality_of


@contextmanager
def frozen_batchnorm_stats(module: nn.Module) -> Iterator[None]:
    """Forward passes in train mode (batch statistics) that leave the BatchNorm buffers (running
    statistics, batch count) exactly as they were, even if a batch was not finite."""
    bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [{k: b.clone() for k, b in m.named_buffers(recurse=False)} for m in bns]
    try:
        yield
    finally:
        # through .data: the main step's D forward saved these buffers for its backward pass,
        # and a tracked in-place write would invalidate that graph
        for m, buffers in zip(bns, saved, strict=True):
            for k, b in m.named_buffers(recurse=False):
                b.data.copy_(buffers[k])


@torch.no_grad()
def quality_slope(
    loss_of: Callable[[torch.Tensor], torch.Tensor],
    pre: torch.Tensor,
    logit: torch.Tensor,
    delta: float,
    offset: tuple[int, int] = (0, 0),
    code: Callable[[torch.Tensor, torch.Tensor, tuple[int, int]], torch.Tensor] = jpeg_round_trip,
) -> torch.Tensor:
    """d loss / d logit ~ (loss(q(logit + delta)) - loss(q(logit - delta))) / (2 delta).

    Args:
        loss_of: maps the coded batch (N, 3, H, W) to a 0-d loss (for G: its adversarial loss).
        pre: G's output before the codec, (N, 3, H, W) in about [0, 1].
        logit: the quality logit (0-d).
        delta: the step in logit units (0.1 is about 2 quality units near q 30).
        offset: the codec's grid offset, the one used for the batch.
        code: the coding at a quality: ``code(x, quality, offset)`` (default: the plain round
            trip; :meth:`JPEGCodec.at` for a gated codec).

    Returns: the slope, a 0-d float32 tensor on ``pre``'s device.
    """
    up = loss_of(code(pre, quality_of(logit + delta), offset)).float()
    down = loss_of(code(pre, quality_of(logit - delta), offset)).float()
    return (up - down) / (2.0 * delta)


@torch.no_grad()
def gate_delta(
    loss_of: Callable[[torch.Tensor], torch.Tensor],
    d_mixed: torch.Tensor,
    d_flipped: torch.Tensor,
    coded: torch.Tensor,
) -> torch.Tensor:
    """The slope of G's expected adversarial loss in a sampled codec gate g (``gate_mode``
    ``sample``): each output is coded with probability g, so the expected loss is
    ``mean_i [g * L_coded_i + (1 - g) * L_uncoded_i]`` and its derivative in g is
    ``mean_i (L_coded_i - L_uncoded_i)``. Both losses of every output come from D's logits on the
    batch as drawn (``d_mixed``) and on the same outputs with the draw flipped (``d_flipped``).

    Args:
        loss_of: maps one output's logits (1, ...) to its 0-d generator loss.
        d_mixed, d_flipped: D's logits (N, ...) on the drawn and on the flipped outputs.
        coded: (N,) bool, True where the drawn output is the coded one.

    Returns: the slope, a 0-d float32 tensor.
    """
    n = d_mixed.shape[0]
    mixed = torch.stack([loss_of(d_mixed[i : i + 1]) for i in range(n)]).float()
    flipped = torch.stack([loss_of(d_flipped[i : i + 1]) for i in range(n)]).float()
    sign = coded.float().to(mixed.device) * 2 - 1  # +1: mixed is the coded one
    return (sign * (mixed - flipped)).mean()
