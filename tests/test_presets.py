"""`dsgan train --preset`: the default recipe, the paper's, and how a config overrides a preset."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import yaml

from dsgan.cli.main import main
from dsgan.config.presets import DESCRIPTIONS, preset_names


def _dry_run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["train", *argv, "--dry-run"]) == 0
    return yaml.safe_load(capsys.readouterr().out)


def test_train_without_a_preset_uses_the_camera_recipe(tmp_path: Path, capsys) -> None:
    cfg = _dry_run(capsys, "--hr", str(tmp_path))
    model = cfg["model"]
    assert model["codec"] == "jpeg" and model["codec_gate"] is True
    # no learned blur stage (measured: it over-blurred a camera mixture), sensor noise kept
    assert model["blur"] == 0 and model["signal_noise"] is True
    assert model["output"] == "residual" and model["noise_channels"] == 3
    assert cfg["loss"]["w_col"] == 0.1 and cfg["loss"]["d_batch"] == "joint"
    assert cfg["loss"]["w_id"] == 0.03  # the identity prior
    assert cfg["optim"]["clip_g"] == 5.0  # adaptive clipping: no stage frozen by a burst


def test_paper_preset_is_the_papers_networks(tmp_path: Path, capsys) -> None:
    cfg = _dry_run(capsys, "--hr", str(tmp_path), "--preset", "paper")
    assert cfg["model"]["output"] == "sigmoid" and cfg["model"]["noise_channels"] == 0
    assert cfg["model"]["codec"] == "none" and cfg["model"]["blur"] == 0
    assert cfg["loss"]["w_col"] == 1.0 and cfg["data"]["crop"] == 128


def test_config_flags_and_set_override_the_preset(tmp_path: Path, capsys) -> None:
    own = tmp_path / "mine.yaml"
    own.write_text("model:\n  blur: 2\nloss:\n  w_col: 0.5\n")
    cfg = _dry_run(
        capsys,
        "--hr",
        str(tmp_path),
        "--config",
        str(own),
        "--codec",
        "none",
    )
    assert cfg["model"]["blur"] == 2 and cfg["loss"]["w_col"] == 0.5  # the file over the preset
    assert cfg["model"]["codec"] == "none"  # a flag over both
    assert cfg["model"]["codec_gate"] is False  # nothing to gate
    assert cfg["model"]["signal_noise"] is True  # the rest stays the preset's


def test_help_lists_every_preset(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for name in DESCRIPTIONS:
        assert name in out
    assert "default camera" in out


def test_an_unknown_preset_is_a_usage_error(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["train", "--hr", str(tmp_path), "--preset", "cameraa", "--dry-run"])
    assert exc.value.code == 2
    assert "cameraa" in capsys.readouterr().err


def test_presets_are_package_files() -> None:
    """Shipped inside the package (not in the clone's configs/), so `pip install` has them."""
    folder = resources.files("dsgan.presets")
    for name in preset_names():
        assert folder.joinpath(f"{name}.yaml").is_file()
    assert "presets/*.yaml" in (Path(__file__).parents[1] / "pyproject.toml").read_text()


def test_the_default_recipe_needs_no_downloaded_weights(tmp_path: Path, capsys) -> None:
    """Measured without the perceptual term, and offline users have no VGG19: the default
    trains without it; --perceptual vgg adds it back."""
    assert _dry_run(capsys, "--hr", str(tmp_path))["loss"]["perceptual"] == "none"
    cfg = _dry_run(capsys, "--hr", str(tmp_path), "--perceptual", "vgg")
    assert cfg["loss"]["perceptual"] == "vgg"
