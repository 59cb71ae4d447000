"""Load a DSGAN generator for inference from any of the files a user may have.

Accepted: a run directory (its ``generator.safetensors``, else its latest checkpoint), one of our
``.safetensors`` checkpoints, or the authors' released ``.pth`` (dict with ``model_g_state_dict``,
read with ``weights_only=True``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dsgan.config.dsgan import ModelConfig
from dsgan.errors import UserError
from dsgan.models.dsgan import Generator, generator_from_config
from dsgan.training import checkpoint as ckpt


def _from_safetensors(path: Path) -> tuple[Generator, dict[str, Any]]:
    groups, meta = ckpt.read_weights(path)
    if not str(meta.get("kind", "")).startswith("dsgan") or "g" not in groups:
        raise UserError(
            f"{path}: a {meta.get('kind', 'unknown')!r} checkpoint, not a DSGAN generator; "
            "pass the generator.safetensors of a `dsgan train` run"
        )
    config = ckpt.checkpoint_config(path, meta)
    model = config.get("model", {})

    def build() -> Generator:
        if not isinstance(model, dict):
            raise TypeError("its model section is not a mapping")
        known = {k: v for k, v in model.items() if k in ModelConfig.model_fields}
        return generator_from_config(ModelConfig.model_validate(known).model_dump())  # ranges

    g = ckpt.build_checked(path, build, groups["g"])
    assert isinstance(g, Generator)
    info = {
        "scale": config.get("data", {}).get("scale"),
        "step": meta.get("step"),
        "config": config,
        "source": str(path),
    }
    return g, info


def load_generator(source: str | Path) -> tuple[Generator, dict[str, Any]]:
    """Returns (generator in eval mode, info with ``scale`` (int or None) and ``source``)."""
    path = Path(source)
    if path.is_dir():
        exported = path / "generator.safetensors"
        if exported.is_file():
            path = exported
        else:
            found = ckpt.latest_checkpoint(path / "checkpoints")
            if found is None:
                raise UserError(f"{path}: no generator.safetensors and no checkpoints in it")
            path = found[0]
    if not path.is_file():
        raise UserError(f"{path}: checkpoint not found")
    if path.suffix == ".safetensors":
        g, info = _from_safetensors(path)
    else:
        from dsgan.models.authors import load_authors_checkpoint

        g, _, extra = load_authors_checkpoint(path)
        info = {"scale": 4, "step": extra.get("iteration"), "config": {}, "source": str(path)}
    return g.eval(), info
