"""``dsgan pipeline`` end to end on tiny settings, then a resumed rerun that skips every stage."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dsgan.cli.main import main
from dsgan.io.images import load_image


def tiny_pipeline(tmp_path: Path, make_images) -> Path:
    make_images(tmp_path / "hr", 3, 48)
    make_images(tmp_path / "test", 2, 10, seed=1)
    cfg = {
        "out": str(tmp_path / "pipe"),
        "device": "cpu",
        "dsgan": {
            "data": {"hr": str(tmp_path / "hr"), "scale": 4, "crop": 8},
            "model": {"n_res_blocks": 1, "channels": 8, "d_channels": 8},
            "loss": {"perceptual": "none"},
            "iterations": 2,
            "batch_size": 2,
            "channels_last": False,
            "log_every": 1,
        },
        "degrade": {"workers": 0},
        "sr": {
            "data": {"scale": 4, "patch": 32},
            "model": {"preset": "small", "nf": 8, "nb": 1, "gc": 4, "d_channels": 4},
            "loss": {"perceptual": "none"},
            "pretrain_iterations": 1,
            "iterations": 2,
            "batch_size": 2,
            "log_every": 1,
        },
        "upscale": {"input": str(tmp_path / "test"), "tile": 6, "overlap": 20},
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_pipeline_end_to_end_and_rerun(tmp_path, make_images, capsys) -> None:
    config = tiny_pipeline(tmp_path, make_images)
    assert main(["pipeline", "--config", str(config)]) == 0
    pipe = tmp_path / "pipe"
    assert (pipe / "1_dsgan" / "generator.safetensors").is_file()
    assert len(list((pipe / "2_pairs" / "LR").glob("*.png"))) == 3
    assert load_image(pipe / "2_pairs" / "LR" / "img_000.png").shape == (3, 12, 12)
    assert (pipe / "3_sr" / "generator.safetensors").is_file()
    assert load_image(pipe / "4_upscaled" / "img_001.png").shape == (3, 40, 40)
    capsys.readouterr()
    assert main(["pipeline", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "[dsgan] done already" in out and "[degrade] done already" in out
    assert "[sr] done already" in out and "'written': 0" in out


def test_pipeline_resumes_an_interrupted_stage(tmp_path, make_images, capsys) -> None:
    config = tiny_pipeline(tmp_path, make_images)
    assert main(["pipeline", "--config", str(config), "--set", "sr.iterations=1"]) == 0
    (tmp_path / "pipe" / "3_sr" / "generator.safetensors").unlink()  # as if killed before export
    capsys.readouterr()
    assert (
        main(
            [
                "pipeline",
                "--config",
                str(config),
                "--set",
                "sr.iterations=2",
                "--set",
                "upscale.input=null",
            ]
        )
        == 0
    )
    assert "[sr] resuming" in capsys.readouterr().out
    assert (tmp_path / "pipe" / "3_sr" / "generator.safetensors").is_file()


def test_pipeline_config_errors(tmp_path, capsys) -> None:
    assert main(["pipeline", "--out", str(tmp_path), "--dry-run"]) == 2
    assert "dsgan.data.hr" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("out={hr}/pipe", "out (1_dsgan) {hr}/pipe/1_dsgan is inside the dsgan.data.hr folder"),
        ("upscale.input={out}/3_sr", "out (3_sr) {out}/3_sr is inside the upscale.input folder"),
        ("upscale.input={out}", "out (1_dsgan) {out}/1_dsgan is inside the upscale.input folder"),
        ("upscale.input={tmp}/nowhere", "upscale.input: {tmp}/nowhere: folder does not exist"),
        ("degrade.input={tmp}/test/img_000.png", "is not a folder"),
        ("degrade.input={tmp}/dup", "would both be written as img_000.png"),
    ],
)
def test_pipeline_paths_are_checked_before_any_stage(
    tmp_path, make_images, capsys, override, message
) -> None:
    """A path mistake of any stage is refused before stage 1 trains, and nothing is written."""
    config = tiny_pipeline(tmp_path, make_images)
    make_images(tmp_path / "dup", 1, 24)
    make_images(tmp_path / "dup", 1, 24, ext=".jpg")  # img_000.png and img_000.jpg
    names = {"hr": tmp_path / "hr", "out": tmp_path / "pipe", "tmp": tmp_path}
    (tmp_path / "pipe").mkdir()  # an existing (empty) output folder is fine
    before = sorted(tmp_path.rglob("*"))
    code = main(["pipeline", "--config", str(config), "--set", override.format(**names)])
    assert code == 2
    assert message.format(**names) in capsys.readouterr().err
    assert sorted(tmp_path.rglob("*")) == before


def test_pipeline_out_may_hold_its_inputs(tmp_path, make_images, capsys) -> None:
    """``out: .`` beside ``data/``: the stages write only their own folders, so that is fine."""
    config = tiny_pipeline(tmp_path, make_images)
    code = main(["pipeline", "--config", str(config), "--set", f"out={tmp_path}", "--dry-run"])
    assert code == 0
    from dsgan.config.base import load_config
    from dsgan.config.pipeline import PipelineConfig
    from dsgan.workflows.pipeline import check_paths

    cfg = load_config(PipelineConfig, config, {"out": str(tmp_path)})
    check_paths(cfg)  # no error: hr/ and test/ lie in out, but in no stage folder


def test_pipeline_dsgan_section_starts_from_a_preset(tmp_path, make_images, capsys) -> None:
    """The camera preset by default; `preset: paper` gives the paper's networks; the YAML's
    dsgan section still overrides the preset."""
    path = tiny_pipeline(tmp_path, make_images)
    assert main(["pipeline", "--config", str(path), "--dry-run"]) == 0
    default = yaml.safe_load(capsys.readouterr().out)
    assert default["preset"] == "camera"
    model = default["dsgan"]["model"]
    assert model["codec"] == "jpeg" and model["codec_gate"] and model["signal_noise"]
    assert default["dsgan"]["model"]["n_res_blocks"] == 1  # the YAML over the preset
    assert main(["pipeline", "--config", str(path), "--set", "preset=paper", "--dry-run"]) == 0
    paper = yaml.safe_load(capsys.readouterr().out)
    assert paper["dsgan"]["model"]["output"] == "sigmoid"
    assert main(["pipeline", "--config", str(path), "--set", "preset=nope", "--dry-run"]) == 2
    assert "unknown preset 'nope'" in capsys.readouterr().err


def test_a_started_dsgan_stage_keeps_its_saved_settings(tmp_path, make_images, capsys) -> None:
    """A pipeline folder whose DSGAN stage was started with other recipe settings (e.g. before
    the default preset changed) resumes with them, as `dsgan train --resume` does."""
    path = tiny_pipeline(tmp_path, make_images)
    stage = tmp_path / "pipe" / "1_dsgan"
    stage.mkdir(parents=True)
    (stage / "config.yaml").write_text(
        yaml.safe_dump({"model": {"output": "sigmoid", "noise_channels": 0}})
    )
    assert main(["pipeline", "--config", str(path), "--dry-run"]) == 0
    cfg = yaml.safe_load(capsys.readouterr().out)
    assert cfg["dsgan"]["model"]["output"] == "sigmoid"  # the stage's, not the camera preset's
    assert cfg["dsgan"]["model"]["codec"] == "none"
    assert cfg["dsgan"]["model"]["n_res_blocks"] == 1  # the YAML still applies on top
