"""Blind degradation pipelines (Real-ESRGAN, BSRGAN) and their kernels."""

from __future__ import annotations

import math

import pytest
import torch

from dsgan.ops.blind import bsrgan_degrade, realesrgan_degrade
from dsgan.ops.blind_kernels import (
    KERNEL_SIZES,
    anisotropic_kernel,
    filter2d,
    random_mixed_kernel,
    sinc_kernel,
)
from dsgan.ops.corrupt import quantize
from dsgan.ops.resize import imresize

PIPELINES = [realesrgan_degrade, bsrgan_degrade]


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def smooth(size: int = 64) -> torch.Tensor:
    """A smooth colour image on 8-bit levels: gentle ramps and a low-frequency wave."""
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    wave = 0.5 + 0.4 * torch.sin(2 * math.pi * x) * torch.cos(math.pi * y)
    return quantize(torch.stack([x, wave, 0.2 + 0.6 * y]))


@pytest.mark.parametrize("degrade", PIPELINES)
@pytest.mark.parametrize("scale,size", [(4, (64, 48)), (2, (32, 40)), (3, (48, 36))])
def test_output_shape_range_and_levels(degrade, scale, size):
    h, w = size
    hr = smooth(64)[:, :h, :w]
    for seed in range(6):
        lr = degrade(hr, scale, gen(seed))
        assert lr.shape == (3, h // scale, w // scale)
        assert lr.dtype == hr.dtype
        assert float(lr.min()) >= 0.0 and float(lr.max()) <= 1.0
        assert torch.equal(lr, quantize(lr))  # on 8-bit levels


@pytest.mark.parametrize("degrade", PIPELINES)
def test_keeps_the_input_dtype(degrade):
    lr = degrade(smooth(32).double(), 4, gen(0))
    assert lr.dtype == torch.float64 and lr.shape == (3, 8, 8)


@pytest.mark.parametrize("degrade", PIPELINES)
def test_same_seed_same_output_other_seed_differs(degrade):
    hr = smooth()
    for seed in range(4):
        assert torch.equal(degrade(hr, 4, gen(seed)), degrade(hr, 4, gen(seed)))
    outs = [degrade(hr, 4, gen(seed)) for seed in range(6)]
    distinct = {tuple(o.flatten().tolist()) for o in outs}
    assert len(distinct) == len(outs)


@pytest.mark.parametrize("degrade", PIPELINES)
def test_input_is_not_modified(degrade):
    hr = smooth()
    copy = hr.clone()
    degrade(hr, 4, gen(0))
    assert torch.equal(hr, copy)


@pytest.mark.parametrize("degrade", PIPELINES)
def test_degrades_more_than_a_plain_bicubic_downscale(degrade):
    hr = smooth()
    clean = quantize(imresize(hr, 0.25))
    diffs = [float((degrade(hr, 4, gen(s)) - clean).abs().mean()) for s in range(16)]
    # A clean resize of this smooth image (any mode) stays within ~0.001 of `clean`.
    assert sum(diffs) / len(diffs) > 0.015
    assert sum(d > 0.01 for d in diffs) >= len(diffs) // 2


@pytest.mark.parametrize("degrade", PIPELINES)
def test_adds_noise_to_a_flat_image(degrade):
    # Blur, resizing and JPEG all keep a flat grey image flat: any spread is noise.
    grey = torch.full((3, 64, 64), 128 / 255)
    stds = [float(degrade(grey, 4, gen(s)).std()) for s in range(20)]
    assert sum(s > 1 / 255 for s in stds) >= 8


@pytest.mark.parametrize("degrade", PIPELINES)
@pytest.mark.parametrize(
    "bad,scale",
    [
        (torch.rand(3, 64, 62), 4),
        (torch.rand(3, 30, 32), 4),
        (torch.rand(3, 33, 33), 2),
        (torch.rand(1, 64, 64), 4),
        (torch.rand(2, 3, 64, 64), 4),
        (torch.rand(3, 64, 64), 0),
        (torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8), 4),
    ],
)
def test_rejects_bad_sizes_and_scales(degrade, bad, scale):
    with pytest.raises(ValueError):
        degrade(bad, scale, gen(0))


# ----------------------------------------------------------------------------- kernels


@pytest.mark.parametrize(
    "kernel",
    [
        anisotropic_kernel(21, 3.0, 3.0),
        anisotropic_kernel(7, 0.2, 0.2),
        anisotropic_kernel(15, 2.5, 0.7, theta=0.6),
        anisotropic_kernel(13, 1.5, 1.0, theta=-2.0, beta=0.5, shape="generalized"),
        anisotropic_kernel(13, 1.5, 1.0, theta=1.0, beta=4.0, shape="generalized"),
        anisotropic_kernel(11, 2.0, 2.0, beta=1.5, shape="plateau"),
        anisotropic_kernel(25, 1.2, 1.2, offset=1.5),
        sinc_kernel(7, math.pi / 3),
        sinc_kernel(21, math.pi / 5),
        sinc_kernel(13, math.pi),
    ],
)
def test_kernels_sum_to_one(kernel):
    assert kernel.dtype == torch.float32 and kernel.shape[0] == kernel.shape[1]
    assert kernel.shape[0] % 2 == 1
    assert abs(float(kernel.sum()) - 1.0) < 1e-5


def test_random_kernels_sum_to_one_and_have_valid_sizes():
    g = gen(0)
    sizes = set()
    for _ in range(60):
        k = random_mixed_kernel(g, (0.2, 3.0))
        sizes.add(k.shape[0])
        assert k.shape[0] in KERNEL_SIZES and k.shape[0] == k.shape[1]
        assert abs(float(k.sum()) - 1.0) < 1e-5 and torch.isfinite(k).all()
    assert len(sizes) >= 5  # the size is random over 7..21


def test_gaussian_kernel_matches_the_closed_form():
    k = anisotropic_kernel(9, 1.3, 1.3)
    r = torch.arange(9, dtype=torch.float64) - 4
    g1 = torch.exp(-(r**2) / (2 * 1.3**2))
    expected = torch.outer(g1, g1) / torch.outer(g1, g1).sum()
    assert torch.allclose(k.double(), expected, atol=1e-7)


def test_anisotropic_kernel_is_elongated_along_theta():
    k = anisotropic_kernel(21, 4.0, 1.0, theta=0.0)  # wide along x
    assert float(k[10, 16]) > 10 * float(k[16, 10])
    turned = anisotropic_kernel(21, 4.0, 1.0, theta=math.pi / 2)  # now wide along y
    assert torch.allclose(turned, k.T, atol=1e-6)


def test_offset_kernel_moves_its_centre():
    k = anisotropic_kernel(25, 1.0, 1.0, offset=1.5)
    idx = torch.arange(25, dtype=torch.float32) - 12
    assert abs(float((k.sum(1) * idx).sum()) - 1.5) < 1e-3  # centroid along y
    assert abs(float((k.sum(0) * idx).sum()) - 1.5) < 1e-3  # and along x


def test_sinc_kernel_is_low_pass():
    k = sinc_kernel(21, math.pi / 4)
    spectrum = torch.fft.fft2(k, s=(64, 64)).abs()
    assert float(spectrum[0, 0]) == pytest.approx(1.0, abs=1e-5)
    freqs = spectrum[0, :33]  # bin i is frequency i * pi / 32
    assert float(freqs[2:7].min()) > 0.85  # below the cutoff: passed
    assert float(freqs[8]) == pytest.approx(0.5, abs=0.05)  # at the cutoff pi/4: halved
    assert float(freqs[12:].max()) < 0.1  # above: stopped
    assert float(spectrum[32, 32]) < 0.1


def test_filter2d_keeps_flat_images_and_sizes():
    flat = torch.full((3, 6, 5), 0.3)
    for size in (3, 21):  # 21 > side: replicate padding
        out = filter2d(flat, anisotropic_kernel(size, 2.0, 2.0))
        assert out.shape == flat.shape and torch.allclose(out, flat, atol=1e-6)
    ramp = torch.linspace(0, 1, 32).expand(3, 32, 32).clone()
    blurred = filter2d(ramp, anisotropic_kernel(7, 1.5, 1.5))
    assert torch.allclose(blurred[:, 8:-8, 8:-8], ramp[:, 8:-8, 8:-8], atol=1e-5)
    noise = torch.rand(3, 16, 16, generator=gen(0))
    assert float(filter2d(noise, sinc_kernel(7, 1.0)).std()) < 0.6 * float(noise.std())
