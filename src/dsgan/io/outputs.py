"""Output safety for every command that reads files and writes others: checks made *before*
anything is written, so a mistake never leaves a half-done output or touches an input.

* :func:`check_output_folder`: an output folder is not (inside) an input folder, is not a file,
  a broken symlink or under a path that cannot be created;
* :func:`check_output_file`: a result file's path is not a folder and its folder can be made;
* :func:`check_unique_stems`: no two inputs would be written to the same output name;
* :func:`existing_output`: whether an output file is already there (a folder in its place is an
  error, not "already present");
* :func:`file_seed`: the per-file random seed of the folder commands (one formula for all).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable
from pathlib import Path

from dsgan.errors import UserError


def resolve_path(path: Path, name: str) -> Path:
    """``path.resolve()``; a symbolic-link loop on the way is a UserError naming it."""
    try:
        return path.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: Python < 3.13's "Symlink loop"
        raise UserError(
            f"{name} {path}: broken symbolic link (its target is missing, or it loops)"
        ) from exc


def _nested(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_output_folder(
    input_dir: Path | None, output_dir: Path, flag: str = "--output", input_flag: str = "input"
) -> None:
    """Refuse an output folder that could overwrite or mix with the inputs, or cannot be made.

    Raises:
        UserError: naming the path and the fix.
    """
    output_dir = Path(output_dir)
    if output_dir.is_symlink() and not output_dir.exists():
        raise UserError(
            f"{flag} {output_dir} is a broken symbolic link; remove it or choose another folder"
        )
    if output_dir.exists() and not output_dir.is_dir():
        raise UserError(f"{flag} {output_dir} is an existing file, not a folder; choose a folder")
    check_creatable(output_dir, flag)
    if input_dir is None:
        return
    src, dst = resolve_path(Path(input_dir), input_flag), resolve_path(output_dir, flag)
    if _nested(dst, src):
        raise UserError(
            f"{flag} {output_dir} is inside the {input_flag} folder {input_dir}; "
            "choose an output folder outside it (inputs are never modified)"
        )
    if src in dst.parents or dst in src.parents:
        raise UserError(
            f"the {input_flag} folder {input_dir} is inside {flag} {output_dir}; "
            "choose a separate output folder"
        )


def check_output_file(path: Path, flag: str) -> None:
    """A result file (``--json``, ``--report``) can be written at ``path``: not a folder or a
    broken link, and its folder exists or can be created. Checked before the work, so a long
    evaluation never fails at the end."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{flag} {path} is a folder; pass a file name, e.g. {path / 'result'}")
    if path.is_symlink() and not path.exists():
        raise UserError(f"{flag} {path} is a broken symbolic link; remove it or choose another")
    check_creatable(path.parent, flag)


def check_creatable(path: Path, flag: str) -> None:
    """``path`` exists as a folder, or its nearest existing ancestor is a writable folder."""
    probe = Path(path).absolute()
    while not probe.exists():
        if probe.is_symlink():  # a broken link on the way
            raise UserError(f"{flag} {path}: {probe} is a broken symbolic link")
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"{flag} {path}: {probe} is a file, so the folder cannot be created there")
    if probe != Path(path).absolute() and not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {path}: cannot create it, {probe} is not writable")


def check_unique_stems(files: Iterable[Path], suffix: str = ".png") -> None:
    """Refuse inputs that would share an output name (``a.png`` and ``a.jpg`` -> ``a.png``)."""
    seen: dict[str, Path] = {}
    for f in files:
        if f.stem in seen:
            raise UserError(
                f"{f} and {seen[f.stem]} would both be written as {f.stem}{suffix}; "
                "rename one of them"
            )
        seen[f.stem] = f


def existing_output(path: Path) -> bool:
    """Whether the output file ``path`` already exists (and may be skipped).

    Raises:
        UserError: something other than a file (a folder, a broken link) is in its place.
    """
    if path.is_file():
        return True
    if path.is_symlink() or path.exists():
        raise UserError(
            f"{path}: a folder or broken link is where the output image goes; remove it"
        )
    return False


def file_seed(seed: int, path: Path) -> int:
    """The random seed of one file: from the run's ``seed`` and the file's name only, so a
    file's result does not depend on which other files are present or on the order of work.
    In [0, 2**63)."""
    return (seed * 1_000_003 + zlib.crc32(path.name.encode())) % (2**63)
