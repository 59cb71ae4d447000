"""Physically structured stages of a camera-like generator (``model.blur``, ``model.signal_noise``).

A real low-resolution photo went through optics (blur), a sensor (noise whose variance grows with
the signal: shot noise plus read noise, correlated across colour channels after demosaicing and the
colour transform), the camera's processing and often JPEG. DSGAN's residual network can in
principle make some of this, but measured on a camera-like mixture it did not: D won from the start
and G drifted in colour (FINDINGS, issue "Real cameras"). These stages give G each physical
operation with a handful of parameters, learned from the adversarial loss like the rest of G:

* :class:`LearnedBlur`: an isotropic Gaussian blur whose width is learned (starts near none);
* :class:`SignalNoise`: noise of variance ``shot_c * y + read_c`` per channel ``c`` with a learned
  cross-channel correlation (starts at one grey level, uncorrelated).

The JPEG stage with a learned quality and a learned on/off gate is :mod:`dsgan.models.codec`.
Their parameters are few and need a larger step than the networks' (``optim.stage_lr``).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

#: a learned blur never exceeds this width (pixels); the kernel holds +-3 sigma of it
MAX_BLUR_SIGMA = 3.0


class LearnedBlur(nn.Module):
    """Depthwise Gaussian blur of learned width sigma = softplus(``sigma_param``) pixels.

    Args:
        radius: kernel radius in pixels (kernel ``2 * radius + 1`` square); the width is capped at
            ``radius / 3`` so the kernel holds the Gaussian's +-3 sigma.
        sigma: initial width (pixels, > 0); 0.3 is visually none (neighbour weight 0.4%) but keeps
            a gradient.

    Shapes: (N, C, H, W) -> (N, C, H, W), replicate-padded, so the output has the input's size
    and value range.
    """

    def __init__(self, radius: int = 4, sigma: float = 0.3) -> None:
        super().__init__()
        if radius < 1:
            raise ValueError(f"blur radius must be >= 1, got {radius}")
        if not 0 < sigma < min(MAX_BLUR_SIGMA, radius / 3):
            raise ValueError(f"initial blur sigma must lie in (0, {radius / 3:.2f}), got {sigma}")
        self.radius = radius
        self.sigma_max = min(MAX_BLUR_SIGMA, radius / 3)
        # softplus inverse of the initial width
        self.sigma_param = nn.Parameter(torch.tensor(math.log(math.expm1(sigma))))

    @property
    def sigma(self) -> torch.Tensor:
        """The blur width in pixels, a 0-d tensor in (0, radius / 3].

        Capped with a straight-through clamp: the value stops at the cap, the gradient does not,
        so a width pushed past it can come back (a plain clamp has zero gradient there)."""
        s = F.softplus(self.sigma_param)
        return s - (s - self.sigma_max).clamp(min=0).detach()

    def kernel(self) -> torch.Tensor:
        """The normalised (2r+1, 2r+1) kernel (sums to 1)."""
        r = self.radius
        t = torch.arange(-r, r + 1, dtype=self.sigma_param.dtype, device=self.sigma_param.device)
        g = torch.exp(-0.5 * (t / self.sigma) ** 2)
        k2 = g[:, None] * g[None, :]
        return k2 / k2.sum()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """In float32 also under autocast: the blurred image is the base of G's output, and in
        bf16 it would carry about half a grey level of rounding error."""
        c = x.shape[1]
        r = self.radius
        with torch.autocast(x.device.type, enabled=False):
            k = self.kernel().float().expand(c, 1, -1, -1)
            return F.conv2d(F.pad(x.float(), (r, r, r, r), mode="replicate"), k, groups=c)


class SignalNoise(nn.Module):
    """Adds signal-dependent noise: ``y + sigma(y) * normalise(M n)``, per channel
    ``sigma_c(y)^2 = shot_c * clamp(y, 0, 1) + read_c`` (Poisson-Gaussian, in [0, 1] units).

    ``M`` is a learned 3x3 mixing whose rows are normalised to unit length, so it sets only the
    correlation of the channels' noise, not its level (it starts at the identity: independent
    channels). ``shot`` and ``read`` are stored as logarithms.

    Args:
        sigma: initial noise std (0..255 units), split evenly between shot noise at mid-grey and
            read noise; 1 is about one 8-bit level.

    Shapes: y (N, 3, H, W) in about [0, 1], n (N, 3, H, W) N(0, 1) -> (N, 3, H, W).
    """

    def __init__(self, sigma: float = 1.0) -> None:
        super().__init__()
        if sigma <= 0:
            raise ValueError(f"initial noise sigma must be > 0, got {sigma}")
        var = (sigma / 255.0) ** 2
        self.log_shot = nn.Parameter(torch.full((3,), math.log(var)))  # var at y = 0.5: var / 2
        self.log_read = nn.Parameter(torch.full((3,), math.log(var / 2)))
        self.mix = nn.Parameter(torch.eye(3))

    def std(self, y: torch.Tensor) -> torch.Tensor:
        """Per-pixel noise std, (N, 3, H, W), for the clean signal ``y`` (N, 3, H, W)."""
        shot = self.log_shot.exp().view(1, 3, 1, 1)
        read = self.log_read.exp().view(1, 3, 1, 1)
        return (shot * y.clamp(0, 1) + read).sqrt()

    def correlation(self) -> torch.Tensor:
        """The (3, 3) correlation matrix of the noise across channels."""
        m = F.normalize(self.mix, dim=1)
        return m @ m.T

    def forward(self, y: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        """In float32 also under autocast (noise of about a grey level must not be rounded)."""
        with torch.autocast(y.device.type, enabled=False):
            y = y.float()
            m = F.normalize(self.mix.float(), dim=1)
            mixed = torch.einsum("ij,njhw->nihw", m, n.float())
            return y + self.std(y) * mixed

    @torch.no_grad()
    def curve(self, levels: torch.Tensor) -> torch.Tensor:
        """Noise std (0..255 units) at signal ``levels`` (L,) in [0, 1]: (3, L), per channel."""
        y = levels.view(1, 1, -1, 1).expand(1, 3, -1, 1).to(self.log_shot)
        return (self.std(y)[0, :, :, 0] * 255.0).cpu()
