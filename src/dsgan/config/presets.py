"""Named DSGAN recipes shipped inside the package (``dsgan train --preset NAME``).

Each preset is a YAML file in ``dsgan/presets/``, installed with the package, so a user outside a
clone has them. A preset is the base of a run's config: ``--config`` YAML, flags and ``--set``
override it (``dsgan.cli.common.resolve_run_config``).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from dsgan.config.base import read_yaml
from dsgan.errors import UserError

#: the recipe ``dsgan train`` uses when none is named
DEFAULT_PRESET = "camera"

#: one line per preset, for ``--help`` and error messages
DESCRIPTIONS = {
    "camera": "default: learned sensor noise, DSGAN's residual network (which also makes the "
    "blur) and a JPEG stage that can switch itself off (real LR of unknown degradation)",
    "noise": "DSGAN's residual network with noise input (sensor noise without JPEG)",
    "jpeg": "`noise` plus an always-on JPEG stage of learned quality (JPEG-compressed LR only)",
    "paper": "the paper's networks and losses (Fritsche et al. 2019), exactly",
}


def preset_names() -> list[str]:
    """The shipped presets, the default first."""
    return sorted(DESCRIPTIONS, key=lambda n: (n != DEFAULT_PRESET, n))


def load_preset(name: str) -> dict[str, Any]:
    """The preset's config tree (a dict to pass as ``base`` to ``load_config``)."""
    if name not in DESCRIPTIONS:
        raise UserError(f"unknown preset {name!r}; choose one of: {', '.join(preset_names())}")
    with resources.as_file(resources.files("dsgan.presets") / f"{name}.yaml") as path:
        return read_yaml(path)


def presets_help() -> str:
    """``--preset`` help text listing every preset."""
    items = "; ".join(f"{n}: {DESCRIPTIONS[n]}" for n in preset_names())
    return f"named recipe, the base of the config (default {DEFAULT_PRESET}). {items}"
