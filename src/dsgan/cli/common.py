"""Argument helpers shared by the subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dsgan.config.base import parse_set_option


def add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="YAML config file (flags override it)")
    parser.add_argument(
        "--set",
        dest="set_items",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config key, e.g. --set optim.lr=1e-4 (repeatable)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")


def collect_overrides(args: argparse.Namespace, mapping: dict[str, str]) -> dict[str, Any]:
    """Dotted config overrides from flags that were given (``mapping``: attr -> config key)."""
    out: dict[str, Any] = {}
    for attr, key in mapping.items():
        value = getattr(args, attr, None)
        if value is not None:
            out[key] = str(value) if isinstance(value, Path) else value
    for item in args.set_items:
        key, value = parse_set_option(item)
        out[key] = value
    return out


def add_on_error(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--on-error",
        choices=("skip", "stop"),
        default="skip",
        help="unusable input images: skip them with a warning (default) or stop with an error",
    )
