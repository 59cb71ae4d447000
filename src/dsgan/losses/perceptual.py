"""Perceptual losses on ImageNet-pretrained features: VGG19 (the seed, ESRGAN) and LPIPS (authors).

Weights are never random: :func:`dsgan.weights.resolve_weights` finds the torchvision file or raises a
clear error. Inputs are images in [0, 1]; ImageNet normalisation is done here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
import torchvision
from torch import nn

from dsgan.weights import load_state_dict, resolve_weights

# torchvision vgg19().features indices of the named layers (conv before its ReLU).
VGG19_LAYERS = {"conv1_2": 2, "conv2_2": 7, "conv3_4": 16, "conv4_4": 25, "conv5_4": 34}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGGFeatures(nn.Module):
    """Frozen VGG19 ``features`` truncated after ``layer`` (pre-activation, as ESRGAN).

    Shapes: (N, 3, H, W) in [0, 1] -> (N, 512, H/16, W/16) for conv5_4.
    """

    def __init__(
        self,
        weights: str | Path | None = None,
        layer: str = "conv5_4",
        option: str = "--perceptual-weights",
    ) -> None:
        super().__init__()
        path = resolve_weights("vgg19", weights, option)
        # Built on the meta device and filled by assignment: a random init of VGG19's 143M
        # parameters (seconds on a CPU, 550 MB) would only be overwritten.
        with torch.device("meta"):
            vgg = torchvision.models.vgg19(weights=None)
        state = load_state_dict(path)
        try:
            vgg.load_state_dict(state, strict=True, assign=True)
        except RuntimeError as exc:
            from dsgan.errors import UserError

            raise UserError(f"{path}: not torchvision VGG19 weights ({str(exc)[:200]})") from exc
        self.features = vgg.features[: VGG19_LAYERS[layer] + 1].eval()
        self.features.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> VGGFeatures:
        super().train(mode)
        self.features.eval()  # always frozen
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features((x - self.mean) / self.std)


class VGGPerceptualLoss(nn.Module):
    """Distance between VGG19 features of x and y (``l1`` as ESRGAN, ``mse`` as the authors' DSGAN)."""

    def __init__(
        self,
        weights: str | Path | None = None,
        layer: str = "conv5_4",
        criterion: Literal["l1", "mse"] = "l1",
    ) -> None:
        super().__init__()
        self.net = VGGFeatures(weights, layer)
        self.criterion = nn.L1Loss() if criterion == "l1" else nn.MSELoss()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x, y: (N, 3, H, W) in [0, 1] -> scalar."""
        return self.criterion(self.net(x), self.net(y.detach()))


def build_lpips(weights: str | Path | None = None, option: str = "--lpips-weights") -> nn.Module:
    """LPIPS (AlexNet) with its linear layers from the ``lpips`` package and the AlexNet backbone
    from torchvision weights (explicit file or torch hub cache). Returns a frozen module mapping
    two (N, 3, H, W) images in [-1, 1] (LPIPS's convention; pass ``normalize=True`` for [0, 1]
    inputs) to (N, 1, 1, 1) distances.
    """
    import lpips

    from dsgan.errors import UserError

    path = resolve_weights("alexnet", weights, option)
    state = load_state_dict(path)
    model = lpips.LPIPS(net="alex", pretrained=True, pnet_rand=True, verbose=False)
    mapped = {}
    for name, _ in model.net.named_parameters():
        _, idx, kind = name.split(".")  # sliceK.IDX.weight
        key = f"features.{idx}.{kind}"
        if key not in state:
            raise UserError(f"{path}: missing {key}; not torchvision AlexNet weights")
        mapped[name] = state[key]
    model.net.load_state_dict(mapped, strict=True)
    model.eval().requires_grad_(False)
    return model


class LPIPSLoss(nn.Module):
    """Mean LPIPS distance; inputs in [0, 1] (scaled to [-1, 1] for LPIPS)."""

    def __init__(self, weights: str | Path | None = None) -> None:
        super().__init__()
        self.net = build_lpips(weights, option="--perceptual-weights")

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(x * 2 - 1, y.detach() * 2 - 1).mean()


def build_perceptual_loss(
    kind: Literal["vgg", "lpips", "none"], weights: str | Path | None = None
) -> nn.Module | None:
    """The perceptual loss module for a config value, or None for ``none``."""
    if kind == "none":
        return None
    if kind == "vgg":
        return VGGPerceptualLoss(weights, criterion="mse")
    return LPIPSLoss(weights)
