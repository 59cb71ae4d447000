"""``dsgan evaluate`` end to end on tiny generated folders."""

from __future__ import annotations

import json

import pytest
import torch

from dsgan.cli.main import main
from dsgan.io.images import save_image

FAST = ["--patch-size", "16", "--patches", "128", "--test-patches", "128", "--iterations", "20"]


@pytest.fixture
def folders(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # no weights
    monkeypatch.delenv("DSGAN_ALLOW_DOWNLOAD", raising=False)
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 40), torch.linspace(0, 1, 40), indexing="ij")
    for i in range(3):
        base = torch.stack(
            [0.5 + 0.3 * torch.sin((i + 2) * xx), 0.4 + 0.3 * yy, 0.5 * xx * yy + 0.2]
        )
        save_image(base, tmp_path / "gt" / f"im{i}.png")
        save_image(
            (base + torch.randn(3, 40, 40, generator=g) * 0.08).clamp(0, 1),
            tmp_path / "gen" / f"im{i}.png",
        )
        save_image(
            (base + torch.randn(3, 40, 40, generator=g) * 0.02).clamp(0, 1),
            tmp_path / "real" / f"r{i}.jpg",
        )
    return tmp_path


def test_evaluate_writes_json_and_html(folders, capsys):
    out_json, out_html = folders / "out" / "m.json", folders / "out" / "r.html"
    rc = main(
        [
            "evaluate",
            str(folders / "gen"),
            str(folders / "real"),
            "--gt",
            str(folders / "gt"),
            "--json",
            str(out_json),
            "--report",
            str(out_html),
            "--crop-border",
            "2",
            "--folds",
            "2",
            *FAST,
        ]
    )
    assert rc == 0
    stdout = capsys.readouterr().out
    assert "FID" in stdout and "skipped" in stdout and "PSNR" in stdout
    data = json.loads(out_json.read_text())
    assert data["fidelity"]["fid"] is None and "--inception-weights" in data["skipped"]["fid"]
    assert data["noise"]["diff"] > 5  # gen is the noisier set
    assert data["reference"]["n_pairs"] == 3 and data["reference"]["crop_border"] == 2
    assert data["reference"]["lpips"] is None and "lpips" in data["skipped"]
    assert 0 <= data["two_sample"]["accuracy"] <= 1 and data["two_sample"]["folds"] == 2
    assert len(data["spectrum"]["gen"]) == 64
    page = out_html.read_text()
    assert page.count("data:image/png;base64,") == 9 and "<svg" in page


def test_evaluate_json_to_stdout_is_valid(folders, capsys):
    rc = main(
        ["evaluate", str(folders / "gen"), str(folders / "gen"), "--json", "-", "--no-two-sample"]
    )
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert data["spectrum"]["l1"] == 0 and data["two_sample"] is None


def test_require_fid_without_weights_exits_2(folders, capsys):
    rc = main(["evaluate", str(folders / "gen"), str(folders / "real"), "--require-fid", *FAST])
    assert rc == 2
    err = capsys.readouterr().err
    assert "weights-inception-2015-12-05-6726825d.pth" in err and "--inception-weights" in err


@pytest.mark.parametrize("bad", ["missing", "empty"])
def test_bad_folder_exits_2(folders, capsys, bad):
    (folders / "empty").mkdir()
    rc = main(["evaluate", str(folders / bad), str(folders / "real")])
    assert rc == 2
    assert "error:" in capsys.readouterr().err


def test_zero_folds_exits_2(folders, capsys):
    rc = main(["evaluate", str(folders / "gen"), str(folders / "real"), "--folds", "0"])
    assert rc == 2
    assert "--folds must be >= 1" in capsys.readouterr().err


def test_gt_without_matches_exits_2(folders, capsys):
    rc = main(
        ["evaluate", str(folders / "gen"), str(folders / "real"), "--gt", str(folders / "real")]
    )
    assert rc == 2
    assert "no ground-truth file" in capsys.readouterr().err


def test_refuses_to_write_into_input_folder(folders, capsys):
    rc = main(
        [
            "evaluate",
            str(folders / "gen"),
            str(folders / "real"),
            "--json",
            str(folders / "gen" / "m.json"),
        ]
    )
    assert rc == 2
    assert not (folders / "gen" / "m.json").exists()


@pytest.mark.parametrize("flag", ["--json", "--report"])
def test_result_path_that_cannot_be_written_is_refused_before_the_work(
    folders, tmp_path, capsys, flag
):
    """A folder (or a path under a file) as --json/--report: exit 2 at once, naming it."""
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    for bad, says in ((tmp_path / "adir", "is a folder"), (tmp_path / "afile" / "r", "is a file")):
        rc = main(["evaluate", str(folders / "gen"), str(folders / "real"), flag, str(bad), *FAST])
        err = capsys.readouterr().err
        assert rc == 2 and flag in err and says in err, err
    assert (tmp_path / "afile").read_text() == "x"
