"""Atomic file writes: the one way every output of dsgan (images, checkpoints, reports, run
files) reaches the disk.

The content goes to a hidden temporary file beside the target (``.NAME.XXXX.tmp``), is fsynced and
renamed over the target, so a kill at any moment leaves either the old file or the new one, never a
half-written one. Failures a user can fix (disk full, quota, read-only or unwritable folder, a
folder in the way) become a :class:`~dsgan.errors.UserError` naming the target, and the temporary
file is removed whatever happens.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from dsgan.errors import UserError

# The process umask, read once: os.umask can only be read by setting it, which is not thread-safe.
_UMASK = os.umask(0o022)
os.umask(_UMASK)

# errno -> what to tell the user; other OSErrors are rarer faults and propagate unchanged
WRITE_ERRORS = {
    errno.ENOSPC: "disk full (no space left on device); free some space and run again",
    errno.EDQUOT: "disk quota exceeded; free some space and run again",
    errno.EROFS: "read-only file system; choose another output folder",
    errno.EACCES: "permission denied; choose a writable output folder",
    errno.EPERM: "operation not permitted; choose a writable output folder",
    errno.EISDIR: "a folder is in the way; remove it or choose another output",
    errno.ENOTDIR: "a file is in the way of its folder; remove it or choose another output",
    # mkdir(exist_ok=True) of a folder whose name a file has taken
    errno.EEXIST: "a file is in the way of its folder; remove it or choose another output",
}


def write_atomic(path: str | Path, write: Callable[[BinaryIO], object], what: str = "file") -> None:
    """Run ``write`` on a temporary file beside ``path`` and rename it over ``path``; ``what``
    names the file in errors ("image", "checkpoint").

    Raises:
        UserError: a failure the user can fix (see ``WRITE_ERRORS``), naming ``path``; also when a
            library (``torch.save``) wraps that OSError in its own exception.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise write_error(path, exc, what) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates the file 0600; give it the permissions a plain open() would.
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        mapped = write_error(path, exc, what)
        if mapped is not exc:
            raise mapped from exc
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """:func:`write_atomic` of UTF-8 text."""
    write_atomic(path, lambda fh: fh.write(text.encode("utf-8")))


def write_error(path: Path, exc: BaseException, what: str = "file") -> BaseException:
    """A UserError naming ``path`` if ``exc`` (or an OSError it wraps) is one a user can fix,
    else ``exc`` itself."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError) and cur.errno in WRITE_ERRORS:
            return UserError(f"{path}: cannot write the {what}: {WRITE_ERRORS[cur.errno]}")
        cur = cur.__cause__ or cur.__context__
    return exc


def remove_stale_temporaries(folder: Path, names: list[str] | None = None) -> int:
    """Remove the hidden temporaries (``.NAME.XXXX.tmp``) a killed :func:`write_atomic` left in
    ``folder`` (not recursive): for the files ``names`` only (glob patterns), or all of them.

    Only for folders one process writes (a locked run directory): elsewhere another process may
    be writing one of them right now. Returns how many were removed."""
    n = 0
    if folder.is_dir():
        for pattern in names or ["*"]:
            for tmp in folder.glob(f".{pattern}.*.tmp"):
                if tmp.is_file():
                    tmp.unlink(missing_ok=True)
                    n += 1
    return n
