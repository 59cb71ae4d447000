"""Guards for commands that read one folder and write another."""

from __future__ import annotations

from pathlib import Path

from dsgan.errors import UserError


def check_output_folder(input_dir: Path, output_dir: Path) -> None:
    """Refuse outputs that could overwrite or mix with inputs."""
    src, dst = input_dir.resolve(), output_dir.resolve()
    if dst == src or src in dst.parents:
        raise UserError(
            f"--output {output_dir} is inside the input folder {input_dir}; "
            "choose an output folder outside it (inputs are never modified)"
        )
    if dst in src.parents:
        raise UserError(
            f"the input folder {input_dir} is inside --output {output_dir}; "
            "choose a separate output folder"
        )
