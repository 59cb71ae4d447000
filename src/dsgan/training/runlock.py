"""One training at a time per run directory: an exclusive lock on ``RUN/train.lock``.

Two ``dsgan train`` started into the same ``--out`` would both write checkpoints and interleave
``metrics.jsonl`` (it happened to us: a benchmark worker left running after its parent was killed
kept training into the folder a restarted benchmark trained into). The lock is an advisory
``flock`` held for the lifetime of the training; the operating system drops it when the process
ends, however it ends, so a crash never leaves a stale lock. The holder's pid is written into the
file for the error message. Where ``fcntl`` does not exist (Windows) no lock is taken.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from dsgan.errors import UserError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]


class RunInUse(UserError):
    """Another live process holds the run directory's lock."""


def wait_until_free(root: str | Path) -> None:
    """Block until no process holds ``root/train.lock`` (returns at once if none does, or where
    ``fcntl`` does not exist); takes the lock only for that moment."""
    path = Path(root) / "train.lock"
    if fcntl is None or not path.is_file():
        return
    with open(path, encoding="utf-8") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_SH)  # waits for the exclusive holder to finish


class RunLock:
    """Holds ``root/.lock``; :meth:`release` (or process exit) frees it."""

    def __init__(self, root: str | Path) -> None:
        self.path = Path(root) / "train.lock"
        self._fh: IO[str] | None = None
        if fcntl is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release
        except OSError as exc:
            raise UserError(f"{self.path.parent}: cannot create the run directory ({exc})") from exc
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise RunInUse(
                f"{self.path.parent} is in use by another training (pid {holder}); wait for it "
                "to finish, stop it, or choose another --out"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()  # closing drops the flock
            self._fh = None
