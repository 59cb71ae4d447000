"""Tiled inference for images too large for memory (after Real-ESRGAN's ``tile_process``).

Each tile is processed with ``overlap`` pixels of context on every side and only its centre is kept,
so for a network whose receptive field radius is at most ``overlap`` the result equals untiled
inference up to floating-point noise.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def tiled_apply(
    fn: Callable[[torch.Tensor], torch.Tensor],
    image: torch.Tensor,
    tile: int,
    overlap: int,
    scale: int = 1,
) -> torch.Tensor:
    """Apply ``fn`` over tiles of ``image``.

    Args:
        fn: maps (N, C, h, w) to (N, C', h*scale, w*scale).
        image: (N, C, H, W).
        tile: tile size (input pixels); <= 0 or >= the image size means no tiling.
        overlap: context on each side, >= the network's receptive-field radius.
        scale: output/input size ratio of ``fn``.

    Returns:
        (N, C', H*scale, W*scale).
    """
    n, _, h, w = image.shape
    if tile <= 0 or (tile >= h and tile >= w):
        return fn(image)
    out: torch.Tensor | None = None
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            py0, px0 = max(y0 - overlap, 0), max(x0 - overlap, 0)
            py1, px1 = min(y1 + overlap, h), min(x1 + overlap, w)
            res = fn(image[:, :, py0:py1, px0:px1])
            if out is None:
                out = res.new_empty(n, res.shape[1], h * scale, w * scale)
            oy, ox = (y0 - py0) * scale, (x0 - px0) * scale
            out[:, :, y0 * scale : y1 * scale, x0 * scale : x1 * scale] = res[
                :, :, oy : oy + (y1 - y0) * scale, ox : ox + (x1 - x0) * scale
            ]
    assert out is not None
    return out
