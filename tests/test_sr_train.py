"""``dsgan sr-train`` end to end on tiny pairs: checkpoints, resume, --init, config errors."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from dsgan.checkpoints import latest_checkpoint, read_weights
from dsgan.cli.main import main
from dsgan.io.images import load_image, save_image
from dsgan.models import RRDBNet
from dsgan.ops.resize import imresize

TINY = [
    "--set",
    "model.nf=8",
    "--set",
    "model.nb=1",
    "--set",
    "model.gc=4",
    "--set",
    "model.d_channels=4",
]


def make_pairs(root: Path, make_images, n: int = 3, size: int = 48, seed: int = 0) -> Path:
    """root/HR/*.png and root/LR/*.png (bicubic x4) of ``n`` smooth random images."""
    for path in make_images(root / "HR", n, size, seed=seed):
        lr = imresize(load_image(path)[None], 0.25)[0].clamp(0, 1)
        save_image(lr, root / "LR" / path.name)
    return root


def sr_train(pairs: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "sr-train",
            "--pairs",
            str(pairs),
            "--out",
            str(out),
            "--patch",
            "32",
            "--batch-size",
            "2",
            "--perceptual",
            "none",
            "--device",
            "cpu",
            "--set",
            "log_every=1",
            "--set",
            "checkpoint_every=2",
            *TINY,
            *extra,
        ]
    )


def g_weights(run: Path) -> dict[str, torch.Tensor]:
    return read_weights(run / "generator.safetensors")[0]["g"]


def test_gan_training_checkpoints_and_resumes(tmp_path, make_images) -> None:
    pairs = make_pairs(tmp_path / "pairs", make_images)
    val = make_pairs(tmp_path / "val", make_images, n=1, seed=1)
    straight, split = tmp_path / "straight", tmp_path / "split"
    args = ["--pretrain-iterations", "1", "--val", str(val), "--set", "val_every=2"]
    assert sr_train(pairs, straight, "--iterations", "3", *args) == 0
    assert sr_train(pairs, split, "--iterations", "1", *args) == 0
    assert latest_checkpoint(split / "checkpoints")[0].name == "step_00000002.safetensors"
    assert sr_train(pairs, split, "--iterations", "1", *args) == 2  # exists: needs --resume
    assert sr_train(pairs, split, "--iterations", "3", "--resume", *args) == 0
    groups, meta = read_weights(latest_checkpoint(split / "checkpoints")[0])
    # G, D and the moving average of G (ema 0.999 by default), which the export holds
    assert set(groups) == {"g", "d", "g_ema"} and meta["kind"] == "sr" and meta["step"] == "4"
    for k, v in g_weights(straight).items():  # resuming continues the same stream exactly
        torch.testing.assert_close(g_weights(split)[k], v, rtol=1e-5, atol=1e-6)
    records = [json.loads(line) for line in (split / "metrics.jsonl").read_text().splitlines()]
    assert {"loss/l1", "loss/pix", "loss/gan", "loss/d", "val/psnr", "val/ssim"} <= {
        k for r in records for k in r
    }
    assert list((split / "images").glob("step_*.png"))  # sample grids were written


def test_psnr_only_and_init_from_basicsr(tmp_path, make_images) -> None:
    pairs = make_pairs(tmp_path / "pairs", make_images, n=2)
    init = RRDBNet(nf=8, nb=1, gc=4)
    torch.save({"params_ema": init.state_dict()}, tmp_path / "init.pth")
    run = tmp_path / "run"
    assert (
        sr_train(
            pairs,
            run,
            "--psnr-only",
            "--iterations",
            "2",
            "--patch",
            "16",
            "--init",
            str(tmp_path / "init.pth"),
            "--set",
            "optim.lr=1e-12",
        )
        == 0
    )
    groups, meta = read_weights(run / "generator.safetensors")
    assert set(groups) == {"g"} and meta["kind"] == "sr-generator"
    torch.testing.assert_close(
        groups["g"]["conv_first.weight"], init.conv_first.weight, atol=1e-8, rtol=0
    )  # started from --init (lr ~ 0)


def test_lr_hr_folders_and_config_errors(tmp_path, make_images, capsys) -> None:
    pairs = make_pairs(tmp_path / "pairs", make_images, n=2)
    base = ["sr-train", "--lr", str(pairs / "LR"), "--hr", str(pairs / "HR"), "--dry-run"]
    assert main(base) == 0
    assert "lr: " in capsys.readouterr().out
    assert main([*base, "--set", "loss.w_pixx=1"]) == 2
    assert "unknown key" in capsys.readouterr().err
    assert main([*base, "--pairs", str(pairs)]) == 2  # both pairs and lr/hr
    assert main(["sr-train", "--out", str(tmp_path / "r"), "--device", "cpu"]) == 2
    assert "no training pairs" in capsys.readouterr().err


def test_mismatched_pair_sizes_are_reported(tmp_path, make_images, capsys) -> None:
    pairs = make_pairs(tmp_path / "pairs", make_images, n=1)
    make_images(tmp_path / "pairs" / "LR", 1, 20)  # overwrites img_000 with a wrong size
    rc = sr_train(pairs, tmp_path / "run", "--psnr-only", "--iterations", "1", "--on-error", "stop")
    assert rc == 2
    assert "does not match its LR image" in capsys.readouterr().err


def test_resume_with_another_architecture_is_a_clear_error(tmp_path, make_images, capsys) -> None:
    """The shared trainer core checks a resumed checkpoint's architecture for SR too."""
    pairs = make_pairs(tmp_path / "pairs", make_images)
    out = tmp_path / "run"
    assert sr_train(pairs, out, "--psnr-only", "--iterations", "1") == 0
    before = sorted(p.name for p in (out / "checkpoints").iterdir())
    capsys.readouterr()
    code = sr_train(
        pairs, out, "--psnr-only", "--iterations", "2", "--resume", "--set", "model.nb=2"
    )
    err = capsys.readouterr().err
    assert code == 2 and "checkpoint of another model configuration" in err and "model.nb" in err
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == before
