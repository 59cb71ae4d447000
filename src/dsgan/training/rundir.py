"""Run directories: resolved config, JSONL metrics, TensorBoard scalars, image grids, checkpoints.

Layout (like stylegan2-ada's)::

    RUN/config.yaml        resolved config (what ``--resume`` and ``--config`` can read back)
    RUN/metrics.jsonl      one JSON object per logged step
    RUN/tb/                TensorBoard event files
    RUN/images/step_N.png  sample grids
    RUN/checkpoints/       step_N.safetensors (+ .state.pt), latest.json
    RUN/health.json        saturated-D / colour-drift episodes (training/health.py)
    RUN/train.lock         held while a training writes here (training/runlock.py)
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel

from dsgan.config.base import dump_config
from dsgan.io.atomic import write_text_atomic
from dsgan.io.images import save_image

#: the files a run writes in its top folder (their hidden temporaries are removed on resume)
RUN_FILES = ("config.yaml", "metrics.jsonl", "health.json", "generator.safetensors", "train.lock")


class RunDir:
    """Writes the files of one training run; inactive (writes nothing) on non-zero ranks."""

    def __init__(self, root: str | Path, config: BaseModel, active: bool = True) -> None:
        self.root = Path(root)
        self.active = active
        self.checkpoints = self.root / "checkpoints"
        self._tb = None
        if not active:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.checkpoints.mkdir(exist_ok=True)
        (self.root / "images").mkdir(exist_ok=True)
        text = dump_config(config)
        write_text_atomic(self.root / "config.yaml", text)

    @property
    def tb(self) -> Any:
        if self._tb is None and self.active:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.root / "tb"))
        return self._tb

    def log(self, step: int, values: dict[str, float]) -> None:
        """Append a JSONL record and TensorBoard scalars (``loss/*``, ``d/*`` ... by key prefix)."""
        if not self.active:
            return
        clean = {k: (float(v) if math.isfinite(float(v)) else None) for k, v in values.items()}
        record = {"step": step, "time": round(time.time(), 3), **clean}
        with open(self.root / "metrics.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        for key, value in clean.items():
            if value is not None:
                self.tb.add_scalar(key, value, step)

    def save_grid(self, step: int, rows: list[list[torch.Tensor]]) -> Path | None:
        """Save a grid: each row a list of (3, H, W) images in [0, 1] (padded to a common size)."""
        if not self.active:
            return None
        from torchvision.utils import make_grid

        ncol = max(len(r) for r in rows)
        h = max(t.shape[-2] for r in rows for t in r)
        w = max(t.shape[-1] for r in rows for t in r)
        tiles = []
        for r in rows:
            for t in r + [torch.zeros(3, h, w)] * (ncol - len(r)):
                pad = torch.zeros(3, h, w)
                pad[:, : t.shape[-2], : t.shape[-1]] = t.detach().float().cpu().clamp(0, 1)
                tiles.append(pad)
        grid = make_grid(torch.stack(tiles), nrow=ncol, padding=2, pad_value=1.0)
        path = self.root / "images" / f"step_{step:08d}.png"
        save_image(grid, path)
        self.tb.add_image("samples", grid, step)
        return path

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def trim_metrics(path: Path, step: int) -> int:
    """Drop the records after ``step`` from a run's ``metrics.jsonl`` (atomically), so a run
    resumed from step ``step`` logs each later step once. A damaged last line (a kill during the
    append) goes too. Returns how many lines were dropped."""
    if not path.is_file():
        return 0
    lines = path.read_text(encoding="utf-8").splitlines()
    keep = []
    for line in lines:
        try:
            if int(json.loads(line)["step"]) <= step:
                keep.append(line)
        except (ValueError, KeyError, TypeError):
            continue
    if len(keep) != len(lines):
        write_text_atomic(path, "".join(f"{line}\n" for line in keep))
    return len(lines) - len(keep)
