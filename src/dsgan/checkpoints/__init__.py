"""Checkpoints: our format, the files of other projects, and resolving what a user passes.

* :mod:`~dsgan.checkpoints.files`: ``step_N.safetensors`` weights with metadata, ``latest.json``,
  checked building of the network a file declares;
* :mod:`~dsgan.checkpoints.state`: the training state (``step_N.state.pt``) and random states;
* :mod:`~dsgan.checkpoints.authors`: the DSGAN authors' ``.pth`` files;
* :mod:`~dsgan.checkpoints.esrgan`: ESRGAN / BasicSR / Real-ESRGAN generator files;
* :mod:`~dsgan.checkpoints.load`: a run directory or file -> a ready generator (DSGAN or SR).

Training, inference and the CLI all go through this package; it depends only on ``models``,
``config``, ``io`` and ``errors``.
"""

from dsgan.checkpoints.files import (
    LATEST,
    build_checked,
    checkpoint_config,
    checkpoint_files,
    latest_checkpoint,
    newest_complete,
    read_weights,
    save_checkpoint,
    save_weights,
    unwrap,
)
from dsgan.checkpoints.state import read_state, rng_state, set_rng_state

__all__ = [
    "LATEST",
    "build_checked",
    "checkpoint_config",
    "checkpoint_files",
    "latest_checkpoint",
    "newest_complete",
    "read_state",
    "read_weights",
    "rng_state",
    "save_checkpoint",
    "save_weights",
    "set_rng_state",
    "unwrap",
]
