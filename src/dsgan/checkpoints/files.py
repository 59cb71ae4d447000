"""Safe, atomic checkpoints.

A checkpoint of step N is two files in ``RUN/checkpoints``:

* ``step_N.safetensors``: every network's weights, keys prefixed ``<net>.`` (e.g. ``g.``, ``d.``);
  the header metadata holds ``dsgan_version``, ``kind`` (``dsgan``/``sr``), ``step`` and the
  resolved ``config`` as JSON. It alone is enough for inference.
* ``step_N.state.pt``: optimiser, scheduler and random-generator states, read back with
  ``torch.load(weights_only=True)``, so a tampered file cannot run code.

Both are written to temporary names and renamed; ``latest.json`` is replaced last, so a kill at any
moment leaves the previous checkpoint intact and pointed to.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes

from dsgan import __version__
from dsgan.errors import DamagedCheckpoint, UserError
from dsgan.io.atomic import write_atomic, write_text_atomic

LATEST = "latest.json"


def save_checkpoint(
    folder: Path,
    step: int,
    nets: dict[str, torch.nn.Module],
    state: dict[str, Any],
    kind: str,
    config_json: str,
    keep: int = 3,
) -> Path:
    """Write step ``step``; keep it and the ``keep - 1`` newest older ones. Returns the weights path."""
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / f"step_{step:08d}.safetensors"
    state_path = folder / f"step_{step:08d}.state.pt"
    write_atomic(state_path, lambda fh: torch.save(state, fh), "checkpoint")
    save_weights(weights, step, nets, kind, config_json)
    latest = {"step": step, "weights": weights.name, "state": state_path.name}
    write_text_atomic(folder / LATEST, json.dumps(latest))
    # keep the new checkpoint and the keep-1 newest *older* ones; higher-numbered files are
    # left over from a run this one replaced (e.g. after a rollback) and go too
    older = sorted(p for p in folder.glob("step_*.safetensors") if _step_of(p) < step)
    stale = [p for p in folder.glob("step_*.safetensors") if _step_of(p) > step]
    for old in older[: max(0, len(older) - (keep - 1))] + stale:
        old.unlink(missing_ok=True)
        old.with_name(old.name.replace(".safetensors", ".state.pt")).unlink(missing_ok=True)
    return weights


def _step_of(path: Path) -> int:
    return int(path.name.split("_")[1].split(".")[0])


def save_weights(
    path: Path, step: int, nets: dict[str, torch.nn.Module], kind: str, config_json: str
) -> None:
    """Atomically write the networks' weights (keys ``<net>.<param>``) with metadata."""
    tensors = {
        f"{name}.{k}": v.detach().cpu().contiguous()
        for name, net in nets.items()
        for k, v in unwrap(net).state_dict().items()
    }
    meta = {
        "dsgan_version": __version__,
        "kind": kind,
        "step": str(step),
        "config": config_json,
        "nets": ",".join(nets),
    }
    blob = safetensors_bytes(
        tensors, metadata=meta
    )  # bytes: written through write_atomic's error mapping
    write_atomic(path, lambda fh: fh.write(blob), "checkpoint")


def unwrap(net: torch.nn.Module) -> torch.nn.Module:
    """The plain module inside DDP / torch.compile wrappers."""
    net = getattr(net, "module", net)
    return getattr(net, "_orig_mod", net)


def latest_checkpoint(folder: Path) -> tuple[Path, Path] | None:
    """(weights, state) of the newest complete checkpoint in ``folder``, or None."""
    pointer = folder / LATEST
    if not pointer.is_file():
        return None
    try:
        info = json.loads(pointer.read_text())
        names = [info["weights"], info["state"]]
        if not all(isinstance(n, str) and n == Path(n).name for n in names):
            raise ValueError("file names expected")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(
            f"damaged checkpoint: {pointer} (not a checkpoint pointer: {exc}); delete it: a "
            "resume then starts from the newest complete checkpoint"
        ) from exc
    weights, state = folder / names[0], folder / names[1]
    if not (weights.is_file() and state.is_file()):
        raise UserError(f"{pointer}: points to missing files {weights.name} / {state.name}")
    return weights, state


def checkpoint_files(folder: Path) -> list[Path]:
    """Every checkpoint file (``step_*.safetensors`` / ``.state.pt``) in ``folder``."""
    return sorted(folder.glob("step_*.safetensors")) + sorted(folder.glob("step_*.state.pt"))


def newest_complete(folder: Path) -> tuple[Path, Path] | None:
    """(weights, state) of the highest step with both files, ignoring ``latest.json`` (for a run
    whose pointer is lost), or None."""
    for weights in sorted(folder.glob("step_*.safetensors"), key=_step_of, reverse=True):
        state = weights.with_name(weights.name.replace(".safetensors", ".state.pt"))
        if state.is_file():
            return weights, state
    return None


def checkpoint_config(path: Path, meta: dict[str, str]) -> dict[str, Any]:
    """The resolved config stored in a checkpoint's metadata (``{}`` if it has none).

    Raises:
        DamagedCheckpoint: the stored config is not a JSON object.
    """
    try:
        config = json.loads(meta.get("config") or "{}")
    except ValueError as exc:
        raise DamagedCheckpoint(path, f"its stored config is not valid JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise DamagedCheckpoint(path, "its stored config is not a mapping")
    return config


def build_checked(path: Path, build: Callable[[], torch.nn.Module], state: dict) -> torch.nn.Module:
    """``build()`` the network a checkpoint declares and load ``state`` into it, checking the
    shapes on a meta-device copy first: a damaged file that declares an enormous network fails
    here instead of allocating it.

    Raises:
        DamagedCheckpoint: the declaration is invalid, or the weights do not fit it.
    """
    try:
        with torch.device("meta"):
            shell = build()
    except (ValueError, TypeError, KeyError) as exc:  # pydantic's ValidationError is a ValueError
        raise DamagedCheckpoint(path, f"its stored config is invalid: {exc}") from exc
    want = {k: tuple(v.shape) for k, v in shell.state_dict().items()}
    have = {k: tuple(v.shape) for k, v in state.items()}
    if want != have:
        diff = sorted(set(want) ^ set(have)) or [k for k in want if want[k] != have[k]]
        raise DamagedCheckpoint(
            path, f"weights do not fit the architecture it declares (e.g. {', '.join(diff[:3])})"
        )
    net = build()
    net.load_state_dict(state)
    return net


def read_weights(path: Path) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, str]]:
    """Weights grouped by network prefix, and the metadata, of a ``.safetensors`` checkpoint."""
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
            groups: dict[str, dict[str, torch.Tensor]] = {}
            for key in fh.keys():  # noqa: SIM118 - safe_open has no __iter__
                net, _, name = key.partition(".")
                groups.setdefault(net, {})[name] = fh.get_tensor(key)
    except Exception as exc:
        raise DamagedCheckpoint(path, f"not a readable safetensors checkpoint: {exc}") from exc
    return groups, meta
