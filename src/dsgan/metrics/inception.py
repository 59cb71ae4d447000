"""The standard FID Inception-v3 (torch-fidelity's ``FeatureExtractorInceptionV3``) and its features.

The weights are the TensorFlow 2015-12-05 graph converted by torch-fidelity
(``weights-inception-2015-12-05-6726825d.pth``). They are found with
:func:`dsgan.weights.resolve_weights`: an explicit file, else the torch hub cache; never random.
The file is read safely (``weights_only=True`` or safetensors) before torch-fidelity sees it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from dsgan.errors import UserError
from dsgan.weights import load_state_dict, resolve_weights

INCEPTION_FEATURE = "2048"  # pool3 features, as FID/KID use
INCEPTION_OPTION = "--inception-weights"


def inception_weights_path(
    weights: str | Path | None = None, option: str = INCEPTION_OPTION
) -> Path:
    """Path of the FID Inception weight file (explicit, else torch hub cache) or a ``UserError``."""
    return resolve_weights("inception_fid", weights, option)


def load_inception(weights: str | Path | None = None, option: str = INCEPTION_OPTION) -> nn.Module:
    """Build torch-fidelity's FID Inception-v3 from a local weight file.

    Args:
        weights: a weight file, or None for the torch hub cache (``$TORCH_HOME/hub/checkpoints``).
        option: the option that sets ``weights``, for error messages.

    Returns:
        a frozen module in eval mode: (N, 3, H, W) uint8 -> tuple with one (N, 2048) float32 tensor.

    Raises:
        UserError: file missing, unsafe to load, or not the Inception key layout.
    """
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    path = inception_weights_path(weights, option)
    state = load_state_dict(path)  # safe read; torch-fidelity itself would unpickle freely
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    try:
        model = FeatureExtractorInceptionV3(
            "inception-v3-compat", [INCEPTION_FEATURE], feature_extractor_weights_path=buf
        )
    except RuntimeError as exc:
        raise UserError(
            f"{path}: not torch-fidelity Inception-v3 weights ({str(exc).splitlines()[0][:200]})"
        ) from exc
    return model.eval()


def to_uint8_batch(images: Sequence[torch.Tensor]) -> torch.Tensor:
    """Stack (3, H, W) float images in [0, 1] (same size) into (N, 3, H, W) uint8, rounded."""
    return torch.stack([im.detach().float().clamp(0, 1).mul(255).round() for im in images]).to(
        torch.uint8
    )


@torch.no_grad()
def inception_features(
    images: Sequence[torch.Tensor],
    model: nn.Module,
    batch_size: int = 16,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Pool3 features of each image.

    Args:
        images: (3, H, W) float tensors in [0, 1], any sizes (the extractor resizes to 299x299 with
            TensorFlow-compatible bilinear interpolation, as the reference FID code).
        model: from :func:`load_inception`.
        batch_size: images per forward pass (only same-size images are batched together).

    Returns:
        (N, 2048) float64 tensor on the CPU, in input order.
    """
    model = model.to(device)
    out: list[torch.Tensor | None] = [None] * len(images)
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for i, im in enumerate(images):
        by_shape.setdefault(tuple(im.shape), []).append(i)
    for idx in by_shape.values():
        for start in range(0, len(idx), batch_size):
            chunk = idx[start : start + batch_size]
            x = to_uint8_batch([images[i] for i in chunk]).to(device)
            (feats,) = model(x)
            for j, i in enumerate(chunk):
                out[i] = feats[j].double().cpu()
    return torch.stack(out)  # type: ignore[arg-type]
