"""Finding pretrained weight files without ever falling back to random weights.

Order (as timm does it): an explicit file the user passes, then the torch hub cache
(``$TORCH_HOME/hub/checkpoints``, where torchvision and torch-fidelity keep downloads), then a
download only when ``DSGAN_ALLOW_DOWNLOAD=1``. Otherwise a :class:`UserError` names the file, where to
put it, and the option to pass instead. Files are read with ``weights_only=True`` or safetensors.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from dsgan.errors import UserError

# torchvision's published ImageNet weights (file name = what torchvision caches).
KNOWN_WEIGHTS: dict[str, str] = {
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    "alexnet": "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "inception_fid": "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
}


def hub_checkpoint_dir() -> Path:
    """The torch hub cache folder for weight files."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def downloads_allowed() -> bool:
    return os.environ.get("DSGAN_ALLOW_DOWNLOAD", "0") == "1"


def resolve_weights(name: str, explicit: str | Path | None, option: str) -> Path:
    """Path of the weight file for ``name`` (a key of :data:`KNOWN_WEIGHTS`).

    Args:
        name: which weights.
        explicit: a file the user passed, used as is (must exist).
        option: the CLI option/config key that sets ``explicit``, for the error message.
    """
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise UserError(f"{path}: weight file not found (given by {option})")
        return path
    url = KNOWN_WEIGHTS[name]
    filename = url.rsplit("/", 1)[-1]
    cached = hub_checkpoint_dir() / filename
    if cached.is_file():
        return cached
    if downloads_allowed():
        cached.parent.mkdir(parents=True, exist_ok=True)
        try:
            torch.hub.download_url_to_file(url, str(cached), progress=True)
        except Exception as exc:  # network errors come in many types
            raise UserError(f"could not download {url} ({exc})") from exc
        return cached
    raise UserError(
        f"pretrained {name} weights not found: expected {cached} (the torch hub cache). "
        f"Copy {filename} there (from {url}), pass the file with {option}, "
        f"or set DSGAN_ALLOW_DOWNLOAD=1 to download it."
    )


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict from .safetensors or a torch file, never executing pickled code."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as exc:
            raise UserError(f"{path}: not a valid safetensors file ({exc})") from exc
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(
            f"{path}: cannot load safely ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
            "only plain tensors are accepted, never pickled code"
        ) from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise UserError(f"{path}: expected a state dict, found {type(state).__name__}")
    return state
