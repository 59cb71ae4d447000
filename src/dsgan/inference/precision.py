"""bf16 inference for RRDBNet that stays close to float32: only the trunk's convolutions run in bf16.

Plain bf16 autocast rounds everything the network touches to bf16's 8 mantissa bits: the input
image, the first and the upsampling convolutions, and the residual stream that 69 dense blocks
add into. On an ESRGAN-size network that is about 2e-2 (5 of 255 levels) at the worst pixel.
Here the convolutions inside ``model.body`` (345 in the ESRGAN preset, about 92% of its
arithmetic at x4) take bf16
weights and a bf16 copy of their input and hand back float32; everything else (the input,
``conv_first``, the residual additions, the concatenations, ``conv_body`` and the upsampling tail)
stays float32. ``benchmarks/upscale_speed.py`` measures both policies side by side.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from dsgan.models.rrdb import RRDBNet


class Bf16Conv(nn.Module):
    """A :class:`~torch.nn.Conv2d` computed in bf16 between float32 tensors.

    Shapes as the wrapped conv: (N, C_in, H, W) float32 -> (N, C_out, H, W) float32. The weights
    are stored in bf16 (cast once, not on every call as autocast does); the product accumulates
    in float32 inside the kernel and its result is rounded once to bf16 before returning.
    """

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        self.conv = copy.deepcopy(conv).to(torch.bfloat16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x.to(torch.bfloat16)).float()


def bf16_trunk(model: RRDBNet) -> RRDBNet:
    """A copy of ``model`` whose trunk convolutions (``model.body``) run in bf16.

    ``model`` itself is not changed. A model that is already converted is returned as it is.
    Same inputs and outputs as ``model``: (N, 3, h, w) in [0, 1] -> (N, 3, h*s, w*s) float32.
    """
    if any(isinstance(m, Bf16Conv) for m in model.body.modules()):
        return model
    out = copy.deepcopy(model)
    for parent in list(out.body.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Conv2d:
                setattr(parent, name, Bf16Conv(child))
    return out
