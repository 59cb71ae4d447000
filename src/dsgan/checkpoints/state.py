"""Training state (``step_N.state.pt``): optimiser, scheduler and random-generator states.

Written with ``torch.save`` (through the atomic writer, :func:`dsgan.checkpoints.files.save_checkpoint`)
and read back with ``torch.load(weights_only=True)``: only tensors and plain containers are ever
loaded, so a tampered file cannot run code.
"""

from __future__ import annotations

import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dsgan.errors import DamagedCheckpoint, UserError


def rng_state() -> dict[str, Any]:
    """Python, NumPy and torch (CPU and CUDA) random states, in weights_only-loadable types."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": list(random.getstate()[1]),
        "python_pos": random.getstate()[2],
        "numpy": torch.from_numpy(np_state[1].astype(np.int64)),
        "numpy_pos": int(np_state[2]),
        "numpy_gauss": [int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate((3, tuple(state["python"]), state["python_pos"]))
    np.random.set_state(
        (
            "MT19937",
            state["numpy"].numpy().astype(np.uint32),
            state["numpy_pos"],
            *state.get("numpy_gauss", (0, 0.0)),
        )
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def read_state(path: Path) -> dict[str, Any]:
    """Training state, loaded without executing code (a pickle with code is refused)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # weights_only refused a global: code in the pickle
        raise UserError(
            f"{path}: refused to load training state: it holds objects other than tensors and "
            "plain containers (only those are ever loaded)"
        ) from exc
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        what = "truncated" if "central directory" in str(exc) or isinstance(exc, EOFError) else ""
        raise DamagedCheckpoint(
            path, f"{what or 'unreadable'} training state: {type(exc).__name__}"
        ) from exc
