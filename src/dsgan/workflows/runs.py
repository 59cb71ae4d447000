"""Train-or-resume: the one place that decides whether a training stage is done, to be resumed
or to start, used by the pipeline, the demo and the quality benchmark."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dsgan.checkpoints import checkpoint_files, latest_checkpoint
from dsgan.checkpoints.load import EXPORT


def train_or_resume(
    name: str, run_dir: Path, train: Callable[[bool], Path], quiet: bool = False
) -> Path:
    """The exported generator of the run in ``run_dir``: the one there if the run finished,
    else ``train(resume)`` with ``resume`` True when checkpoints exist (also without
    ``latest.json``). ``name`` labels the printed line (``[name] training in ...``)."""
    run_dir = Path(run_dir)
    final = run_dir / EXPORT
    if final.is_file():
        if not quiet:
            print(f"[{name}] done already: {final}")
        return final
    folder = run_dir / "checkpoints"
    resume = latest_checkpoint(folder) is not None or bool(checkpoint_files(folder))
    if not quiet:
        print(f"[{name}] {'resuming' if resume else 'training'} in {run_dir}")
    return train(resume)
