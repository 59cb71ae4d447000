"""Untrusted checkpoint files: pickled code is refused (never run), metadata identifies what a
checkpoint holds, and a checkpoint of another kind, architecture or scale gives a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from dsgan import __version__
from dsgan import checkpoints as ckpt
from dsgan.cli.main import main


class _Evil:
    """Unpickling this creates ``marker``: what a malicious checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


TRAIN = [
    "--crop",
    "8",
    "--scale",
    "2",
    "--batch-size",
    "2",
    "--perceptual",
    "none",
    "--iterations",
    "2",
    "--device",
    "cpu",
    "--amp",
    "off",
    "--set",
    "checkpoint_every=1",
    "--set",
    "model.n_res_blocks=1",
    "--set",
    "model.channels=8",
    "--set",
    "model.d_channels=8",
]


@pytest.fixture
def run(tmp_path, make_images, capsys) -> Path:
    """A finished tiny training run."""
    make_images(tmp_path / "hr", 2, 32)  # big enough for crop 8 at scale 3 too
    out = tmp_path / "run"
    assert main(["train", "--hr", str(tmp_path / "hr"), "--out", str(out), *TRAIN]) == 0
    capsys.readouterr()
    return out


def _latest(run: Path) -> tuple[Path, Path]:
    found = ckpt.latest_checkpoint(run / "checkpoints")
    assert found is not None
    return found


def test_metadata_holds_version_kind_config_and_architecture(run):
    for path in (_latest(run)[0], run / "generator.safetensors"):
        groups, meta = ckpt.read_weights(path)
        assert meta["dsgan_version"] == __version__
        assert meta["kind"].startswith("dsgan")
        config = json.loads(meta["config"])
        assert config["model"]["n_res_blocks"] == 1 and config["model"]["channels"] == 8
        assert config["data"]["scale"] == 2
        assert meta["step"] == "2"
        assert "g" in groups


def test_resume_refuses_a_state_file_with_code(run, tmp_path, capsys):
    marker = tmp_path / "pwned"
    _, state = _latest(run)
    torch.save({"step": 1, "payload": _Evil(marker)}, state)
    code = main(["train", "--out", str(run), "--resume", "--iterations", "3"])
    err = capsys.readouterr().err
    assert code == 2
    assert "refused to load training state" in err and str(state) in err
    assert "Traceback" not in err
    assert not marker.exists()


def test_degrade_refuses_a_pth_with_code(tmp_path, make_images, capsys):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    torch.save({"model_g_state_dict": _Evil(marker)}, evil)
    make_images(tmp_path / "in", 1, 16)
    code = main(
        [
            "degrade",
            "--checkpoint",
            str(evil),
            "--input",
            str(tmp_path / "in"),
            "--output",
            str(tmp_path / "out"),
            "--device",
            "cpu",
            "--workers",
            "0",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot load safely" in err and "evil.pth" in err
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_degrade_refuses_garbage_safetensors(tmp_path, make_images, capsys):
    bad = tmp_path / "g.safetensors"
    bad.write_bytes(b"\xff" * 64)
    make_images(tmp_path / "in", 1, 16)
    code = main(
        [
            "degrade",
            "--checkpoint",
            str(bad),
            "--input",
            str(tmp_path / "in"),
            "--output",
            str(tmp_path / "out"),
            "--device",
            "cpu",
        ]
    )
    assert code == 2
    assert "not a readable safetensors checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("model.n_res_blocks=2", "model.n_res_blocks: checkpoint 1, current 2"),
        ("data.scale=3", "data.scale: checkpoint 2, current 3"),
    ],
)
def test_resume_with_another_architecture_or_scale(run, capsys, override, expected):
    config_before = (run / "config.yaml").read_text()
    code = main(["train", "--out", str(run), "--resume", "--iterations", "3", "--set", override])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and "another model configuration" in err
    assert (run / "config.yaml").read_text() == config_before  # the run is left as it was


def test_new_run_over_an_existing_one_is_refused(run, tmp_path, capsys):
    config_before = (run / "config.yaml").read_text()
    code = main(
        [
            "train",
            "--hr",
            str(tmp_path / "hr"),
            "--out",
            str(run),
            *TRAIN,
            "--set",
            "model.n_res_blocks=3",
        ]
    )
    assert code == 2
    assert "pass --resume" in capsys.readouterr().err
    assert (run / "config.yaml").read_text() == config_before


def test_degrade_with_an_sr_checkpoint(tmp_path, make_images, capsys):
    sr = tmp_path / "sr.safetensors"
    net = torch.nn.Conv2d(3, 3, 3)  # the weights don't matter: the kind is checked first
    ckpt.save_weights(sr, 5, {"g": net}, "sr", json.dumps({"data": {"scale": 2}}))
    make_images(tmp_path / "in", 1, 16)
    code = main(
        [
            "degrade",
            "--checkpoint",
            str(sr),
            "--input",
            str(tmp_path / "in"),
            "--output",
            str(tmp_path / "out"),
            "--device",
            "cpu",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "'sr' checkpoint, not a DSGAN generator" in err
    assert "Traceback" not in err


def test_resume_of_an_sr_checkpoint_is_refused(run, capsys):
    weights, _ = _latest(run)
    groups, meta = ckpt.read_weights(weights)
    flat = {f"{n}.{k}": v for n, g in groups.items() for k, v in g.items()}
    save_file(flat, str(weights), metadata={**meta, "kind": "sr"})
    code = main(["train", "--out", str(run), "--resume", "--iterations", "3"])
    assert code == 2
    assert "'sr' checkpoint, not a DSGAN one" in capsys.readouterr().err
