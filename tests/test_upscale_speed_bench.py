"""benchmarks/upscale_speed.py counts the model's arithmetic exactly: the convolution FLOPs it
reports for the reference's tiles equal RRDBNet's closed-form count over the same tile pixels."""

from __future__ import annotations

import torch

from dsgan.models.rrdb import RRDBNet
from upscale_speed import count_conv_flops


def rrdb_macs_per_lr_pixel(nf: int, nb: int, gc: int, in_ch: int = 3, out_ch: int = 3) -> int:
    """Multiply-adds per LR input pixel of an x4 RRDBNet, written out layer by layer."""
    rdb = nf * gc + (nf + gc) * gc + (nf + 2 * gc) * gc + (nf + 3 * gc) * gc + (nf + 4 * gc) * nf
    lr = in_ch * nf + nb * 3 * rdb + nf * nf  # conv_first, body, conv_body
    x2 = 4 * nf * nf  # conv_up1 on 4x the pixels
    x4 = 16 * (nf * nf + nf * nf + nf * out_ch)  # conv_up2, conv_hr, conv_last on 16x
    return 9 * (lr + x2 + x4)


def test_conv_flops_match_the_closed_form_over_the_tiles():
    model = RRDBNet(nf=8, nb=2, gc=4).eval()
    img = torch.rand(1, 3, 16, 20)
    with torch.no_grad():
        flops = count_conv_flops(model, img, tile=8, pad=2)
    # tiles of 8 with 2 pixels of context, clipped at the borders: columns 10, 12 and 6 wide
    # (x = 0..10, 6..18, 14..20), rows 10 and 10 high (y = 0..10, 6..16)
    tile_pixels = (10 + 12 + 6) * (10 + 10)
    assert flops == 2 * rrdb_macs_per_lr_pixel(8, 2, 4) * tile_pixels
    assert not any(m._forward_hooks for m in model.modules())  # no hooks left behind
