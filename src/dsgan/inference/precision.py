"""bf16 inference for RRDBNet that stays close to float32: only the dense branches run in bf16.

Plain bf16 autocast rounds everything the network touches to bf16's 8 mantissa bits: the input
image, the first and the upsampling convolutions, and the residual stream that every dense block
adds into (69 of them in the ESRGAN preset). On an ESRGAN-size network that is about 2e-2 (7 of
255 levels) at the worst pixel. Here each dense block of ``model.body`` computes its branch
(five convolutions, 345 in the ESRGAN preset, about 92% of its arithmetic at x4) in bf16 from a
bf16 copy of its input, and adds the result back into a float32 stream; the input,
``conv_first``, ``conv_body`` and the upsampling tail stay float32. ``benchmarks/upscale_speed.py``
measures both policies side by side (docs/EXPORT.md).
"""

from __future__ import annotations

import copy

import torch

from dsgan.models.rrdb import ResidualDenseBlock, RRDBNet


class Bf16DenseBlock(ResidualDenseBlock):
    """A :class:`~dsgan.models.rrdb.ResidualDenseBlock` whose branch runs in bf16.

    (N, nf, H, W) float32 -> (N, nf, H, W) float32: ``x + 0.2 * branch(bf16(x))``, the weights
    stored in bf16 (cast once, not on every call as autocast does), the addition in float32.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.2 * self.branch(x.to(torch.bfloat16)).to(x.dtype)


def bf16_trunk(model: RRDBNet) -> RRDBNet:
    """A copy of ``model`` whose dense blocks (in ``model.body``) run their branches in bf16.

    ``model`` itself is not changed; a model that is already converted is returned as it is.
    Same inputs and outputs as ``model``: (N, 3, h, w) in [0, 1] -> (N, 3, h*s, w*s) float32.
    Anything but an RRDBNet (an ONNX Runtime session) raises ValueError.
    """
    if not isinstance(model, RRDBNet):
        raise ValueError(f"amp='bf16' needs an RRDBNet (PyTorch backend), got {type(model)}")
    if any(isinstance(m, Bf16DenseBlock) for m in model.body.modules()):
        return model
    out = copy.deepcopy(model)
    for block in out.body.modules():
        if type(block) is ResidualDenseBlock:
            # in place on the copy: the subclass adds no state, and Module.to keeps each
            # weight's device and memory format (channels_last stays channels_last)
            block.__class__ = Bf16DenseBlock
            block.to(torch.bfloat16)
    return out
