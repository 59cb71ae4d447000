"""Load a ready generator from whatever a user passes: a run directory or a file.

* :func:`load_generator`: a DSGAN generator, from a run directory, one of our ``.safetensors``
  files, or the authors' released ``.pth`` (dict with ``model_g_state_dict``);
* :func:`load_sr_model`: an SR generator (RRDBNet), from a run directory, one of our files, or a
  BasicSR / ESRGAN / Real-ESRGAN ``.pth`` or ``.safetensors``;
* :func:`sr_init_state`: the SR weights ``sr-train --init`` starts from (either kind of SR file);
* :func:`load_any_model`: either kind, told apart by the file (``dsgan export``).

A run directory means its ``generator.safetensors``, else its latest checkpoint
(:func:`resolve_source`). Pickles are read with ``weights_only=True``; a damaged file is one
:class:`~dsgan.errors.DamagedCheckpoint` error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from dsgan.checkpoints.authors import load_authors_checkpoint
from dsgan.checkpoints.esrgan import load_rrdb_state, rrdb_from_state
from dsgan.checkpoints.files import (
    build_checked,
    checkpoint_config,
    latest_checkpoint,
    read_weights,
)
from dsgan.errors import UserError
from dsgan.models.dsgan import Generator, generator_from_config
from dsgan.models.rrdb import RRDBNet

EXPORT = "generator.safetensors"  # what a finished run exports


def resolve_source(source: str | Path, checkpoint: bool = False) -> Path:
    """The file a user means: a run directory's exported generator, else its latest checkpoint;
    a file as it is. ``checkpoint``: a run directory's latest checkpoint even where it exported
    a generator (the checkpoint also holds D and the optimisers).

    Raises:
        UserError: nothing usable there.
    """
    path = Path(source)
    if path.is_dir():
        exported = path / EXPORT
        if exported.is_file() and not checkpoint:
            return exported
        found = latest_checkpoint(path / "checkpoints")
        if found is None:
            what = "no checkpoints" if checkpoint else f"no {EXPORT} and no checkpoints"
            raise UserError(f"{path}: {what} in it")
        return found[0]
    if not path.is_file():
        raise UserError(f"{path}: checkpoint not found")
    return path


# ------------------------------------------------------------------ DSGAN generators
def load_generator(source: str | Path) -> tuple[Generator, dict[str, Any]]:
    """Returns (generator in eval mode, info with ``scale`` (int or None), ``step``, ``config``
    and ``source``)."""
    path = resolve_source(source)
    if path.suffix == ".safetensors":
        g, info = _dsgan_from_safetensors(path)
    else:
        g, _, extra = load_authors_checkpoint(path)
        info = {"scale": 4, "step": extra.get("iteration"), "config": {}, "source": str(path)}
    return g.eval(), info


def _dsgan_from_safetensors(path: Path) -> tuple[Generator, dict[str, Any]]:
    groups, meta = read_weights(path)
    if not str(meta.get("kind", "")).startswith("dsgan") or "g" not in groups:
        raise UserError(
            f"{path}: a {meta.get('kind', 'unknown')!r} checkpoint, not a DSGAN generator; "
            "pass the generator.safetensors of a `dsgan train` run"
        )
    config = checkpoint_config(path, meta)
    model = config.get("model", {})

    def build() -> Generator:
        if not isinstance(model, dict):
            raise TypeError("its model section is not a mapping")
        # as stored (files of older versions load as they did); build_checked compares the
        # declared shapes with the weights' on the meta device before anything is allocated
        return generator_from_config(model)

    g = build_checked(path, build, _inference_weights(groups))
    assert isinstance(g, Generator)
    info = {
        "scale": config.get("data", {}).get("scale"),
        "step": meta.get("step"),
        "config": config,
        "source": str(path),
    }
    return g, info


# ------------------------------------------------------------------ SR generators
def load_sr_model(source: str | Path) -> tuple[RRDBNet, dict[str, Any]]:
    """(RRDBNet in eval mode, info with ``scale``, ``source``)."""
    path = resolve_source(source)
    net = _sr_from_ours(path) if path.suffix == ".safetensors" else None
    if net is None:
        net = rrdb_from_state(load_rrdb_state(path), source=str(path))
    return net.eval(), {"scale": net.scale, "source": str(path)}


def _sr_from_ours(path: Path) -> RRDBNet | None:
    """Our SR file as a network; None for a foreign safetensors state dict (no ``kind``)."""
    groups, meta = read_weights(path)
    kind = str(meta.get("kind", ""))
    if not kind:
        return None
    if not kind.startswith("sr") or "g" not in groups:
        raise UserError(
            f"{path}: a {kind!r} checkpoint, not an SR generator; pass the "
            "generator.safetensors of a `dsgan sr-train` run"
        )
    config = checkpoint_config(path, meta)
    if not config:
        return rrdb_from_state(_inference_weights(groups), source=str(path))
    from dsgan.config.sr import SRConfig

    def build() -> RRDBNet:
        cfg = SRConfig.model_validate(config)
        return RRDBNet(scale=cfg.data.scale, **cfg.model.arch())

    net = build_checked(path, build, _inference_weights(groups))
    assert isinstance(net, RRDBNet)
    return net


def _inference_weights(groups: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The weights a run infers with: a training checkpoint's moving average of G (``g_ema``)
    where it keeps one, as the run's export would hold; else G."""
    return groups.get("g_ema", groups["g"])


def sr_init_state(path: Path) -> dict:
    """G weights for ``sr-train --init``: our checkpoint/export (``g.`` group) or a BasicSR /
    ESRGAN file, as a state dict in BasicSR names."""
    if not path.is_file():
        raise UserError(f"--init {path}: file not found")
    if path.suffix == ".safetensors":
        groups, _ = read_weights(path)
        if "g" in groups and "conv_first.weight" in groups["g"]:
            return groups["g"]
    return load_rrdb_state(path)


# ------------------------------------------------------------------ either kind
def load_any_model(source: str | Path) -> tuple[str, Generator | RRDBNet, dict[str, Any]]:
    """("dsgan" | "sr", the network in eval mode, its info) for a run directory or a file: our
    ``.safetensors`` by their ``kind``; a ``.pth`` holding ``model_g_state_dict`` is the authors'
    DSGAN, any other an ESRGAN-family SR model."""
    path = resolve_source(source)
    if path.suffix == ".safetensors":
        _, meta = read_weights(path)
        is_dsgan = str(meta.get("kind", "")).startswith("dsgan")
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise UserError(
                f"{path}: cannot load safely ({type(exc).__name__}); only plain tensors are "
                "accepted, never pickled code"
            ) from exc
        is_dsgan = isinstance(state, dict) and "model_g_state_dict" in state
    if is_dsgan:
        g, info = load_generator(path)
        return "dsgan", g, info
    net, info = load_sr_model(path)
    return "sr", net, info
