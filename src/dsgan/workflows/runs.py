"""Train-or-resume: the one place that decides whether a training stage is done, to be resumed
or to start, used by the pipeline, the demo and the quality benchmark."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dsgan.checkpoints import checkpoint_files, latest_checkpoint, read_weights
from dsgan.checkpoints.load import EXPORT


def train_or_resume(
    name: str,
    run_dir: Path,
    train: Callable[[bool], Path],
    iterations: int | None = None,
    quiet: bool = False,
) -> Path:
    """The exported generator of the run in ``run_dir``.

    The one there if the run finished (and, with ``iterations``, reached that step), else
    ``train(resume)`` with ``resume`` True when checkpoints exist (also without
    ``latest.json``): a finished run asked for more steps trains on. ``name`` labels the printed
    line (``[name] training in ...``)."""
    run_dir = Path(run_dir)
    final = run_dir / EXPORT
    if final.is_file() and (iterations is None or _step(final) >= iterations):
        if not quiet:
            print(f"[{name}] done already: {final}")
        return final
    folder = run_dir / "checkpoints"
    resume = latest_checkpoint(folder) is not None or bool(checkpoint_files(folder))
    if not quiet:
        print(f"[{name}] {'resuming' if resume else 'training'} in {run_dir}")
    return train(resume)


def _step(export: Path) -> int:
    """The step an exported generator was saved at (0 if it does not say)."""
    try:
        return int(read_weights(export)[1].get("step", 0))
    except ValueError:
        return 0
