"""bf16 inference (``dsgan.inference.precision``): the dense branches of the trunk run in bf16
and everything else in float32, the model passed in is left alone, and the result is several times
closer to float32 than bf16 autocast of the whole network."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dsgan.inference.precision import Bf16DenseBlock, bf16_trunk
from dsgan.inference.upscale import upscale_batch
from dsgan.models import RRDBNet


def _net(scale: int = 4) -> RRDBNet:
    torch.manual_seed(0)
    return RRDBNet(nf=16, nb=3, gc=8, scale=scale).eval()


def test_only_the_dense_blocks_become_bf16_and_the_input_model_is_untouched():
    net = _net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    fast = bf16_trunk(net)
    assert fast is not net
    blocks = [m for m in fast.body.modules() if isinstance(m, Bf16DenseBlock)]
    assert len(blocks) == 3 * 3  # nb RRDBs x 3 dense blocks
    convs = [m for m in fast.body.modules() if type(m) is nn.Conv2d]
    assert len(convs) == 3 * 3 * 5 and all(m.weight.dtype == torch.bfloat16 for m in convs)
    for name in ("conv_first", "conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last"):
        assert getattr(fast, name).weight.dtype == torch.float32, name
    assert not any(isinstance(m, Bf16DenseBlock) for m in net.modules())
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert bf16_trunk(fast) is fast  # converting twice is a no-op


@pytest.mark.parametrize("scale", [4, 2])  # x2: pixel-unshuffle input, odd sizes padded
@torch.no_grad()
def test_closer_to_float32_than_whole_network_autocast(scale):
    net = _net(scale)
    x = torch.rand(2, 3, 20, 23)
    ref = net(x)
    trunk = bf16_trunk(net)(x)
    assert trunk.dtype == torch.float32 and trunk.shape == ref.shape
    with torch.autocast("cpu", torch.bfloat16):
        whole = net(x).float()
    err_trunk, err_whole = (trunk - ref).abs().max(), (whole - ref).abs().max()
    assert 0 < err_trunk < err_whole / 3, (err_trunk, err_whole)
    # upscale_batch's bf16 is this policy (converted per call, or once beforehand)
    once = bf16_trunk(net)
    assert torch.equal(upscale_batch(net, x, amp="bf16"), upscale_batch(once, x, amp="bf16"))
    assert torch.equal(upscale_batch(once, x, amp="bf16"), trunk.clamp(0, 1))


@torch.no_grad()
def test_channels_last_layout_is_kept_and_gives_the_same_result():
    net = _net()
    nhwc = bf16_trunk(net.to(memory_format=torch.channels_last))
    convs = [m for m in nhwc.modules() if isinstance(m, nn.Conv2d)]
    assert all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in convs)
    x = torch.rand(1, 3, 16, 16)
    nchw = bf16_trunk(net.to(memory_format=torch.contiguous_format))
    a = nchw(x)
    b = nhwc(x.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(a, b, atol=2e-3), (a - b).abs().max()


def test_bf16_needs_an_rrdbnet():
    with pytest.raises(ValueError, match="needs an RRDBNet"):
        upscale_batch(torch.nn.Identity(), torch.rand(1, 3, 8, 8), amp="bf16")
