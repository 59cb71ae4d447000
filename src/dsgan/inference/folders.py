"""The one folder runner behind ``degrade``, ``upscale`` and ``corrupt``: images in, files out.

:func:`run_folder` does what every folder command needs, once:

1. checks before any write: the output folder is safe (:func:`dsgan.io.outputs.check_output_folder`)
   and no two inputs share an output name;
2. lists the images, takes this rank's share under ``torchrun`` (every ``world_size``-th file from
   ``rank``), and skips inputs whose outputs all exist (unless ``overwrite``);
3. decodes in loader worker processes (``FolderTask.decode``, which may also do CPU work such
   as a bicubic downscale or a corruption), an unusable file being skipped with a warning or, with
   ``on_error="stop"``, an error naming it;
4. batches images of one shape (with ``batch_size > 1`` the files are ordered by their header
   size first, so same-size images meet) for ``FolderTask.process`` on the device;
5. writes in threads (``FolderTask.write``, atomic files), at most a few batches behind, so
   memory stays bounded and a write error surfaces early;
6. returns the counts ``written``, ``existing``, ``failed``.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from PIL import Image
from tqdm import tqdm

from dsgan.errors import ImageError, UserError
from dsgan.io.images import list_images
from dsgan.io.outputs import check_output_folder, check_unique_stems, existing_output

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FolderOptions:
    """How :func:`run_folder` goes through a folder."""

    overwrite: bool = False
    on_error: Literal["skip", "stop"] = "skip"
    workers: int = 0  # decoding processes (0: decode in this process)
    batch_size: int = 1  # images of one shape processed together
    writers: int = 0  # encoding threads (0: max(2, workers))


# one decoded image: (an image tensor (C, H, W) whose shape decides the batching, anything else)
Item = tuple[torch.Tensor, Any]


@dataclass(frozen=True)
class FolderTask:
    """What one command does with one image; :func:`run_folder` does the rest.

    Attributes:
        desc: progress-bar label.
        targets: input path -> its output files (all present = already done).
        decode: input path -> :data:`Item`, run in loader worker processes, so it must pickle (a
            module-level function or a dataclass of options, never a model); raises
            ImageError/UserError for an unusable file.
        process: (paths, items of one shape) -> one result per item, in this process (the model),
            ready to encode (8-bit arrays, :func:`dsgan.io.images.tensor_to_uint8`).
        write: (targets, path, result, the item's extra) -> None, in a writer thread, atomic. It
            should not run torch ops: each thread that does starts an OpenMP team of its own
            (``torch.get_num_threads()`` threads), which on a CPU competes with the model's.
    """

    desc: str
    targets: Callable[[Path], dict[str, Path]]
    decode: Callable[[Path], Item]
    process: Callable[[list[Path], list[Item]], Sequence[Any]]
    write: Callable[[dict[str, Path], Path, Any, Any], None]


class _Reader(torch.utils.data.Dataset):
    """Item i: (i, decoded) or (i, message) for an unusable file."""

    def __init__(self, files: list[Path], decode: Callable[[Path], Item]) -> None:
        self.files, self.decode = files, decode

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[int, Any]:
        try:
            return i, self.decode(self.files[i])
        except (ImageError, UserError) as exc:
            return i, str(exc)


def _header_size(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as img:
            return img.size
    except Exception:
        return (0, 0)  # decoded (and reported) later


def run_folder(
    task: FolderTask,
    input_dir: Path,
    output_dir: Path,
    opts: FolderOptions,
    rank: int = 0,
    world_size: int = 1,
) -> dict[str, int]:
    """Run ``task`` over every image of ``input_dir`` (its targets lie in ``output_dir``); returns
    the counts
    ``written``, ``existing`` (skipped, already there) and ``failed`` (unusable, skipped).

    Raises:
        UserError: an unsafe output folder, two inputs with one output name, an unusable input
            with ``on_error="stop"``, a write that fails (disk full ...).
    """
    if opts.workers < 0 or opts.writers < 0:
        raise ValueError(f"workers and writers must be >= 0, got {opts.workers}, {opts.writers}")
    check_output_folder(input_dir, output_dir)
    all_files = list_images(input_dir)
    check_unique_stems(all_files)  # across ranks: every rank refuses, none writes
    files = all_files[rank::world_size]
    todo = [
        f
        for f in files
        if opts.overwrite or not all(existing_output(p) for p in task.targets(f).values())
    ]
    counts = {"written": 0, "existing": len(files) - len(todo), "failed": 0}
    if opts.batch_size > 1:  # same-size images next to each other, so they share batches
        todo.sort(key=_header_size)
    workers = min(opts.workers, len(todo))  # 0 when every output exists already
    loader = torch.utils.data.DataLoader(
        _Reader(todo, task.decode),
        batch_size=None,
        num_workers=workers,
        prefetch_factor=4 if workers else None,
    )
    writers = opts.writers or max(2, opts.workers)
    pending: deque[Future] = deque()
    batch: list[tuple[Path, Item]] = []

    def flush() -> None:
        results = task.process([p for p, _ in batch], [item for _, item in batch])
        for (path, (_, extra)), result in zip(batch, results, strict=True):
            where = task.targets(path)
            pending.append(pool.submit(task.write, where, path, result, extra))
            counts["written"] += 1
        batch.clear()
        while len(pending) > 2 * writers:  # bounded memory; surfaces write errors early
            pending.popleft().result()

    with ThreadPoolExecutor(max_workers=writers) as pool, torch.inference_mode():
        for i, item in tqdm(loader, total=len(todo), desc=task.desc, unit="img", disable=rank != 0):
            path = todo[i]
            if isinstance(item, str):
                if opts.on_error == "stop":
                    raise UserError(item)
                log.warning("skipping %s", item)
                counts["failed"] += 1
                continue
            if batch and batch[0][1][0].shape != item[0].shape:
                flush()  # only images of one shape share a batch
            batch.append((path, item))
            if len(batch) >= opts.batch_size:
                flush()
        if batch:
            flush()
        for fut in pending:
            fut.result()
    return counts
