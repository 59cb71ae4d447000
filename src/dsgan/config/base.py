"""Config plumbing shared by every command: strict pydantic models, YAML in and out, overrides.

pydantic gives type checking, strict keys (``extra="forbid"``: a misspelt key is an error, not a
silent default) and readable validation messages; YAML is the file format users edit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dsgan.errors import UserError

M = TypeVar("M", bound=BaseModel)

# yaml.safe_load raises more than YAMLError: ValueError for impossible dates ("2001-13-45",
# "0000-00-00"), RecursionError for absurdly deep nesting.
_YAML_ERRORS = (yaml.YAMLError, ValueError, OverflowError, RecursionError)


class StrictModel(BaseModel):
    """Base for configs: unknown keys rejected, instances immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class LoaderConfig(StrictModel):
    """What the training data sections of both trainers share: augmentation and loading."""

    flips: bool = True
    rotations: bool = True
    workers: int = Field(0, ge=0)
    cache_images: bool = True
    cache_gb: float | None = Field(
        None,
        ge=0,
        description="decoded images kept in memory, in GB (1e9 bytes) per process; the rest is"
        " decoded on demand in the loader workers. Default: a quarter of the machine's memory,"
        " shared by the processes of this node; cache_images false: none",
    )
    disk_cache: str | None = Field(
        "auto",
        min_length=1,
        description="folder that keeps images beyond the memory cache decoded (uncompressed,"
        " read by region), shared by runs on the same files; auto: $DSGAN_CACHE_DIR/decoded or"
        " ~/.cache/dsgan/decoded; null: decode them on every read",
    )


def set_by_path(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``tree["a"]["b"] = value`` for ``dotted == "a.b"``, creating sub-dicts."""
    keys = dotted.split(".")
    node = tree
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise UserError(f"config key {dotted!r}: {key!r} is not a section")
        node = child
    node[keys[-1]] = value


def parse_set_option(item: str) -> tuple[str, Any]:
    """``"optim.lr=1e-4"`` -> ("optim.lr", 1e-4); the value is parsed as YAML."""
    if "=" not in item:
        raise UserError(f"--set {item!r}: expected KEY=VALUE, e.g. --set optim.lr=1e-4")
    key, raw = item.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw else None
    except _YAML_ERRORS as exc:
        raise UserError(f"--set {item!r}: cannot parse value ({exc})") from exc
    return key.strip(), value


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; clear errors for missing, unreadable or malformed files."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UserError(f"{path}: config file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read config ({exc})") from exc
    try:
        data = yaml.safe_load(text)
    except _YAML_ERRORS as exc:
        raise UserError(f"{path}: invalid YAML ({exc})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: a config must be a mapping of keys to values")
    return data


def _format_errors(exc: ValidationError, source: str) -> str:
    lines = [f"invalid config ({source}):"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "<root>"
        msg = "unknown key (check the spelling)" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"  {loc}: {msg}")
    return "\n".join(lines)


def load_config(
    cls: type[M],
    path: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    base: dict[str, Any] | None = None,
) -> M:
    """Build ``cls`` from ``base`` <- YAML file <- dotted ``overrides`` (later wins)."""
    data: dict[str, Any] = json.loads(json.dumps(base)) if base else {}
    if path is not None:
        _deep_merge(data, read_yaml(path))
    for key, value in (overrides or {}).items():
        set_by_path(data, key, value)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise UserError(_format_errors(exc, str(path) if path else "options")) from exc


def _deep_merge(dst: dict[str, Any], src: dict[str, Any]) -> None:
    for key, value in src.items():
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            _deep_merge(dst[key], value)
        else:
            dst[key] = value


def dump_config(config: BaseModel) -> str:
    """YAML text of a config (paths as strings), loadable again with :func:`load_config`."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
