"""What ``dsgan export`` exports of each kind of model.

* An SR model (:class:`~dsgan.models.rrdb.RRDBNet`) as it is: ``lr`` (N, 3, h, w) in [0, 1] ->
  ``sr`` (N, 3, h*s, w*s), unclamped (clamp to [0, 1] before saving, as ``dsgan upscale`` does).
* A DSGAN generator up to its JPEG stage (:class:`Degrader`): ``lr`` (N, 3, h, w) in [0, 1] and,
  for a G with a noise input, ``noise`` (N, C, h, w) of N(0, 1) draws (an explicit input, so a
  caller reproduces a result by passing the same draw) -> ``out`` (N, 3, h, w), unclamped. Blur,
  sensor noise and the residual network are in the graph. The learned JPEG stage is not: its
  differentiable codec (kornia) does not trace to a graph that accepts other sizes. Its quality
  and gate are in the file's metadata (``codec_quality``, ``codec_gate``); a caller applies a
  JPEG round trip at that quality to the clamped output and blends ``x + gate * (jpeg(x) - x)``,
  which is what ``dsgan degrade`` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from dsgan import __version__
from dsgan.models.dsgan import Generator
from dsgan.models.rrdb import RRDBNet


class Degrader(nn.Module):
    """A DSGAN generator without its JPEG stage, with the noise as an input.

    Shapes: ``lr`` (N, 3, h, w) in [0, 1], ``noise`` (N, noise_channels, h, w) -> (N, 3, h, w).
    """

    def __init__(self, g: Generator) -> None:
        super().__init__()
        self.g = g

    def forward(self, lr: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        return self.g(lr, noise, None, codec_offset=None)


@dataclass
class ExportGraph:
    """A module ready to trace, example inputs and what the file should say about itself.

    ``inputs``: name -> example tensor (traced at this size; height, width and batch stay
    dynamic); ``output``: the output's name; ``metadata``: string key -> value, stored in the file
    where the format allows (ONNX ``metadata_props``, a TorchScript extra file).
    """

    kind: str  # "sr" | "dsgan"
    module: nn.Module
    inputs: dict[str, torch.Tensor]
    output: str
    metadata: dict[str, str] = field(default_factory=dict)


def sr_graph(net: RRDBNet, source: str) -> ExportGraph:
    """The export of an SR model (traced at 1 x 3 x 32 x 32)."""
    net = net.eval()
    arch = {k: str(v) for k, v in net.arch.items()}
    return ExportGraph(
        kind="sr",
        module=net,
        inputs={"lr": torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))},
        output="sr",
        metadata={
            "dsgan.kind": "sr",
            "dsgan.version": __version__,
            "dsgan.source": source,
            "scale": str(net.scale),
            "unshuffle": str(net.unshuffle),
            "range": "input and output in [0, 1], RGB; clamp the output",
            **{f"arch.{k}": v for k, v in arch.items()},
        },
    )


def dsgan_graph(g: Generator, source: str, scale: int | None) -> ExportGraph:
    """The export of a DSGAN generator (traced at 1 x 3 x 32 x 32): :class:`Degrader`."""
    g = g.eval()
    rng = torch.Generator().manual_seed(0)
    inputs = {"lr": torch.rand(1, 3, 32, 32, generator=rng)}
    if g.noise_channels:
        inputs["noise"] = torch.randn(1, g.noise_channels, 32, 32, generator=rng)
    meta = {
        "dsgan.kind": "dsgan",
        "dsgan.version": __version__,
        "dsgan.source": source,
        "scale": str(scale or ""),
        "noise_channels": str(g.noise_channels),
        "range": "lr in [0, 1] (a bicubic downscale of the HR image), RGB; clamp the output",
        "codec": "none" if g.codec is None else "jpeg (not in the graph; see codec_quality)",
    }
    if g.codec is not None:
        meta["codec_quality"] = f"{float(g.codec.quality.detach()):.2f}"
        meta["codec_gate"] = f"{float(g.codec.gate.detach()):.4f}"
        meta["codec_chroma"] = "4:2:0"
    return ExportGraph(kind="dsgan", module=Degrader(g), inputs=inputs, output="out", metadata=meta)
