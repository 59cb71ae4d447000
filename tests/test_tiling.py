"""Tiled inference equals untiled inference when the overlap covers the receptive field."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dsgan.models import Generator
from dsgan.ops.tiling import tiled_apply


@pytest.fixture(scope="module")
def generator() -> Generator:
    torch.manual_seed(0)
    g = Generator(n_res_blocks=2, channels=8).eval()
    with torch.no_grad():  # make the receptive field matter: non-trivial last layer
        for p in g.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return g


@pytest.mark.parametrize(("tile", "size"), [(7, (20, 17)), (8, (19, 23)), (5, (11, 11))])
def test_tiled_generator_equals_untiled(generator, tile, size):
    x = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(tile))
    with torch.no_grad():
        full = generator(x)
        tiled = tiled_apply(generator, x, tile=tile, overlap=generator.receptive_radius)
    assert tiled.shape == full.shape
    torch.testing.assert_close(tiled, full, atol=1e-5, rtol=0)


def test_too_little_overlap_shows_seams(generator):
    x = torch.rand(1, 3, 20, 20, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        full = generator(x)
        tiled = tiled_apply(generator, x, tile=7, overlap=1)
    assert (tiled - full).abs().max() > 1e-4  # the equality above is not trivially true


def test_no_tiling_cases(generator):
    calls = []

    def fn(t):
        calls.append(t.shape)
        return t * 2

    x = torch.rand(1, 3, 6, 9)
    torch.testing.assert_close(tiled_apply(fn, x, tile=0, overlap=2), x * 2)
    torch.testing.assert_close(tiled_apply(fn, x, tile=9, overlap=2), x * 2)
    assert calls == [x.shape, x.shape]


def test_tiles_see_overlapping_context():
    shapes = []

    def fn(t):
        shapes.append(tuple(t.shape[-2:]))
        return t

    x = torch.rand(1, 3, 10, 10)
    out = tiled_apply(fn, x, tile=4, overlap=2)
    assert torch.equal(out, x)
    assert len(shapes) == 9  # ceil(10 / 4) ** 2
    assert shapes[0] == (6, 6) and shapes[4] == (8, 8) and shapes[-1] == (4, 4)


def pixel_shuffle_toy(x: torch.Tensor) -> torch.Tensor:
    """A local x2 upscaler: 3x3 conv to 12 channels, pixel shuffle (receptive radius 1)."""
    w = torch.linspace(-1, 1, 12 * 3 * 3 * 3).reshape(12, 3, 3, 3)
    return F.pixel_shuffle(F.conv2d(x, w, padding=1), 2)


@pytest.mark.parametrize("tile", [3, 5, 8])
def test_scale_two(tile):
    x = torch.rand(1, 3, 13, 10, generator=torch.Generator().manual_seed(1))
    full = pixel_shuffle_toy(x)
    tiled = tiled_apply(pixel_shuffle_toy, x, tile=tile, overlap=1, scale=2)
    assert tiled.shape == (1, 3, 26, 20)
    torch.testing.assert_close(tiled, full, atol=1e-5, rtol=0)
    seams = tiled_apply(pixel_shuffle_toy, x, tile=tile, overlap=0, scale=2)
    assert (seams - full).abs().max() > 1e-3
