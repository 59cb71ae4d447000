"""Import the authors' DSGAN checkpoints (manuelfritsche/real-world-sr, ``dsgan/train.py``).

Their checkpoint is a ``torch.save`` of a dict::

    {"epoch": int, "iteration": int,
     "model_g_state_dict": {...}, "models_d_state_dict": {...},   # D optional here
     "optimizer_g_state_dict": ..., ...}

Generator keys are the same as ours (``block_input.0.weight``, ``res_blocks.N.conv1.weight``, ...,
sigmoid output). Their discriminator wraps a ``DiscriminatorBasic`` whose ``nn.Sequential`` is
``net.net``: indices 0/2/3/5/6 are our ``net.0/2/3/5/6`` and index 9 (the final 1x1 conv) is our
``gan_net``. The Gaussian high-pass variant also stores a fixed ``filter.*`` kernel, which we ignore
(our losses apply the filter themselves).

Files are read with ``torch.load(weights_only=True)``: a pickle that needs code is refused, never run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from dsgan.errors import UserError
from dsgan.models.dsgan import Discriminator, Generator

_RES_BLOCK = re.compile(r"^res_blocks\.(\d+)\.")
_D_INDEX = {"0": "net.0", "2": "net.2", "3": "net.3", "5": "net.5", "6": "net.6", "9": "gan_net"}


def _strip_module(state: dict[str, Any]) -> dict[str, Any]:
    """Drop a DataParallel ``module.`` prefix if every key has it."""
    if state and all(k.startswith("module.") for k in state):
        return {k[len("module.") :]: v for k, v in state.items()}
    return state


def _map_discriminator(state: dict[str, Any], path: Path) -> dict[str, torch.Tensor]:
    mapped: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.startswith("filter."):
            continue  # fixed high-pass kernel of their Gaussian variant, not a D parameter
        parts = key.split(".")
        if len(parts) != 4 or parts[:2] != ["net", "net"] or parts[2] not in _D_INDEX:
            raise UserError(
                f"{path}: unexpected discriminator key {key!r} in models_d_state_dict; "
                "not a DSGAN discriminator of manuelfritsche/real-world-sr"
            )
        mapped[f"{_D_INDEX[parts[2]]}.{parts[3]}"] = value
    return mapped


def _load_strict(net: torch.nn.Module, state: dict[str, Any], path: Path, what: str) -> None:
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:3])[:400]
        raise UserError(f"{path}: {what} weights do not match the DSGAN {what} ({detail})") from exc


def load_authors_checkpoint(
    path: str | Path,
) -> tuple[Generator, Discriminator | None, dict[str, Any]]:
    """Build our networks from an authors' DSGAN checkpoint.

    Args:
        path: the authors' ``.tar``/``.pth`` checkpoint file.

    Returns:
        (generator, discriminator or None, info) where the generator has ``output="sigmoid"`` (as
        theirs) and ``n_res_blocks`` inferred from the keys, both networks are in eval mode on the
        CPU, and ``info`` holds ``epoch``, ``iteration``, ``n_res_blocks`` and ``source``.

    Raises:
        UserError: missing/unreadable file, a pickle that needs code to load, no
            ``model_g_state_dict``, or weights that do not fit the networks.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: checkpoint file not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        raise UserError(
            f"{path}: cannot load safely ({type(exc).__name__}: {first}); only tensors and plain "
            "containers are accepted, pickled code is never executed"
        ) from exc
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("model_g_state_dict"), dict):
        found = sorted(map(str, ckpt))[:8] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise UserError(
            f"{path}: not an authors' DSGAN checkpoint: no 'model_g_state_dict' (found {found})"
        )

    g_state = _strip_module(ckpt["model_g_state_dict"])
    blocks = {int(m.group(1)) for k in g_state if (m := _RES_BLOCK.match(k))}
    if not blocks or blocks != set(range(len(blocks))):
        raise UserError(f"{path}: model_g_state_dict has no consecutive res_blocks.N.* keys")
    in_weight = g_state.get("block_input.0.weight")
    if not isinstance(in_weight, torch.Tensor) or in_weight.ndim != 4:
        raise UserError(f"{path}: model_g_state_dict lacks block_input.0.weight")
    generator = Generator(
        n_res_blocks=len(blocks),
        channels=in_weight.shape[0],
        output="sigmoid",
        noise_channels=max(0, in_weight.shape[1] - 3),
    )
    _load_strict(generator, g_state, path, "generator")

    discriminator: Discriminator | None = None
    d_raw = ckpt.get("models_d_state_dict")
    if isinstance(d_raw, dict) and d_raw:
        d_state = _map_discriminator(_strip_module(d_raw), path)
        first = d_state.get("net.0.weight")
        if not isinstance(first, torch.Tensor) or first.ndim != 4:
            raise UserError(f"{path}: models_d_state_dict lacks net.net.0.weight")
        discriminator = Discriminator(in_channels=first.shape[1], channels=first.shape[0])
        _load_strict(discriminator, d_state, path, "discriminator")
        discriminator.eval()

    info = {
        "epoch": ckpt.get("epoch"),
        "iteration": ckpt.get("iteration"),
        "n_res_blocks": len(blocks),
        "source": str(path),
    }
    return generator.eval(), discriminator, info
