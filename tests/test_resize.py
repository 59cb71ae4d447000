"""MATLAB-style bicubic imresize, checked against a slow reference written from MATLAB's definition."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dsgan.ops.resize import crop_to_multiple, downscale, imresize


def _cubic(x: float) -> float:
    """MATLAB imresize.m ``cubic``: Keys kernel, a = -0.5."""
    ax = abs(x)
    if ax <= 1:
        return 1.5 * ax**3 - 2.5 * ax**2 + 1
    if ax <= 2:
        return -0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2
    return 0.0


def _mirror(k: int, n: int) -> int:
    """1-based symmetric extension, MATLAB's aux = [1:n, n:-1:1] repeated."""
    while k < 1 or k > n:
        k = 1 - k if k < 1 else 2 * n + 1 - k
    return k


def _resize_1d(signal: np.ndarray, scale: float, out_len: int) -> np.ndarray:
    """imresize.m ``contributions`` + ``resizeAlongDim`` for one axis, as plain loops."""
    n = len(signal)
    antialias = scale < 1
    width = 4.0 / scale if antialias else 4.0
    out = np.zeros(out_len)
    for i in range(1, out_len + 1):
        u = i / scale + 0.5 * (1 - 1 / scale)  # input coordinate (1-based) of output pixel i
        left = math.floor(u - width / 2)
        taps = math.ceil(width) + 2
        weights, values = [], []
        for j in range(left, left + taps):
            d = u - j
            w = scale * _cubic(scale * d) if antialias else _cubic(d)
            weights.append(w)
            values.append(signal[_mirror(j, n) - 1])
        total = sum(weights)
        out[i - 1] = sum(w * v for w, v in zip(weights, values, strict=True)) / total
    return out


def reference_imresize(img: np.ndarray, scale: float) -> np.ndarray:
    """(C, H, W) float64 -> (C, ceil(H*scale), ceil(W*scale)), rows then columns."""
    c, h, w = img.shape
    oh, ow = math.ceil(h * scale), math.ceil(w * scale)
    tmp = np.zeros((c, oh, w))
    for ch in range(c):
        for x in range(w):
            tmp[ch, :, x] = _resize_1d(img[ch, :, x], scale, oh)
    out = np.zeros((c, oh, ow))
    for ch in range(c):
        for y in range(oh):
            out[ch, y, :] = _resize_1d(tmp[ch, y, :], scale, ow)
    return out


@pytest.mark.parametrize("scale", [1 / 2, 1 / 3, 1 / 4, 2.0])
@pytest.mark.parametrize("size", [(13, 11), (12, 16)])
def test_matches_matlab_reference(scale, size):
    rng = np.random.default_rng(int(scale * 100) + size[0])
    img = rng.uniform(0, 1, size=(2, *size))
    expected = reference_imresize(img, scale)
    got64 = imresize(torch.from_numpy(img), scale)
    got32 = imresize(torch.from_numpy(img).float(), scale)
    assert (
        got64.shape == expected.shape == (2, math.ceil(size[0] * scale), math.ceil(size[1] * scale))
    )
    assert got64.dtype == torch.float64 and got32.dtype == torch.float32
    np.testing.assert_allclose(got64.numpy(), expected, atol=1e-10)
    np.testing.assert_allclose(got32.numpy(), expected, atol=1e-5)  # far below 1/255


def test_output_size_is_ceil():
    x = torch.rand(3, 10, 7)
    assert imresize(x, 1 / 3).shape == (3, 4, 3)
    assert imresize(x, 0.5).shape == (3, 5, 4)
    assert imresize(x, 1.5).shape == (3, 15, 11)


def test_scale_one_is_identity():
    x = torch.rand(1, 3, 9, 8, dtype=torch.float64)
    torch.testing.assert_close(imresize(x, 1.0), x, atol=1e-12, rtol=0)


@pytest.mark.parametrize("scale", [1 / 2, 1 / 3, 1 / 4, 2.0, 0.7])
def test_constant_image_stays_constant(scale):
    x = torch.full((3, 14, 9), 0.37, dtype=torch.float64)
    y = imresize(x, scale)
    torch.testing.assert_close(y, torch.full_like(y, 0.37), atol=1e-12, rtol=0)


@pytest.mark.parametrize(("factor", "n"), [(2, 24), (3, 30), (4, 40)])
def test_linear_ramp_is_preserved_in_the_interior(factor, n):
    """MATLAB's bicubic reproduces linear functions: output pixel i (1-based) of a ramp f(j) = j
    equals its input coordinate u = factor * i - (factor - 1) / 2 where the kernel stays inside."""
    ramp = torch.arange(1, n + 1, dtype=torch.float64).expand(1, 4, n)
    out = imresize(ramp, 1 / factor)[0, 0]
    u = factor * torch.arange(1, n // factor + 1, dtype=torch.float64) - (factor - 1) / 2
    half = 2 * factor  # kernel half-width in input pixels
    inside = (u - half >= 1) & (u + half <= n)
    assert inside.sum() >= 2
    torch.testing.assert_close(out[inside], u[inside], atol=1e-10, rtol=0)
    # at the borders the symmetric extension bends the ramp (so they are genuinely different)
    assert abs(float(out[0] - u[0])) > 1e-3


def test_upscale_preserves_linear_ramp_in_the_interior():
    ramp = torch.arange(1, 11, dtype=torch.float64).expand(1, 3, 10)
    out = imresize(ramp, 2.0)[0, 0]
    u = torch.arange(1, 21, dtype=torch.float64) / 2 + 0.25
    torch.testing.assert_close(out[3:-3], u[3:-3], atol=1e-10, rtol=0)


def test_batched_equals_single_and_keeps_device_dtype():
    x = torch.rand(3, 2, 10, 12)
    batched = imresize(x, 0.5)
    for i in range(3):
        torch.testing.assert_close(batched[i], imresize(x[i], 0.5), atol=0, rtol=0)
    assert imresize(x.half(), 0.5).dtype == torch.float16


def test_is_differentiable():
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: imresize(t, 0.5), (x,))


def test_invalid_arguments():
    with pytest.raises(ValueError, match="scale"):
        imresize(torch.rand(3, 4, 4), 0)
    with pytest.raises(ValueError):
        imresize(torch.rand(4, 4), 0.5)
    with pytest.raises(ValueError, match="divisible"):
        downscale(torch.rand(3, 10, 9), 2)


def test_downscale_and_crop_to_multiple():
    x = torch.rand(3, 14, 11)
    c = crop_to_multiple(x, 4)
    assert c.shape == (3, 12, 8) and torch.equal(c, x[:, :12, :8])
    d = downscale(c, 4)
    assert d.shape == (3, 3, 2)
    torch.testing.assert_close(d, imresize(c, 0.25), atol=0, rtol=0)
