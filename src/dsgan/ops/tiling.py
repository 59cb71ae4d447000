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
    tile_batch: int = 1,
) -> torch.Tensor:
    """Apply ``fn`` over tiles of ``image``.

    Args:
        fn: maps (N, C, h, w) to (N, C', h*scale, w*scale).
        image: (N, C, H, W).
        tile: tile size (input pixels); <= 0 or >= the image size means no tiling.
        overlap: context on each side, >= the network's receptive-field radius.
        scale: output/input size ratio of ``fn``.
        tile_batch: tiles of the same size (with their context) stacked into one call of ``fn``,
            up to this many images' worth (1: one tile at a time, as Real-ESRGAN does). Same
            result up to floating-point noise; faster where one tile does not fill the device.

    Returns:
        (N, C', H*scale, W*scale).
    """
    n, _, h, w = image.shape
    if tile <= 0 or (tile >= h and tile >= w):
        return fn(image)
    # each tile: its window with context (py0, py1, px0, px1) and the kept part (y0, y1, x0, x1)
    groups: dict[tuple[int, int], list[tuple[int, ...]]] = {}
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            py0, px0 = max(y0 - overlap, 0), max(x0 - overlap, 0)
            py1, px1 = min(y1 + overlap, h), min(x1 + overlap, w)
            groups.setdefault((py1 - py0, px1 - px0), []).append(
                (py0, py1, px0, px1, y0, y1, x0, x1)
            )
    out: torch.Tensor | None = None
    per_call = max(1, tile_batch)
    for tiles in groups.values():
        for i in range(0, len(tiles), per_call):
            chunk = tiles[i : i + per_call]
            windows = [image[:, :, t[0] : t[1], t[2] : t[3]] for t in chunk]
            res = fn(windows[0] if len(windows) == 1 else torch.cat(windows))
            if out is None:
                out = res.new_empty(n, res.shape[1], h * scale, w * scale)
            for j, (py0, _, px0, _, y0, y1, x0, x1) in enumerate(chunk):
                oy, ox = (y0 - py0) * scale, (x0 - px0) * scale
                out[:, :, y0 * scale : y1 * scale, x0 * scale : x1 * scale] = res[
                    j * n : (j + 1) * n, :, oy : oy + (y1 - y0) * scale, ox : ox + (x1 - x0) * scale
                ]
    assert out is not None
    return out
