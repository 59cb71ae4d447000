"""Blur kernels, filtering and seeded sampling helpers for the blind degradation pipelines.

Used by :mod:`dsgan.ops.blind` (Real-ESRGAN and BSRGAN degradations). Kernels are (k, k) float32
tensors that sum to 1, with ``k`` odd; images are (C, H, W) float tensors. Every random draw goes
through the helpers below, which take an explicit ``torch.Generator`` (``None``: torch's global
generator), so a pipeline's output is a pure function of its input and the generator's state.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# ----------------------------------------------------------------------------- seeded sampling


def _device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def rand(generator: torch.Generator | None, *shape: int) -> torch.Tensor:
    """Uniform [0, 1) float32 samples of ``shape``, on the CPU."""
    return torch.rand(shape, generator=generator, device=_device(generator)).cpu()


def randn(generator: torch.Generator | None, *shape: int) -> torch.Tensor:
    """Standard normal float32 samples of ``shape``, on the CPU."""
    return torch.randn(shape, generator=generator, device=_device(generator)).cpu()


def uniform(generator: torch.Generator | None, low: float, high: float) -> float:
    """One draw from U[low, high)."""
    return low + (high - low) * float(rand(generator))


def randint(generator: torch.Generator | None, low: int, high: int) -> int:
    """One integer drawn uniformly from ``low..high`` inclusive (like ``random.randint``)."""
    return int(torch.randint(low, high + 1, (), generator=generator, device=_device(generator)))


def choice(generator: torch.Generator | None, probs: list[float] | tuple[float, ...]) -> int:
    """Index ``i`` drawn with probability ``probs[i] / sum(probs)``."""
    u = uniform(generator, 0.0, float(sum(probs)))
    acc = 0.0
    for i, p in enumerate(probs):
        acc += p
        if u < acc:
            return i
    return len(probs) - 1


def poisson(rates: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Poisson samples with the given (non-negative) rates, same shape, on ``rates``' device."""
    dev = _device(generator)
    return torch.poisson(rates.to(dev), generator=generator).to(rates.device)


# ----------------------------------------------------------------------------- kernels


def _grid(size: int, offset: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(y, x) float64 coordinate grids of a ``size``-square kernel, centre at (offset, offset)."""
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2 - offset
    return torch.meshgrid(r, r, indexing="ij")


def _normalise(k: torch.Tensor) -> torch.Tensor:
    return (k / k.sum()).to(torch.float32)


def inverse_covariance(sigma_x: float, sigma_y: float, theta: float) -> torch.Tensor:
    """Inverse of R(theta) diag(sigma_x^2, sigma_y^2) R(theta)^T, as a float64 (2, 2) tensor."""
    c, s = math.cos(theta), math.sin(theta)
    rot = torch.tensor([[c, -s], [s, c]], dtype=torch.float64)
    inv_d = torch.diag(torch.tensor([sigma_x**-2, sigma_y**-2], dtype=torch.float64))
    return rot @ inv_d @ rot.T


def anisotropic_kernel(
    size: int,
    sigma_x: float,
    sigma_y: float,
    theta: float = 0.0,
    beta: float = 1.0,
    shape: str = "gaussian",
    offset: float = 0.0,
) -> torch.Tensor:
    """A (size, size) kernel summing to 1, of the quadratic form q = x^T Sigma^-1 x.

    ``shape``: ``"gaussian"`` exp(-q/2), ``"generalized"`` exp(-(q^beta)/2) or ``"plateau"``
    1/(1 + q^beta) (Real-ESRGAN, Sec. 3.2). ``offset`` moves the centre by that many pixels
    along both axes (towards the bottom-right for positive values).
    """
    y, x = _grid(size, offset)
    xy = torch.stack([x, y], dim=-1)
    q = torch.einsum("...i,ij,...j->...", xy, inverse_covariance(sigma_x, sigma_y, theta), xy)
    if shape == "gaussian":
        k = torch.exp(-0.5 * q)
    elif shape == "generalized":
        k = torch.exp(-0.5 * q.pow(beta))
    elif shape == "plateau":
        k = 1.0 / (1.0 + q.pow(beta))
    else:
        raise ValueError(f"unknown kernel shape {shape!r}")
    return _normalise(k)


def sinc_kernel(size: int, omega_c: float) -> torch.Tensor:
    """Circular (2-D sinc) low-pass kernel of cutoff ``omega_c`` in (0, pi], normalised to 1.

    k(r) = omega_c J1(omega_c r) / (2 pi r), with the limit omega_c^2 / (4 pi) at r = 0.
    """
    y, x = _grid(size)
    r = torch.sqrt(x**2 + y**2)
    safe = torch.where(r == 0, torch.ones_like(r), r)
    k = omega_c * torch.special.bessel_j1(omega_c * safe) / (2 * math.pi * safe)
    k = torch.where(r == 0, torch.full_like(r, omega_c**2 / (4 * math.pi)), k)
    return _normalise(k)


# Real-ESRGAN's mixed kernel family (options file: kernel_list / kernel_prob).
_FAMILIES = (
    ("gaussian", True),  # iso
    ("gaussian", False),  # aniso
    ("generalized", True),
    ("generalized", False),
    ("plateau", True),
    ("plateau", False),
)
_FAMILY_PROBS = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
KERNEL_SIZES = tuple(range(7, 22, 2))  # 7, 9, ..., 21


def random_sinc_kernel(generator: torch.Generator | None, size: int, final: bool = False):
    """Sinc kernel; cutoff U[pi/3, pi] (U[pi/5, pi] for non-final kernels of size >= 13)."""
    low = math.pi / 5 if size >= 13 and not final else math.pi / 3
    return sinc_kernel(size, uniform(generator, low, math.pi))


def random_mixed_kernel(
    generator: torch.Generator | None,
    sigma_range: tuple[float, float],
    betag_range: tuple[float, float] = (0.5, 4.0),
    betap_range: tuple[float, float] = (1.0, 2.0),
    sinc_prob: float = 0.1,
) -> torch.Tensor:
    """One Real-ESRGAN blur kernel: size from 7..21 (odd), sinc with ``sinc_prob``, otherwise
    iso/aniso Gaussian, generalized or plateau (probs 0.45/0.25/0.12/0.03/0.12/0.03).
    """
    size = KERNEL_SIZES[randint(generator, 0, len(KERNEL_SIZES) - 1)]
    if uniform(generator, 0.0, 1.0) < sinc_prob:
        return random_sinc_kernel(generator, size)
    shape, iso = _FAMILIES[choice(generator, _FAMILY_PROBS)]
    sigma_x = uniform(generator, *sigma_range)
    sigma_y = sigma_x if iso else uniform(generator, *sigma_range)
    theta = 0.0 if iso else uniform(generator, -math.pi, math.pi)
    beta = 1.0
    if shape == "generalized":  # half the time below 1 (heavier tails), half above
        lo_half = uniform(generator, 0.0, 1.0) < 0.5
        beta = (
            uniform(generator, betag_range[0], 1.0)
            if lo_half
            else uniform(generator, 1.0, betag_range[1])
        )
    elif shape == "plateau":
        beta = uniform(generator, *betap_range)
    return anisotropic_kernel(size, sigma_x, sigma_y, theta, beta, shape)


# ----------------------------------------------------------------------------- filtering


def filter2d(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Correlate each channel of a (C, H, W) image with an odd (k, k) kernel, same size out.

    Borders are mirror-reflected (no edge repeat); on images too small for that (side <= k//2)
    the edge pixels are replicated instead.
    """
    c, h, w = image.shape
    pad = kernel.shape[-1] // 2
    mode = "reflect" if pad < min(h, w) else "replicate"
    x = F.pad(image[None], (pad, pad, pad, pad), mode=mode)
    weight = kernel.to(image.device, image.dtype).expand(c, 1, *kernel.shape)
    return F.conv2d(x, weight, groups=c)[0]
