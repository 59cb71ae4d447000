"""DSGAN networks, exactly as the seed/authors (parameter names match their released checkpoints).

Generator (594,380 parameters by default): conv3x3(3->64) + PReLU, 8 residual blocks
(conv3x3, PReLU, conv3x3, identity skip), conv3x3(64->3), sigmoid. It works at LR resolution: the
input is the bicubic-downscaled image, the output the same size.

Discriminator (1,030,273 parameters): per-pixel patch GAN on high-passes, no striding.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from dsgan.models.codec import JPEGCodec
from dsgan.models.stages import LearnedBlur, SignalNoise
from dsgan.ops.filters import HighPass


class ResidualBlock(nn.Module):
    """conv3x3 -> PReLU -> conv3x3, plus the identity."""

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.prelu = nn.PReLU()
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.prelu(self.conv1(x)))


class Generator(nn.Module):
    """DSGAN degradation generator.

    Args:
        n_res_blocks: residual blocks (8).
        channels: feature width (64).
        output: ``sigmoid`` (faithful: out = sigmoid(f(x))); ``residual`` (out = x + f(x), last
            conv zero-initialised so training starts from the identity); or ``highpass``
            (out = x + f(x) - L(f(x)) with the 5x5 box low-pass L: G can only add detail, so it
            cannot shift colours). Same parameters, same names, in every case.
        noise_channels: extra input channels of N(0, 1) noise drawn per call (0 = faithful,
            deterministic G). Random input lets G produce noise that is independent of the
            image content, as real sensor noise is.
        block_period: if > 0, two more input channels say where each pixel sits in a grid of
            ``block_period``-pixel blocks (:func:`block_phase`; 16 for JPEG with 4:2:0 chroma,
            whose 8x8 luma blocks sit in 16x16 macroblocks; 8 without). A convolutional G
            is translation-invariant and cannot otherwise place artefacts on a fixed block grid
            (0 = faithful).
        noise_injection: add ``s(h) * n`` to the output, where ``n`` is the first 3 noise input
            channels and ``s`` a zero-initialised 1x1 convolution of the last features: white
            noise whose per-pixel, per-channel amplitude depends on the content, as sensor noise
            does. Noise that only passes through the 3x3 convolutions comes out spatially
            correlated (``benchmarks/noise_whiteness.py``). Needs ``noise_channels >= 3`` and a
            non-sigmoid output (False = faithful).
        codec: ``jpeg``: G's output goes through a JPEG round trip whose quality is learned
            (:class:`~dsgan.models.codec.JPEGCodec`; the trainer sets it), for JPEG-compressed
            targets, whose block artefacts a convolutional G cannot make (``none`` = faithful).
        codec_quality: the codec's initial quality.
        codec_gate: the codec learns how much of it applies (:class:`JPEGCodec` ``gate``), so it
            can switch itself off on real LR without JPEG (False = always on).
        codec_gate_mode: how training applies the gate, ``blend`` or ``sample``
            (:class:`JPEGCodec` ``gate_mode``).
        blur: radius of a learned Gaussian blur of the input (:class:`LearnedBlur`; optics),
            0 = none (the paper).
        signal_noise: add noise of learned signal-dependent level and channel correlation to the
            (blurred) input before the network (:class:`SignalNoise`; a sensor), drawn from the
            first 3 noise input channels, so the network can shape it as a camera's processing
            does. Needs ``noise_channels >= 3`` and a non-sigmoid output (False = the paper).
            With ``noise_injection`` too, both use the same draw.
        noise_start: the sensor's initial noise std in grey levels (0..255), half shot noise at
            mid-grey, half read noise.
        network_noise: the residual network also takes the noise channels as input (True, as
            the noise input always did). False: only the physical stages draw from them (the
            sensor, the injection), so the network can shape their noise but not make noise of
            its own; needs ``signal_noise`` or ``noise_injection``.

    Order, as in a camera: blur -> sensor noise -> residual network -> JPEG.

    Shapes: (N, 3, H, W) in [0, 1] -> (N, 3, H, W); ``sigmoid`` output lies in (0, 1), ``residual``
    output is unclamped (clamp before saving).
    """

    def __init__(
        self,
        n_res_blocks: int = 8,
        channels: int = 64,
        output: Literal["sigmoid", "residual", "highpass"] = "sigmoid",
        noise_channels: int = 0,
        block_period: int = 0,
        noise_injection: bool = False,
        codec: Literal["none", "jpeg"] = "none",
        codec_quality: float = 75.0,
        codec_gate: bool = False,
        codec_gate_mode: str = "blend",
        blur: int = 0,
        signal_noise: bool = False,
        noise_start: float = 1.0,
        network_noise: bool = True,
    ) -> None:
        super().__init__()
        if output not in ("sigmoid", "residual", "highpass"):
            raise ValueError(f"output must be sigmoid, residual or highpass, got {output!r}")
        if noise_injection and (noise_channels < 3 or output == "sigmoid"):
            raise ValueError("noise_injection needs noise_channels >= 3 and a non-sigmoid output")
        if signal_noise and (noise_channels < 3 or output == "sigmoid"):
            raise ValueError("signal_noise needs noise_channels >= 3 and a non-sigmoid output")
        if not network_noise and not (signal_noise or noise_injection):
            raise ValueError("network_noise=False needs signal_noise or noise_injection")
        self.output = output
        self.noise_channels = noise_channels
        self.block_period = block_period
        self.network_noise = network_noise
        extra = (noise_channels if network_noise else 0) + (2 if block_period else 0)
        self.block_input = nn.Sequential(
            nn.Conv2d(3 + extra, channels, kernel_size=3, padding=1), nn.PReLU()
        )
        self.res_blocks = nn.ModuleList(ResidualBlock(channels) for _ in range(n_res_blocks))
        self.block_output = nn.Conv2d(channels, 3, kernel_size=3, padding=1)
        self.detail = HighPass("box", 5) if output == "highpass" else None
        self.noise_scale = nn.Conv2d(channels, 3, kernel_size=1) if noise_injection else None
        if self.noise_scale is not None:
            nn.init.zeros_(self.noise_scale.weight)
            nn.init.zeros_(self.noise_scale.bias)
        if output != "sigmoid":
            nn.init.zeros_(self.block_output.weight)
            nn.init.zeros_(self.block_output.bias)
        if codec not in ("none", "jpeg"):
            raise ValueError(f"codec must be none or jpeg, got {codec!r}")
        self.codec = (
            JPEGCodec(codec_quality, gate=codec_gate, gate_mode=codec_gate_mode)
            if codec == "jpeg"
            else None
        )
        self.blur = LearnedBlur(blur) if blur else None
        self.sensor = SignalNoise(noise_start) if signal_noise else None

    @property
    def receptive_radius(self) -> int:
        """Pixels of context one output pixel depends on, per side (for tiling)."""
        return 2 + 2 * len(self.res_blocks) + (self.blur.radius if self.blur is not None else 0)

    def forward(
        self,
        x: torch.Tensor,
        noise: torch.Tensor | None = None,
        phase: torch.Tensor | None = None,
        codec_offset: tuple[int, int] | None = (0, 0),
    ) -> torch.Tensor:
        """x: (N, 3, H, W) in [0, 1]; noise: optional (N, noise_channels, H, W) to fix the draw;
        phase: optional (N, 2, H, W) block phase (:func:`block_phase`; default: the grid starts
        at the top-left pixel, as a JPEG's does); codec_offset: the codec's block-grid offset
        (:meth:`JPEGCodec.forward`), or None to skip the codec (tiled inference applies it once
        to the whole image)."""
        if self.noise_channels and noise is None:
            noise = torch.randn(
                x.shape[0], self.noise_channels, *x.shape[2:], device=x.device, dtype=x.dtype
            )
        if self.blur is not None:
            x = self.blur(x)
        if self.sensor is not None:
            x = self.sensor(x, noise[:, :3])  # type: ignore[index]
        parts = [x]
        if self.noise_channels and self.network_noise:
            parts.append(noise.to(x.dtype))  # type: ignore[union-attr]
        if self.block_period:
            if phase is None:
                phase = block_phase(x.shape[0], *x.shape[2:], self.block_period, device=x.device)
            parts.append(phase.to(x.dtype))
        h = self.block_input(torch.cat(parts, dim=1) if len(parts) > 1 else x)
        for block in self.res_blocks:
            h = block(h)
        f = self.block_output(h)
        if self.output == "sigmoid":
            out = torch.sigmoid(f)
        else:
            out = x + (self.detail(f) if self.detail is not None else f)
        if self.noise_scale is not None:
            out = out + self.noise_scale(h) * noise[:, :3]  # type: ignore[index]
        if self.codec is not None and codec_offset is not None and not self.codec.is_off():
            out = self.codec(out, codec_offset)
        return out


def generator_from_config(model: dict[str, Any]) -> Generator:
    """The Generator a ``model`` config section (``ModelConfig`` dumped, or the dict stored in a
    checkpoint's metadata) describes; keys a config lacks take their defaults (older runs)."""
    keys = (
        "n_res_blocks",
        "channels",
        "output",
        "noise_channels",
        "block_period",
        "noise_injection",
        "codec",
        "codec_quality",
        "codec_gate",
        "codec_gate_mode",
        "blur",
        "signal_noise",
        "noise_start",
        "network_noise",
    )
    return Generator(**{k: model[k] for k in keys if k in model})


def block_phase(
    n: int,
    height: int,
    width: int,
    period: int,
    offsets: torch.Tensor | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Where each pixel sits in a grid of ``period``-pixel blocks: (N, 2, H, W) float32 in [0, 1).

    Channel 0 is ``((x + ox) mod period) / period``, channel 1 the same for y: a sawtooth that
    restarts at every block boundary. ``offsets``: (N, 2) integer (ox, oy) per image (random in
    training, so G learns to follow the channels); None = 0, the grid of an image's own JPEG
    blocks, which start at its top-left pixel.
    """
    xs = torch.arange(width, device=device).view(1, 1, width)
    ys = torch.arange(height, device=device).view(1, height, 1)
    if offsets is None:
        offsets = torch.zeros(n, 2, dtype=torch.long, device=device)
    offsets = offsets.to(device=device, dtype=torch.long)
    px = (xs + offsets[:, 0].view(n, 1, 1)) % period
    py = (ys + offsets[:, 1].view(n, 1, 1)) % period
    return torch.stack([px.expand(n, height, width), py.expand(n, height, width)], 1) / period


class Discriminator(nn.Module):
    """Per-pixel patch discriminator (no striding, receptive field 13x13); returns logits.

    The high-pass is applied by the caller (the loss), so the same network serves ``--no-highpass``
    ablations. Shapes: (N, 3, H, W) -> (N, 1, H, W) logits.
    """

    def __init__(self, in_channels: int = 3, channels: int = 64) -> None:
        super().__init__()
        c = channels
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, c, kernel_size=5, padding=2),
            nn.LeakyReLU(0.2),
            nn.Conv2d(c, 2 * c, kernel_size=5, padding=2),
            nn.BatchNorm2d(2 * c),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * c, 4 * c, kernel_size=5, padding=2),
            nn.BatchNorm2d(4 * c),
            nn.LeakyReLU(0.2),
        )
        self.gan_net = nn.Conv2d(4 * c, 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gan_net(self.net(x))
