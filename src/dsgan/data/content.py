"""Content-matched real samples for DSGAN (``data.match_content``).

In unpaired mode G's clean HR and the real LR photos are different pictures. When one set holds
more fine structure than the other (foliage and rock against sky and walls), D can tell real from
fake by content, and G, which cannot change content, may imitate the missing structure with noise.
Measured on the quality benchmark (docs/RESULTS.md, "Unpaired mode"): with the real half 2.5x as
textured as G's, matching with 8 candidates moved the LR noise by 0.03 grey levels and SR within
its run-to-run spread, so it is off by default.

Same-domain (the paper's mode), the real sample is a native-scale crop of the photo G's input is
downscaled from, so its content is ``scale`` times coarser per pixel: on the held-out rows' photos
at x4 the statistic below is 0.51-0.78 lower on such crops than on G's input (its spread over
crops: 0.73); with 8 candidates drawn from random photos the matched crops are within 0.11 of G's
input (``benchmarks/content_scale.py``, ``benchmarks/results/content-scale-*.md``).

Matching: for each HR crop, ``candidates`` random crops of the real LR photos are drawn and the one
whose *structure* is closest to the HR crop's is kept. Structure is measured where the degradations
DSGAN learns barely reach: the standard deviation of a band-pass of the luminance (difference of
Gaussians of 1.5 and 4 LR pixels): white Gaussian noise of sigma 8 leaves 0.84 grey levels in it;
on the benchmark's val photos (68 crops of 48 px) each corruption of its suite moved the statistic of
a crop by 0.04-0.12 on average, where crops differ from each other by 0.82 (its standard deviation
over the clean crops). So D compares crops of alike content, and what is left to tell them apart is
the degradation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dsgan.metrics.spectrum import LUMA
from dsgan.ops.filters import gaussian_kernel1d

_FINE, _COARSE = 1.5, 4.0  # band-pass sigmas, LR pixels


def _gauss(sigma: float) -> torch.Tensor:
    """Normalised 1-D Gaussian of radius 3 sigma (rounded)."""
    return gaussian_kernel1d(2 * int(3 * sigma + 0.5) + 1, sigma)


def _blur(y: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    r = k.numel() // 2
    k = k.to(y)
    y = F.conv2d(F.pad(y, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    return F.conv2d(F.pad(y, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))


_K_FINE, _K_COARSE = _gauss(_FINE), _gauss(_COARSE)


def structure(crops: torch.Tensor, scale: int = 1) -> torch.Tensor:
    """(N, 3, H, W) uint8 or float in [0, 1] -> (N,) log(1 + band-pass std in grey levels of 255).

    ``scale``: the crops' size relative to LR (HR crops: the scale factor); they are box-averaged
    down to LR first, so an HR crop and the real LR crop it is compared with are measured alike.
    """
    x = crops.float()
    if crops.dtype == torch.uint8:
        x = x / 255
    if scale > 1:
        x = F.avg_pool2d(x, scale)
    y = torch.einsum("nchw,c->nhw", x, x.new_tensor(LUMA)).unsqueeze(1)
    band = _blur(y, _K_FINE) - _blur(y, _K_COARSE)
    return torch.log1p(255 * band.flatten(1).std(dim=1))


def closest(target: torch.Tensor, candidates: torch.Tensor) -> int:
    """Index of the candidate whose structure is closest to ``target``'s (scalars, as
    :func:`structure` returns them)."""
    return int((candidates - target).abs().argmin())
