"""`dsgan demo` end to end on the bundled photos, with a tiny budget."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from dsgan.cli.main import main


@pytest.mark.slow
def test_demo_writes_comparison_and_run(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    assert (
        main(
            [
                "demo",
                "--out",
                str(out),
                "--iterations",
                "3",
                "--crop",
                "16",
                "--batch-size",
                "2",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    picture = out / "comparison.png"
    with Image.open(picture) as img:
        w, h = img.size
    # two held-out photos, three 64x64 crops shown x3 with 3-pixel borders
    assert (w, h) == (3 * (64 * 3 + 6), 2 * (64 * 3 + 6))
    assert (out / "run" / "generator.safetensors").is_file()
    assert (out / "run" / "config.yaml").is_file()
    assert len(list((out / "heldout_dsgan_lr").glob("*.png"))) == 2
