"""Output safety and option validation (issue "Nothing lost, nothing silent"): every case is a
refusal with exit 2 naming the path, checked before anything is written, or a clear warning."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dsgan.cli.main import main
from dsgan.errors import ImageError, UserError
from dsgan.io.images import list_images, load_image
from dsgan.io.outputs import check_output_folder, existing_output, file_seed


def tree(folder: Path) -> dict[str, str]:
    """Relative path -> content hash of every file under ``folder`` (empty if absent)."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def degrade(src: Path, dst: Path, *extra: str) -> list[str]:
    argv = ["degrade", "--checkpoint", "bicubic", "--scale", "2", "--input", str(src)]
    return [*argv, "--output", str(dst), "--workers", "0", *extra]


def corrupt(src: Path, dst: Path, *extra: str) -> list[str]:
    return ["corrupt", "--input", str(src), "--output", str(dst), "--noise", "5", *extra]


TRAIN = ["--crop", "8", "--scale", "2", "--batch-size", "2", "--device", "cpu", "--amp", "off"]
TRAIN += ["--perceptual", "none", "--set", "model.n_res_blocks=1", "--set", "model.channels=8"]
TRAIN += ["--set", "model.d_channels=8", "--set", "log_every=1", "--set", "checkpoint_every=2"]


def train(src: Path, out: Path, iterations: int, *extra: str) -> list[str]:
    argv = ["train", "--hr", str(src), "--out", str(out), "--iterations", str(iterations)]
    return [*argv, *TRAIN, *extra]


# ------------------------------------------------------------------ output names and folders
@pytest.mark.parametrize("command", [degrade, corrupt])
def test_two_inputs_with_one_output_name_are_refused(tmp_path, make_images, command, run_cli):
    src = tmp_path / "in"
    make_images(src, 1, 24)
    Image.open(src / "img_000.png").save(src / "img_000.jpg")
    code, _, err = run_cli(command(src, tmp_path / "out"))
    assert code == 2 and "img_000.jpg" in err and "img_000.png" in err and "rename" in err
    assert tree(tmp_path / "out") == {}  # refused before anything was written


@pytest.mark.parametrize("command", [degrade, corrupt])
def test_output_that_is_a_file_or_broken_link_is_refused(tmp_path, make_images, command, run_cli):
    src = tmp_path / "in"
    make_images(src, 1, 24)
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    code, _, err = run_cli(command(src, afile))
    assert code == 2 and "afile" in err and "is an existing file" in err
    assert afile.read_text() == "keep me"
    code, _, err = run_cli(command(src, afile / "sub"))
    assert code == 2 and "is a file, so the folder cannot be created" in err
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")
    code, _, err = run_cli(command(src, link))
    assert code == 2 and "broken symbolic link" in err


def test_run_directory_that_is_a_file_is_refused(tmp_path, make_images, run_cli):
    src = tmp_path / "in"
    make_images(src, 2, 24)
    afile = tmp_path / "run"
    afile.write_text("keep me")
    code, _, err = run_cli(train(src, afile, 1))
    assert code == 2 and "--out" in err and "is an existing file" in err
    assert afile.read_text() == "keep me"


def test_folder_in_place_of_an_output_image_is_an_error_not_present(tmp_path, make_images, run_cli):
    src = tmp_path / "in"
    make_images(src, 2, 24)
    (tmp_path / "out" / "img_001.png").mkdir(parents=True)
    code, _, err = run_cli(corrupt(src, tmp_path / "out"))
    assert code == 2 and "img_001.png" in err and "folder or broken link" in err
    with pytest.raises(UserError, match="folder or broken link"):
        existing_output(tmp_path / "out" / "img_001.png")
    assert existing_output(tmp_path / "out" / "img_000.png") is False


def test_check_output_folder_nesting_both_ways(tmp_path):
    (tmp_path / "in").mkdir()
    with pytest.raises(UserError, match="inside the input folder"):
        check_output_folder(tmp_path / "in", tmp_path / "in" / "out")
    with pytest.raises(UserError, match="is inside --output"):
        check_output_folder(tmp_path / "in", tmp_path)
    check_output_folder(tmp_path / "in", tmp_path / "out")  # siblings are fine


def test_degrade_rerun_with_workers_when_everything_exists(tmp_path, make_images, run_cli):
    """The documented kill-and-rerun recovery: a rerun with nothing left to do (workers > 0)."""
    src = tmp_path / "in"
    make_images(src, 3, 24)
    argv = degrade(src, tmp_path / "out")
    argv[argv.index("--workers") + 1] = "2"
    assert run_cli(argv)[0] == 0
    before = tree(tmp_path / "out")
    code, out, _ = run_cli(argv)
    assert code == 0 and "0 written, 3 already present" in out
    assert tree(tmp_path / "out") == before


# ------------------------------------------------------------------ options
@pytest.mark.parametrize(
    ("argv_extra", "flag"),
    [
        (["--scale", "0"], "--scale"),
        (["--workers", "-1"], "--workers"),
        (["--batch-size", "0"], "--batch-size"),
        (["--tile", "-4"], "--tile"),
        (["--seed", str(2**63)], "--seed"),
        (["--seed", "x"], "--seed"),
    ],
)
def test_nonsense_degrade_options_are_refused_by_the_parser(
    tmp_path, make_images, capsys, argv_extra, flag
):
    src = tmp_path / "in"
    make_images(src, 1, 24)
    argv = degrade(src, tmp_path / "out")
    for i in range(0, len(argv_extra), 2):  # replace a flag already in the list, or add it
        if argv_extra[i] in argv:
            argv[argv.index(argv_extra[i]) + 1] = argv_extra[i + 1]
        else:
            argv += argv_extra[i : i + 2]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and flag in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_huge_seed_in_a_config_is_refused(tmp_path, make_images, run_cli):
    src = tmp_path / "in"
    make_images(src, 2, 24)
    code, _, err = run_cli(train(src, tmp_path / "run", 1, "--set", f"seed={2**64}"))
    assert code == 2 and "seed" in err
    assert not (tmp_path / "run").exists()


def test_file_seed_is_in_range_and_depends_on_the_name_only(tmp_path):
    a = file_seed(2**62, tmp_path / "x" / "a.png")
    assert 0 <= a < 2**63
    assert a == file_seed(2**62, Path("elsewhere/a.png")) != file_seed(2**62, Path("b.png"))


# ------------------------------------------------------------------ unusable inputs
@pytest.mark.parametrize("policy", ["skip", "stop"])
def test_broken_and_looping_links_are_reported(tmp_path, make_images, policy, run_cli):
    src = tmp_path / "in"
    make_images(src, 1, 24)
    (src / "gone.png").symlink_to(tmp_path / "missing.png")
    (src / "loop.png").symlink_to(src / "loop.png")
    assert {p.name for p in list_images(src)} == {"img_000.png", "gone.png", "loop.png"}
    code, out, err = run_cli(corrupt(src, tmp_path / "out", "--on-error", policy))
    if policy == "stop":
        assert code == 2 and "broken symbolic link" in err
    else:
        assert code == 1 and "1 written" in out and "2 skipped" in out
        assert "gone.png" in err and "loop.png" in err


def test_float_image_with_nan_or_inf_is_unusable(tmp_path):
    for bad in (np.nan, np.inf):
        arr = np.full((8, 8), 0.5, dtype=np.float32)
        arr[2, 3] = bad
        path = tmp_path / f"f{bad}.tif"
        Image.fromarray(arr, mode="F").save(path)
        with pytest.raises(ImageError, match="NaN or infinite"):
            load_image(path)
    fine = tmp_path / "fine.tif"
    Image.fromarray(np.full((8, 8), 0.25, dtype=np.float32), mode="F").save(fine)
    assert abs(float(load_image(fine).mean()) - 0.25) < 1e-6


# ------------------------------------------------------------------ run directories
def test_checkpoints_without_latest_json_are_an_existing_run(tmp_path, make_images, run_cli):
    src = tmp_path / "in"
    make_images(src, 2, 24)
    out = tmp_path / "run"
    assert run_cli(train(src, out, 4))[0] == 0
    (out / "checkpoints" / "latest.json").unlink()
    before = tree(out / "checkpoints")
    code, _, err = run_cli(train(src, out, 4))
    assert code == 2 and "already holds a training run" in err
    assert tree(out / "checkpoints") == before  # nothing deleted or overwritten
    # --resume finds the newest complete checkpoint and says so
    code, _, err = run_cli(train(src, out, 6, "--resume"))
    assert code == 0 and "latest.json is missing" in err and "step_00000004" in err


def test_damaged_checkpoint_pointer_is_named(tmp_path, make_images, run_cli):
    src = tmp_path / "in"
    make_images(src, 2, 24)
    out = tmp_path / "run"
    assert run_cli(train(src, out, 2))[0] == 0
    for damaged in ("[1, 2]", '{"weights": "../../x", "state": "y"}', '{"weights": 3}'):
        (out / "checkpoints" / "latest.json").write_text(damaged)
        code, _, err = run_cli(train(src, out, 4, "--resume"))
        assert code == 2 and "damaged checkpoint" in err and "latest.json" in err, err


def test_resume_logs_each_step_once_and_removes_stale_temporaries(tmp_path, make_images, run_cli):
    src = tmp_path / "in"
    make_images(src, 2, 24)
    out = tmp_path / "run"
    assert run_cli(train(src, out, 4))[0] == 0
    # what a kill after step 4's checkpoint leaves: later records and a half-written temporary
    with open(out / "metrics.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"step": 5, "loss/d": 1.0}) + "\n" + '{"step": 6, "lo')
    stale = out / "checkpoints" / ".step_00000006.state.pt.abc123.tmp"
    stale.write_bytes(b"half")
    assert run_cli(train(src, out, 6, "--resume"))[0] == 0
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]
    assert not stale.exists()


@pytest.mark.parametrize("name", ["meta", "nonsense"])
def test_devices_that_cannot_compute_are_refused(name):
    from dsgan.devices import resolve_device

    with pytest.raises(UserError, match=name):
        resolve_device(name)
    assert resolve_device("cpu").type == "cpu"


# ------------------------------------------------------------------ damaged checkpoints
def _generator_file(path: Path, config: str) -> Path:
    """A real tiny generator's weights, saved with ``config`` as the stored metadata."""
    from dsgan.checkpoints import save_weights
    from dsgan.models.dsgan import generator_from_config

    g = generator_from_config({"n_res_blocks": 1, "channels": 8})
    save_weights(path, 1, {"g": g}, "dsgan-generator", config)
    return path


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ("{not json", "its stored config is not valid JSON"),
        ("[1, 2]", "its stored config is not a mapping"),
        # an enormous network: refused from the shapes, never built
        (
            json.dumps({"model": {"n_res_blocks": 1, "channels": 100_000}}),
            "weights do not fit the architecture it declares",
        ),
        (json.dumps({"model": {"channels": "many"}}), "its stored config is invalid"),
        (json.dumps({"model": {"n_res_blocks": -3}}), "weights do not fit"),
    ],
)
def test_damaged_generator_metadata_is_one_clear_error(
    tmp_path, make_images, capsys, config, reason
):
    from dsgan.checkpoints.load import load_generator

    path = _generator_file(tmp_path / "g.safetensors", config)
    with pytest.raises(UserError, match=f"damaged checkpoint: .*g.safetensors \\({reason}"):
        load_generator(path)
    make_images(tmp_path / "in", 1, 24)
    argv = degrade(tmp_path / "in", tmp_path / "out")
    argv[argv.index("--checkpoint") + 1] = str(path)
    code = main(argv)
    assert code == 2 and "damaged checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_good_generator_file_still_loads(tmp_path):
    from dsgan.checkpoints.load import load_generator

    config = json.dumps({"model": {"n_res_blocks": 1, "channels": 8}, "data": {"scale": 4}})
    g, info = load_generator(_generator_file(tmp_path / "g.safetensors", config))
    assert info["scale"] == 4 and sum(p.numel() for p in g.parameters()) > 0
    # a file whose settings today's config rules would refuse (older versions allowed them)
    # loads as it did: only the shapes decide
    from dsgan.checkpoints import save_weights
    from dsgan.models.dsgan import generator_from_config

    old = {"n_res_blocks": 1, "channels": 4}
    save_weights(
        tmp_path / "old.safetensors",
        1,
        {"g": generator_from_config(old)},
        "dsgan-generator",
        json.dumps({"model": old}),
    )
    assert load_generator(tmp_path / "old.safetensors")[0] is not None


def test_truncated_training_state_says_truncated(tmp_path):
    import torch

    from dsgan.checkpoints import read_state

    path = tmp_path / "step_1.state.pt"
    torch.save({"w": torch.zeros(1000)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match=r"damaged checkpoint: .*step_1.state.pt \(truncated"):
        read_state(path)


def test_input_folder_that_is_a_looping_link_is_named(tmp_path, run_cli):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    code, _, err = run_cli(corrupt(loop, tmp_path / "out"))
    assert code == 2 and "loop" in err and "broken symbolic link" in err


def test_train_hr_that_is_a_looping_link_is_named(tmp_path, run_cli):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    code, _, err = run_cli(train(loop, tmp_path / "run", 1))
    assert code == 2 and "--hr" in err and "broken symbolic link" in err
    assert not (tmp_path / "run").exists()


def test_overwrite_onto_a_folder_is_a_clear_error(tmp_path, make_images, run_cli):
    src = tmp_path / "in"
    make_images(src, 1, 24)
    (tmp_path / "out" / "img_000.png").mkdir(parents=True)
    code, _, err = run_cli(corrupt(src, tmp_path / "out", "--overwrite"))
    assert code == 2 and "img_000.png" in err and "a folder is in the way" in err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["img_000.png"]  # no temporaries


def test_disk_full_while_writing_a_report_names_it(tmp_path, monkeypatch):
    import errno

    import dsgan.io.atomic as atomic
    from dsgan.metrics.report import write_json

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(UserError, match=r"r\.json: cannot write the file: disk full"):
        write_json({"psnr": 30.0}, tmp_path / "r.json")
    with pytest.raises(UserError, match=r"r\.html: cannot write the file: disk full"):
        atomic.write_text_atomic(tmp_path / "r.html", "<html></html>")  # as write_html does
    assert list(tmp_path.iterdir()) == []
