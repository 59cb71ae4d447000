"""ESRGAN's generator, RRDBNet, with BasicSR parameter names.

Layout (Wang et al. 2018, BasicSR ``RRDBNet``)::

    conv_first -> body (nb x RRDB) -> conv_body (+ skip) -> [nearest x2 -> conv_up1] ->
    [nearest x2 -> conv_up2] -> conv_hr -> conv_last

Each RRDB is three residual dense blocks (``rdb1..rdb3``, five 3x3 convs ``conv1..conv5`` each, dense
connections, residual scaling 0.2). As in BasicSR, x2 and x1 models fold the input with a
pixel-unshuffle (x2: 12 input channels, x1: 48) and keep the x4 upsampling tail, so BasicSR /
Real-ESRGAN checkpoints of any of the three scales load unchanged.

Defaults (3 -> 3 channels, nf=64, nb=23, gc=32, x4) have exactly 16,697,987 parameters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Named architectures: ``esrgan`` is the paper's; ``small`` trains and runs on a CPU.
RRDB_PRESETS: dict[str, dict[str, int]] = {
    "esrgan": {"nf": 64, "nb": 23, "gc": 32},
    "small": {"nf": 32, "nb": 4, "gc": 16},
}
SCALES = (1, 2, 4)


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3x3 convs; out = x + 0.2 * conv5(...). Shape (N, nf, H, W) kept."""

    def __init__(self, nf: int = 64, gc: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(nf, gc, 3, 1, 1)
        self.conv2 = nn.Conv2d(nf + gc, gc, 3, 1, 1)
        self.conv3 = nn.Conv2d(nf + 2 * gc, gc, 3, 1, 1)
        self.conv4 = nn.Conv2d(nf + 3 * gc, gc, 3, 1, 1)
        self.conv5 = nn.Conv2d(nf + 4 * gc, nf, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        """The dense branch, conv1..conv5 with their concatenations: (N, nf, H, W) -> same."""
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        return self.conv5(torch.cat((x, x1, x2, x3, x4), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.2 * self.branch(x)


class RRDB(nn.Module):
    """Residual-in-residual dense block: three RDBs, out = x + 0.2 * rdb3(rdb2(rdb1(x)))."""

    def __init__(self, nf: int = 64, gc: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(nf, gc)
        self.rdb2 = ResidualDenseBlock(nf, gc)
        self.rdb3 = ResidualDenseBlock(nf, gc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.2 * self.rdb3(self.rdb2(self.rdb1(x)))


class RRDBNet(nn.Module):
    """ESRGAN generator.

    Args:
        in_ch, out_ch: image channels (3).
        nf: feature channels (64). nb: RRDB blocks (23). gc: growth channels (32).
        scale: 1, 2 or 4.

    Shapes: (N, in_ch, H, W) in [0, 1] -> (N, out_ch, H*scale, W*scale), unclamped (about [0, 1];
    clamp before saving). For x2/x1, H and W not divisible by 4/scale are edge-padded and the
    output cropped.
    """

    def __init__(
        self,
        in_ch: int = 3,
        out_ch: int = 3,
        nf: int = 64,
        nb: int = 23,
        gc: int = 32,
        scale: int = 4,
    ) -> None:
        super().__init__()
        if scale not in SCALES:
            raise ValueError(f"RRDBNet scale must be one of {SCALES}, got {scale}")
        self.scale = scale
        self.unshuffle = 4 // scale  # 1 for x4, 2 for x2, 4 for x1
        self.arch = {"in_ch": in_ch, "out_ch": out_ch, "nf": nf, "nb": nb, "gc": gc, "scale": scale}
        self.conv_first = nn.Conv2d(in_ch * self.unshuffle**2, nf, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(nf, gc) for _ in range(nb)))
        self.conv_body = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_hr = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_last = nn.Conv2d(nf, out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    @classmethod
    def from_preset(cls, name: str, scale: int = 4, **overrides: int) -> RRDBNet:
        """``RRDBNet.from_preset("small", scale=2)``; see :data:`RRDB_PRESETS`."""
        if name not in RRDB_PRESETS:
            raise ValueError(f"unknown RRDBNet preset {name!r}; use one of {sorted(RRDB_PRESETS)}")
        return cls(scale=scale, **{**RRDB_PRESETS[name], **overrides})

    @property
    def receptive_radius(self) -> int:
        """Input pixels of context one output pixel depends on, per side (for tiling).

        15 convs per RRDB plus conv_first/conv_body and the tail, in LR pixels (times the
        pixel-unshuffle factor for x2/x1). The effective radius is much smaller in practice.
        """
        return (15 * len(self.body) + 3) * self.unshuffle

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if self.unshuffle > 1:
            f = self.unshuffle
            # padded unconditionally (a zero pad is a no-op): an exported graph (ONNX) then
            # pads any input size, not only the traced one's
            x = F.pad(x, (0, (-w) % f, 0, (-h) % f), mode="replicate")
            x = F.pixel_unshuffle(x, f)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        out = self.conv_last(self.lrelu(self.conv_hr(feat)))
        return out[..., : h * self.scale, : w * self.scale]


def count_parameters(net: nn.Module) -> int:
    """Number of parameters (works on the meta device)."""
    return sum(p.numel() for p in net.parameters())
