"""`dsgan train` -> resume -> `dsgan degrade` end to end, layouts, batching, tiling, reruns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from dsgan.cli.main import main
from dsgan.inference.degrade import DegradeOptions, apply_generator, degrade_folder
from dsgan.io.images import load_image
from dsgan.models import Generator
from dsgan.ops.resize import imresize

TINY = [
    "--preset",
    "paper",  # the tests' own small networks, not the default camera stages
    "--crop",
    "8",
    "--scale",
    "2",
    "--batch-size",
    "2",
    "--perceptual",
    "none",
    "--device",
    "cpu",
    "--set",
    "model.n_res_blocks=1",
    "--set",
    "model.channels=8",
    "--set",
    "model.d_channels=8",
    "--set",
    "model.noise_channels=1",
    "--set",
    "model.output=residual",
    "--set",
    "checkpoint_every=2",
    "--set",
    "log_every=1",
]


def test_train_resume_degrade_cli(tmp_path: Path, make_images) -> None:
    make_images(tmp_path / "hr", 3, [(24, 32), 20, 28])
    run = tmp_path / "run"
    assert (
        main(["train", "--hr", str(tmp_path / "hr"), "--out", str(run), "--iterations", "3", *TINY])
        == 0
    )
    # resume and extend: the log continues from step 3
    assert main(["train", "--out", str(run), "--resume", "--iterations", "5"]) == 0
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5]
    assert (run / "generator.safetensors").is_file()
    assert list((run / "images").glob("*.png")) and list((run / "tb").iterdir())

    out = tmp_path / "pairs"
    assert (
        main(
            [
                "degrade",
                "--checkpoint",
                str(run),
                "--input",
                str(tmp_path / "hr"),
                "--output",
                str(out),
                "--workers",
                "0",
                "--writers",
                "3",
            ]
        )
        == 0
    )
    for name in ("img_000", "img_001", "img_002"):
        hr, lr = load_image(out / "HR" / f"{name}.png"), load_image(out / "LR" / f"{name}.png")
        assert hr.shape[-2] == 2 * lr.shape[-2] and hr.shape[-1] == 2 * lr.shape[-1]
    # a rerun skips what exists and leaves it untouched
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    assert (
        main(
            [
                "degrade",
                "--checkpoint",
                str(run),
                "--input",
                str(tmp_path / "hr"),
                "--output",
                str(out),
                "--workers",
                "0",
            ]
        )
        == 0
    )
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.png")} == before


def test_tdsr_and_lr_layouts(tmp_path: Path, make_images) -> None:
    make_images(tmp_path / "hr", 2, 32)
    opts = DegradeOptions(scale=2, layout="tdsr", workers=0)
    degrade_folder(None, tmp_path / "hr", tmp_path / "tdsr", opts, torch.device("cpu"))
    assert load_image(tmp_path / "tdsr" / "HR" / "img_000.png").shape == (3, 16, 16)
    assert load_image(tmp_path / "tdsr" / "LR" / "img_000.png").shape == (3, 8, 8)
    opts = DegradeOptions(scale=4, layout="lr", workers=0)
    degrade_folder(None, tmp_path / "hr", tmp_path / "lr", opts, torch.device("cpu"))
    bicubic = imresize(load_image(tmp_path / "hr" / "img_001.png"), 0.25).clamp(0, 1)
    got = load_image(tmp_path / "lr" / "img_001.png")
    assert (got - bicubic).abs().max() <= 0.5 / 255 + 1e-6  # only 8-bit rounding


@pytest.mark.parametrize(("block_period", "inject"), [(0, False), (4, False), (0, True)])
def test_batched_and_tiled_match_single_untiled(
    tmp_path: Path, make_images, block_period, inject
) -> None:
    """Noise and block phase are laid over the whole image before tiling (tile 5 is not a
    multiple of the period: a per-tile phase would differ)."""
    torch.manual_seed(0)
    g = Generator(2, 8, "residual", 3, block_period=block_period, noise_injection=inject)
    if inject:
        torch.nn.init.normal_(g.noise_scale.weight, std=0.05)
    torch.nn.init.normal_(g.block_output.weight, std=0.05)  # not the identity
    make_images(tmp_path / "hr", 5, [32, 32, 24, 32, 32])
    results = {}
    for name, batch, tile in (("single", 1, 0), ("batched", 3, 0), ("tiled", 2, 5)):
        opts = DegradeOptions(scale=2, layout="lr", workers=0, batch_size=batch, tile=tile)
        degrade_folder(g, tmp_path / "hr", tmp_path / name, opts, torch.device("cpu"))
        results[name] = {p.name: load_image(p) for p in sorted((tmp_path / name).glob("*.png"))}
    for name in ("batched", "tiled"):
        assert results[name].keys() == results["single"].keys()
        for key, img in results[name].items():
            # equal up to float noise, which can flip an 8-bit rounding at most by one level
            assert (img - results["single"][key]).abs().max() <= 1 / 255 + 1e-6, (name, key)


def test_apply_generator_noise_per_image_seed() -> None:
    g = Generator(n_res_blocks=1, channels=8, output="residual", noise_channels=1)
    torch.nn.init.normal_(g.block_output.weight, std=0.05)
    x = torch.rand(2, 3, 12, 12)
    with torch.no_grad():
        both = apply_generator(g, x, 0, [1, 2])
        first = apply_generator(g, x[:1], 0, 1)
        other = apply_generator(g, x[:1], 0, 3)
    assert torch.allclose(both[:1], first, atol=1e-6)
    assert not torch.allclose(first, other)
    with pytest.raises(ValueError, match="seeds"):
        apply_generator(g, x, 0, [1])


def test_sdsr_copies_plain_png_hr_files_and_re_encodes_the_rest(tmp_path: Path, make_images):
    from PIL import Image

    hr = tmp_path / "hr"
    plain, cropped = make_images(hr, 2, [32, (34, 32)])
    Image.open(plain).convert("RGBA").save(hr / "alpha.png")
    before = {p.name: p.read_bytes() for p in hr.iterdir()}
    opts = DegradeOptions(scale=4, layout="sdsr", workers=0)
    degrade_folder(None, hr, tmp_path / "out", opts, torch.device("cpu"))
    out = tmp_path / "out" / "HR"
    assert (out / plain.name).read_bytes() == before[plain.name]  # copied byte for byte
    for name in (cropped.name, "alpha.png"):  # cropped / alpha dropped: re-encoded
        assert (out / name).read_bytes() != before[name]
        src = load_image(hr / name)
        assert torch.equal(load_image(out / name), src[:, : src.shape[1] // 4 * 4])
    assert {p.name: p.read_bytes() for p in hr.iterdir()} == before  # inputs untouched


@pytest.mark.parametrize("layout", ["sdsr", "tdsr", "lr"])
def test_downscale_on_the_device_or_in_the_workers_writes_the_same_files(
    tmp_path: Path, make_images, monkeypatch, layout
):
    """On a GPU the workers send the HR (uint8 from 8-bit files) and the device downscales it;
    on a CPU the workers downscale and send only the LR (and the HR pixels where the HR output
    is re-encoded). Both give the same files (here both on the CPU), 16-bit inputs included."""
    import numpy as np
    from PIL import Image

    import dsgan.inference.degrade as degrade

    torch.manual_seed(0)
    g = Generator(1, 8, "residual", 1)
    torch.nn.init.normal_(g.block_output.weight, std=0.05)
    make_images(tmp_path / "hr", 3, [32, (36, 32), 24])  # one cropped: its HR is re-encoded
    grey16 = (np.add.outer(np.arange(28), np.arange(32)) * 70 + 7).astype(np.uint16)
    Image.fromarray(grey16).save(tmp_path / "hr" / "wide.png")  # 16-bit: float all the way
    outs = {}
    runs = (("device", 0, False), ("device-pool", 2, False), ("main", 0, True), ("pool", 2, True))
    for name, workers, in_workers in runs:
        monkeypatch.setattr(degrade, "_downscale_in_workers", lambda *_, w=in_workers: w)
        opts = DegradeOptions(scale=4, layout=layout, workers=workers)
        assert degrade_folder(g, tmp_path / "hr", tmp_path / name, opts, torch.device("cpu")) == {
            "written": 4,
            "existing": 0,
            "failed": 0,
        }
        outs[name] = {
            p.relative_to(tmp_path / name): p.read_bytes() for p in (tmp_path / name).rglob("*.png")
        }
    assert len(outs["device"]) == (4 if layout == "lr" else 8)
    for name in ("device-pool", "main", "pool"):
        assert outs[name] == outs["device"], name


def test_failed_hr_write_removes_its_lr_partner(tmp_path: Path, make_images, monkeypatch):
    from dsgan.errors import UserError
    from dsgan.inference import degrade

    make_images(tmp_path / "hr", 1, 32)

    def full(src, dst):
        raise UserError(f"{dst}: cannot write the image: disk full")

    monkeypatch.setattr(degrade, "copy_image", full)
    opts = DegradeOptions(scale=4, layout="sdsr", workers=0)
    with pytest.raises(UserError, match="disk full"):
        degrade_folder(None, tmp_path / "hr", tmp_path / "out", opts, torch.device("cpu"))
    assert sorted(p.name for p in (tmp_path / "out").rglob("*") if p.is_file()) == []
    monkeypatch.undo()
    degrade_folder(None, tmp_path / "hr", tmp_path / "out", opts, torch.device("cpu"))  # rerun
    assert sorted(p.name for p in (tmp_path / "out").rglob("*.png")) == ["img_000.png"] * 2


def test_block_period_trains_exports_and_degrades(tmp_path: Path, make_images) -> None:
    from dsgan.checkpoints.load import load_generator

    make_images(tmp_path / "hr", 2, 32)
    run = tmp_path / "run"
    argv = ["train", "--hr", str(tmp_path / "hr"), "--out", str(run), "--iterations", "2"]
    assert main([*argv, *TINY, "--set", "model.block_period=4"]) == 0
    g, _ = load_generator(run)
    assert g.block_period == 4 and g.block_input[0].in_channels == 3 + 1 + 2
    out = tmp_path / "lr"
    argv = ["degrade", "--checkpoint", str(run), "--input", str(tmp_path / "hr"), "--output"]
    assert main([*argv, str(out), "--layout", "lr", "--workers", "0", "--tile", "6"]) == 0
    assert load_image(out / "img_000.png").shape == (3, 16, 16)
