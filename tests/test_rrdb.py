"""RRDBNet (ESRGAN generator), checkpoint-format conversion, and the VGG-style discriminator."""

from __future__ import annotations

import pytest
import torch

from dsgan.checkpoints.esrgan import infer_arch, load_rrdb_state, rrdb_from_state
from dsgan.errors import UserError
from dsgan.models import RRDB_PRESETS, RRDBNet, VGGDiscriminator
from dsgan.models.rrdb import count_parameters

TINY = {"nf": 8, "nb": 2, "gc": 4}


def test_default_parameter_count_is_esrgan() -> None:
    with torch.device("meta"):
        net = RRDBNet()
    assert count_parameters(net) == 16_697_987
    assert RRDB_PRESETS["esrgan"] == {"nf": 64, "nb": 23, "gc": 32}


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_output_shapes(scale: int) -> None:
    net = RRDBNet(scale=scale, **TINY)
    out = net(torch.rand(2, 3, 10, 14))
    assert out.shape == (2, 3, 10 * scale, 14 * scale)
    odd = net(torch.rand(1, 3, 7, 9))  # x2/x1: edge-padded for the pixel-unshuffle
    assert odd.shape == (1, 3, 7 * scale, 9 * scale)


def test_small_preset_builds() -> None:
    net = RRDBNet.from_preset("small", scale=2)
    assert net.arch == {"in_ch": 3, "out_ch": 3, "nf": 32, "nb": 4, "gc": 16, "scale": 2}
    with pytest.raises(ValueError, match="preset"):
        RRDBNet.from_preset("huge")


def _old_esrgan_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in state.items():
        k = "RRDB_trunk." + k[5:] if k.startswith("body.") else k
        k = k.replace("conv_body", "trunk_conv")
        k = (
            k.replace("conv_up1", "upconv1")
            .replace("conv_up2", "upconv2")
            .replace("conv_hr", "HRconv")
        )
        for i in (1, 2, 3):
            k = k.replace(f".rdb{i}.", f".RDB{i}.")
        out[k] = v
    return out


def _original_esrgan_names(state: dict[str, torch.Tensor], nb: int) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in state.items():
        if k.startswith("body."):
            _, n, rdb, conv, p = k.split(".")
            k = f"model.1.sub.{n}.RDB{rdb[-1]}.{conv}.0.{p}"
        else:
            name, p = k.split(".")
            idx = {
                "conv_first": "0",
                "conv_body": f"1.sub.{nb}",
                "conv_up1": "3",
                "conv_up2": "6",
                "conv_hr": "8",
                "conv_last": "10",
            }[name]
            k = f"model.{idx}.{p}"
        out[k] = v
    return out


@pytest.mark.parametrize("layout", ["basicsr", "params", "params_ema", "old", "original", "module"])
@pytest.mark.parametrize("scale", [2, 4])
def test_checkpoint_round_trip(tmp_path, layout: str, scale: int) -> None:
    net = RRDBNet(scale=scale, **TINY).eval()
    state = net.state_dict()
    saved: dict = {
        "basicsr": state,
        "params": {"params": state},
        "params_ema": {"params_ema": state, "params": {k: v * 0 for k, v in state.items()}},
        "old": _old_esrgan_names(state),
        "original": _original_esrgan_names(state, TINY["nb"]),
        "module": {f"module.{k}": v for k, v in state.items()},
    }[layout]
    path = tmp_path / "g.pth"
    torch.save(saved, path)
    loaded = load_rrdb_state(path)
    assert set(loaded) == set(state)
    assert infer_arch(loaded) == net.arch
    net2 = rrdb_from_state(loaded).eval()
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(net2(x), net(x), rtol=0, atol=0)


def test_checkpoint_with_code_is_refused(tmp_path) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"params": {"x": torch.zeros(1)}, "obj": UserError("x")}, path)
    with pytest.raises(UserError, match="cannot load safely"):
        load_rrdb_state(path)


def test_not_a_generator(tmp_path) -> None:
    with pytest.raises(UserError, match="not an RRDBNet"):
        rrdb_from_state({"foo.weight": torch.zeros(1)})


@pytest.mark.parametrize("size", [32, 48, 128])
def test_vgg_discriminator_any_patch(size: int) -> None:
    d = VGGDiscriminator(nf=8)
    assert d(torch.rand(2, 3, size, size)).shape == (2, 1)


def test_vgg_discriminator_layout_and_min_size() -> None:
    with torch.device("meta"):
        d = VGGDiscriminator()
    assert count_parameters(d) == 14_499_401  # ESRGAN's Discriminator_VGG_128
    assert d.linear1.in_features == 512 * 4 * 4
    with pytest.raises(ValueError, match="at least 32"):
        VGGDiscriminator(nf=4)(torch.rand(1, 3, 16, 16))
