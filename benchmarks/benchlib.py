"""What every benchmark script records with its figures: the repository root, the commit that
made them and the machine. Imported as ``benchlib`` (scripts run as ``python benchmarks/X.py``
have this folder on their path; the tests add it through pytest's ``pythonpath``)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]


def git_commit() -> str:
    """The short commit of the clone, ``+dirty`` if tracked files differ from it; ``unknown``
    outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
        ).stdout
        return out + ("+dirty" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine(device: torch.device | None = None) -> dict[str, Any]:
    """Platform, CPU model and count, torch version and threads, and the device's name."""
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": name,
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    if device is not None:
        info["device"] = str(device)
        info["device_name"] = torch.cuda.get_device_name(device) if device.type == "cuda" else name
    elif torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def write_result(stem: Path, data: dict[str, Any], markdown: str) -> None:
    """Write ``stem.json`` (``data`` plus command, commit, date and machine) and ``stem.md``
    (``markdown`` followed by the same provenance lines)."""
    import datetime
    import json
    import sys

    meta = {
        "command": " ".join(["python", *sys.argv]),
        "commit": git_commit(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
    }
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps({**data, **meta}, indent=1) + "\n")
    tail = "\n".join(f"- {k}: {json.dumps(v) if k == 'machine' else v}" for k, v in meta.items())
    stem.with_suffix(".md").write_text(markdown.rstrip() + "\n\n" + tail + "\n")
