"""Blockiness: steps on a block grid, the signature of JPEG-style block coding."""

from __future__ import annotations

import pytest
import torch

from dsgan.metrics.blocking import blockiness
from dsgan.metrics.evaluate import evaluate_images
from dsgan.metrics.report import format_table
from dsgan.ops.corrupt import jpeg


def texture(seed: int, h: int = 96, w: int = 128) -> torch.Tensor:
    """A smooth random colour texture plus mild white noise, (3, h, w) in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, h // 6, w // 6, generator=g)
    x = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    return (x[0] + torch.randn(3, h, w, generator=g) * 0.02).clamp(0, 1)


def with_grid_steps(image: torch.Tensor, period: int, offset: int, size: float) -> torch.Tensor:
    """Adds a constant random level per ``period`` x ``period`` block, the grid shifted by offset."""
    g = torch.Generator().manual_seed(99)
    h, w = image.shape[-2:]
    rows = (torch.arange(h) + offset) // period
    cols = (torch.arange(w) + offset) // period
    levels = (torch.rand(int(rows.max()) + 1, int(cols.max()) + 1, generator=g) - 0.5) * size
    return (image + levels[rows][:, cols]).clamp(0, 1)


def test_no_grid_scores_about_one():
    assert 1.0 <= blockiness(texture(0)) < 1.15  # >= 1 by construction (max over the mean)


@pytest.mark.parametrize("offset", [0, 3, 5])
def test_grid_steps_score_high_wherever_the_grid_lies(offset):
    clean = blockiness(texture(0))
    steps = blockiness(with_grid_steps(texture(0), 8, offset, 0.3))
    assert steps > 2.0 * clean


def test_grid_of_another_period_is_not_counted():
    """Steps every 7 px spread over all phases of an 8-px grid: no more than the image without."""
    clean = blockiness(texture(0))
    assert blockiness(with_grid_steps(texture(0), 7, 0, 0.3)) < clean + 0.15
    assert blockiness(with_grid_steps(texture(0), 7, 0, 0.3), period=7) > 2.0 * clean


def test_jpeg_blockiness_grows_as_quality_falls():
    x = texture(1)
    scores = [blockiness(jpeg(x, q)) for q in (95, 60, 20)]
    assert scores[0] < scores[1] < scores[2]
    assert scores[2] > 1.3 and scores[0] < 1.15


def test_both_directions_count():
    """Steps between block rows only: the vertical profile finds them, the horizontal one not."""
    x = texture(0)
    rows_only = x.clone()
    g = torch.Generator().manual_seed(5)
    levels = (torch.rand(x.shape[1] // 8 + 1, generator=g) - 0.5) * 0.3
    rows_only = (rows_only + levels[torch.arange(x.shape[1]) // 8][None, :, None]).clamp(0, 1)
    clean = blockiness(x)
    assert blockiness(rows_only) > clean + 0.5
    assert blockiness(rows_only.transpose(1, 2)) == pytest.approx(blockiness(rows_only), rel=1e-9)


def test_flat_image_scores_one():
    assert blockiness(torch.full((3, 32, 32), 0.5)) == pytest.approx(1.0)


def test_blockiness_rejects_bad_shapes():
    with pytest.raises(ValueError, match="RGB"):
        blockiness(torch.rand(1, 32, 32))
    with pytest.raises(ValueError, match="too small"):
        blockiness(torch.rand(3, 16, 40))
    with pytest.raises(ValueError, match="period"):
        blockiness(torch.rand(3, 32, 32), period=1)


def test_evaluate_reports_blocking_or_says_why_not():
    gen = [texture(s) for s in range(3)]
    real = [jpeg(texture(s + 10), 20) for s in range(3)]
    res = evaluate_images(gen, real, options=_fast())
    assert res["blocking"]["real"] > res["blocking"]["gen"] + 0.2
    assert "blockiness gen / real" in format_table(res)
    tiny = evaluate_images(
        [torch.rand(3, 12, 12)] * 2, [torch.rand(3, 12, 12)] * 2, options=_fast()
    )
    assert tiny["blocking"] is None and "12 px" in tiny["skipped"]["blocking"]
    assert "skipped: an image side is 12 px" in format_table(tiny)


def _fast():
    from dsgan.metrics.evaluate import EvalOptions

    return EvalOptions(fid="off", lpips="off", two_sample=False)


def test_batch_blockiness_pools_the_batch_before_the_ratio() -> None:
    from dsgan.metrics.blocking import batch_blockiness

    torch.manual_seed(0)
    x = torch.rand(3, 3, 24, 40)
    for im in x:  # one image: the per-image measure exactly
        assert float(batch_blockiness(im[None])) == pytest.approx(blockiness(im), rel=1e-5)
    # a crop flat inside every block (JPEG q30 on sky): its own ratio is huge, the batch's is not
    flat = with_grid_steps(torch.full((3, 32, 32), 0.5), 8, 3, 0.05)
    textured = torch.stack([texture(s, 32, 32) for s in range(3)])
    assert blockiness(flat) > 100
    pooled = float(batch_blockiness(torch.cat([textured, flat[None]])))
    assert pooled < 3
    assert pooled > float(batch_blockiness(textured))  # the flat crop's steps still count
    with pytest.raises(ValueError):
        batch_blockiness(x[0])


def test_batch_blockiness_pools_grids_at_different_offsets() -> None:
    """Random crops of JPEG images (and flips of them) put each crop's grid at its own phase:
    the batch must pool grid with grid, not average the grid away."""
    from dsgan.metrics.blocking import batch_blockiness

    coded = jpeg(texture(3, 96, 96), 20)
    crops = [coded[:, y : y + 32, x : x + 32] for y, x in ((0, 0), (3, 5), (6, 1), (1, 7), (2, 2))]
    crops.append(crops[1].flip(-1))
    batch = torch.stack(crops)
    each = [blockiness(c) for c in crops]
    assert min(each) > 1.3  # every crop shows the grid on its own
    pooled = float(batch_blockiness(batch))
    assert pooled > 0.8 * min(each)
    # the same crops all on one phase (as G's coded batch is): about the same reading
    aligned = torch.stack([coded[:, 8 * i : 8 * i + 32, 8:40] for i in range(6)])
    assert pooled == pytest.approx(float(batch_blockiness(aligned)), rel=0.3)
    # and an uncoded batch stays near 1
    assert float(batch_blockiness(torch.stack([texture(s, 32, 32) for s in range(6)]))) < 1.3
