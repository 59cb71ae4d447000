"""Device selection: never hard-code a device; ``auto`` picks cuda, then mps, then cpu."""

from __future__ import annotations

import torch

from dsgan.errors import UserError


def resolve_device(name: str = "auto") -> torch.device:
    """Return the torch device for ``name`` (``auto``, ``cpu``, ``cuda``, ``cuda:1``, ``mps``)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise UserError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from exc
    if device.type == "meta":  # holds no data: cannot train or infer
        raise UserError(
            f"--device {name}: holds no data, nothing can run on it; use auto, cpu, cuda or mps"
        )
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {name}: CUDA is not available here; use --device cpu or auto")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise UserError(f"--device {name}: MPS is not available here; use --device cpu or auto")
    return device


# the exceptions an out-of-memory device raises (torch >= 2.1 has torch.OutOfMemoryError)
OOM_ERRORS: tuple[type[BaseException], ...] = tuple(
    e
    for e in (
        getattr(torch, "OutOfMemoryError", None),
        getattr(torch.cuda, "OutOfMemoryError", None),
    )
    if e is not None
)
