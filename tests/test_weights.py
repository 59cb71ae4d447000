"""Pretrained weight files: explicit path, torch hub cache, clear errors, never random fallbacks.

The files are generated here with random values. Classifier layers (unused by the perceptual losses
but required by strict loading) are stored as zero-stride views so each file stays a few MB.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision

from dsgan.errors import UserError
from dsgan.losses.perceptual import VGGPerceptualLoss, build_lpips, build_perceptual_loss
from dsgan.weights import hub_checkpoint_dir, load_state_dict, resolve_weights

VGG_FILE = "vgg19-dcbb9e9d.pth"
ALEX_FILE = "alexnet-owt-7be5be79.pth"


def compact_state(model: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """State dict with random ``features`` and tiny zero-stride ``classifier`` tensors."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for key, value in model.state_dict().items():
        if key.startswith("features."):
            out[key] = torch.randn(value.shape, generator=g) * 0.05
        else:
            out[key] = torch.zeros(1).expand(value.shape)
    return out


@pytest.fixture(scope="module")
def vgg_state() -> dict[str, torch.Tensor]:
    with torch.device("meta"):
        model = torchvision.models.vgg19(weights=None)
    return compact_state(model, seed=0)


@pytest.fixture(scope="module")
def alex_state() -> dict[str, torch.Tensor]:
    with torch.device("meta"):
        model = torchvision.models.alexnet(weights=None)
    return compact_state(model, seed=1)


@pytest.fixture
def hub(tmp_path: Path, monkeypatch) -> Path:
    """An empty torch hub cache under a temporary TORCH_HOME; downloads disabled."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv("DSGAN_ALLOW_DOWNLOAD", raising=False)
    monkeypatch.setattr(torch.hub, "_hub_dir", None)  # undo any earlier torch.hub.set_dir
    folder = hub_checkpoint_dir()
    assert folder == tmp_path / "torch_home" / "hub" / "checkpoints"
    return folder


def images(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, 32, 32, generator=g), torch.rand(1, 3, 32, 32, generator=g)


def test_vgg_from_explicit_file(tmp_path: Path, vgg_state, hub):
    path = tmp_path / "my_vgg.pth"
    torch.save(vgg_state, path)
    assert path.stat().st_size < 100e6
    loss = VGGPerceptualLoss(path, layer="conv2_2")
    # the loaded weights are the file's, not a random init
    torch.testing.assert_close(loss.net.features[5].weight, vgg_state["features.5.weight"])
    assert not any(p.requires_grad for p in loss.parameters())
    x, y = images()
    value = loss(x, y)
    assert value.ndim == 0 and torch.isfinite(value) and value > 0
    assert loss(x, x).item() == 0.0
    x.requires_grad_(True)
    loss(x, y).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_vgg_found_in_hub_cache(vgg_state, hub):
    hub.mkdir(parents=True)
    torch.save(vgg_state, hub / VGG_FILE)
    assert resolve_weights("vgg19", None, "--perceptual-weights") == hub / VGG_FILE
    loss = build_perceptual_loss("vgg")
    assert isinstance(loss, VGGPerceptualLoss)
    torch.testing.assert_close(loss.net.features[0].weight, vgg_state["features.0.weight"])
    x, y = images(1)
    assert torch.isfinite(loss(x, y))


def test_vgg_missing_without_downloads_is_a_clear_error(hub):
    with pytest.raises(UserError) as info:
        VGGPerceptualLoss(None)
    msg = str(info.value)
    assert VGG_FILE in msg and "--perceptual-weights" in msg and "DSGAN_ALLOW_DOWNLOAD" in msg
    assert str(hub) in msg


def test_explicit_file_missing(tmp_path: Path, hub):
    with pytest.raises(UserError, match=r"nowhere\.pth.*--my-option"):
        resolve_weights("vgg19", tmp_path / "nowhere.pth", "--my-option")


def test_wrong_architecture_is_a_user_error(tmp_path: Path, hub, alex_state):
    path = tmp_path / "alex_as_vgg.pth"
    torch.save(alex_state, path)
    with pytest.raises(UserError, match=r"alex_as_vgg\.pth.*VGG19"):
        VGGPerceptualLoss(path)


def test_load_state_dict_formats_and_refusals(tmp_path: Path):
    state = {"a": torch.arange(3.0)}
    torch.save({"state_dict": state}, tmp_path / "wrapped.pth")
    torch.testing.assert_close(load_state_dict(tmp_path / "wrapped.pth")["a"], state["a"])
    from safetensors.torch import save_file

    save_file(state, str(tmp_path / "w.safetensors"))
    torch.testing.assert_close(load_state_dict(tmp_path / "w.safetensors")["a"], state["a"])
    (tmp_path / "bad.safetensors").write_bytes(b"junk")
    with pytest.raises(UserError, match=r"bad\.safetensors"):
        load_state_dict(tmp_path / "bad.safetensors")
    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(UserError, match="expected a state dict"):
        load_state_dict(tmp_path / "list.pth")
    torch.save({"model": torch.nn.Linear(1, 1)}, tmp_path / "module.pth")  # needs code to load
    with pytest.raises(UserError, match=r"module\.pth.*never pickled code"):
        load_state_dict(tmp_path / "module.pth")


def test_lpips_with_generated_alexnet(tmp_path: Path, alex_state, hub):
    path = tmp_path / "alex.pth"
    torch.save(alex_state, path)
    model = build_lpips(path)
    torch.testing.assert_close(model.net.slice1[0].weight, alex_state["features.0.weight"])
    x, y = images(2)
    d_xy = model(x * 2 - 1, y * 2 - 1)
    assert d_xy.shape == (1, 1, 1, 1) and torch.isfinite(d_xy).all() and d_xy.item() > 0
    assert model(x * 2 - 1, x * 2 - 1).abs().max() < 1e-6
    # the same through the hub cache, and a clear error when it is absent
    with pytest.raises(UserError, match=ALEX_FILE):
        build_lpips(None)
    hub.mkdir(parents=True)
    torch.save(alex_state, hub / ALEX_FILE)
    assert torch.isfinite(build_lpips(None)(x * 2 - 1, y * 2 - 1)).all()


def test_lpips_rejects_non_alexnet(tmp_path: Path, hub, vgg_state):
    path = tmp_path / "vgg_as_alex.pth"
    torch.save({k: v for k, v in vgg_state.items() if k.startswith("features.3")}, path)
    with pytest.raises(UserError, match=r"vgg_as_alex\.pth.*AlexNet"):
        build_lpips(path)
