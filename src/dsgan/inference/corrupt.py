"""``dsgan corrupt`` over a folder: the paper's synthetic real-world datasets (and camera-like
ones), deterministically (:func:`dsgan.ops.corrupt.apply_corruptions` per image, seeded by the
file's name, so a result never depends on which other files are present or on the order of work).

Run by :func:`dsgan.inference.folders.run_folder`: the corruption itself runs in the loader's
worker processes (``workers``), outputs are ``<stem>.png``, written atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from dsgan.errors import ImageError
from dsgan.inference.folders import FolderOptions, FolderTask, run_folder
from dsgan.io.images import load_image, save_image, tensor_to_uint8
from dsgan.io.outputs import file_seed
from dsgan.ops.corrupt import apply_corruptions
from dsgan.ops.resize import crop_to_multiple, imresize


@dataclass(frozen=True)
class Corruption:
    """What ``dsgan corrupt`` does to each image (levels as :func:`apply_corruptions` takes them).

    ``downscale``: a bicubic downscale factor applied first (real-LR test sets); ``seed``: the
    run's seed, combined with each file's name."""

    noise: float = 0.0
    blur: float = 0.0
    jpeg: int | None = None
    shot_peak: float = 0.0
    camera_order: bool = False
    downscale: int = 1
    seed: int = 0

    def __call__(self, path: Path) -> tuple[torch.Tensor, None]:
        """Decode and corrupt one file: ((3, h, w) in [0, 1], None)."""
        img = load_image(path)
        if min(img.shape[-2:]) < self.downscale:
            raise ImageError(
                path,
                f"{img.shape[-1]}x{img.shape[-2]} is too small for --downscale {self.downscale}",
            )
        if self.downscale > 1:
            img = imresize(crop_to_multiple(img, self.downscale), 1 / self.downscale).clamp(0, 1)
        g = torch.Generator().manual_seed(file_seed(self.seed, path))
        out = apply_corruptions(
            img,
            self.noise,
            self.blur,
            self.jpeg,
            generator=g,
            shot_peak=self.shot_peak,
            blur_first=self.camera_order,
        )
        return out, None


def corrupt_folder(
    corruption: Corruption,
    input_dir: Path,
    output_dir: Path,
    opts: FolderOptions,
    rank: int = 0,
    world_size: int = 1,
) -> dict[str, int]:
    """Corrupt every image of ``input_dir`` into ``output_dir/<stem>.png``; returns the counts
    ``written``, ``existing`` and ``failed``."""
    task = FolderTask(
        desc="dsgan corrupt",
        targets=lambda path: {"out": output_dir / f"{path.stem}.png"},
        decode=corruption,
        process=lambda paths, items: [tensor_to_uint8(img) for img, _ in items],
        write=lambda where, path, result, extra: save_image(result, where["out"]),
    )
    return run_folder(task, input_dir, output_dir, opts, rank, world_size)
