"""``dsgan upscale``: tiling equals untiled inference, batching, skip/overwrite, folder safety."""

from __future__ import annotations

import pytest
import torch

from dsgan.checkpoints import save_weights
from dsgan.checkpoints.load import load_sr_model
from dsgan.cli.main import main
from dsgan.errors import UserError
from dsgan.inference.upscale import UpscaleOptions, upscale_batch, upscale_folder
from dsgan.io.images import load_image
from dsgan.models import RRDBNet


@pytest.mark.parametrize(
    ("preset", "overrides", "scale", "tile", "overlap", "size"),
    [
        ("small", {}, 4, 8, 64, (20, 28)),  # the CPU preset, overlap >= its radius 63
        ("small", {"nb": 1}, 4, 12, 18, (40, 36)),  # radius 18: real tiling
        ("small", {"nb": 1}, 2, 16, 36, (48, 40)),  # x2 (pixel-unshuffle), radius 36
    ],
)
def test_tiled_equals_untiled(preset, overrides, scale, tile, overlap, size) -> None:
    torch.manual_seed(0)
    net = RRDBNet.from_preset(preset, scale=scale, **overrides).eval()
    assert overlap >= net.receptive_radius
    x = torch.rand(1, 3, *size)
    whole = upscale_batch(net, x)
    tiled = upscale_batch(net, x, tile=tile, overlap=overlap)
    assert tiled.shape == (1, 3, size[0] * scale, size[1] * scale)
    assert (tiled - whole).abs().max() <= 1e-5
    assert float(whole.min()) >= 0 and float(whole.max()) <= 1


@pytest.fixture
def model_file(tmp_path):
    net = RRDBNet(nf=8, nb=1, gc=4, scale=2)
    path = tmp_path / "basicsr_x2.pth"
    torch.save({"params": net.state_dict()}, path)
    return path


def test_upscale_cli(tmp_path, make_images, model_file, capsys) -> None:
    inp = tmp_path / "in"
    make_images(inp, 3, [(12, 16), (12, 16), (10, 10)])
    out = tmp_path / "out"
    args = [
        "upscale",
        "--checkpoint",
        str(model_file),
        "--input",
        str(inp),
        "--output",
        str(out),
        "--batch-size",
        "2",
        "--device",
        "cpu",
    ]
    assert main(args) == 0
    assert "x2: 3 written" in capsys.readouterr().out
    assert load_image(out / "img_002.png").shape == (3, 20, 20)
    assert load_image(out / "img_000.png").shape == (3, 24, 32)
    assert main(args) == 0
    assert "0 written, 3 already present" in capsys.readouterr().out
    assert main([*args, "--overwrite", "--tile", "6"]) == 0
    assert "3 written" in capsys.readouterr().out


@pytest.mark.parametrize("where", ["same", "inside"])
def test_refuses_output_in_input(tmp_path, make_images, model_file, where) -> None:
    inp = tmp_path / "in"
    make_images(inp, 1, 8)
    out = inp if where == "same" else inp / "sr"
    model, _ = load_sr_model(model_file)
    with pytest.raises(UserError, match="inside the input folder"):
        upscale_folder(model, inp, out, UpscaleOptions(), torch.device("cpu"))
    assert (
        main(
            ["upscale", "--checkpoint", str(model_file), "--input", str(inp), "--output", str(out)]
        )
        == 2
    )
    assert not (inp / "sr").exists()


def test_loads_our_export_and_refuses_other_kinds(tmp_path) -> None:
    from dsgan.config.sr import SRConfig

    cfg = SRConfig.model_validate({"model": {"preset": "small", "nb": 1}, "data": {"scale": 2}})
    net = RRDBNet(scale=2, **cfg.model.arch())
    save_weights(tmp_path / "g.safetensors", 5, {"g": net}, "sr-generator", cfg.model_dump_json())
    model, info = load_sr_model(tmp_path / "g.safetensors")
    assert info["scale"] == 2 and model.arch["nb"] == 1
    save_weights(tmp_path / "d.safetensors", 5, {"g": net}, "dsgan-generator", "{}")
    with pytest.raises(UserError, match="not an SR generator"):
        load_sr_model(tmp_path / "d.safetensors")


def test_ranks_partition_the_files(tmp_path, make_images) -> None:
    """Under torchrun each rank takes its own files; together they cover the folder once."""
    make_images(tmp_path / "in", 5, 12)
    model = RRDBNet.from_preset("small", scale=2, nb=1)
    written = []
    for rank in range(2):
        out = tmp_path / f"out{rank}"
        counts = upscale_folder(
            model, tmp_path / "in", out, UpscaleOptions(), torch.device("cpu"), rank, 2
        )
        assert counts["written"] == (3 if rank == 0 else 2)
        written.append({p.name for p in out.glob("*.png")})
    assert written[0].isdisjoint(written[1])
    assert written[0] | written[1] == {p.stem + ".png" for p in (tmp_path / "in").glob("*.png")}


@pytest.mark.parametrize("tile_batch", [2, 5, 64])
def test_tile_batches_equal_one_tile_at_a_time(tile_batch) -> None:
    """Tiles of one size stacked into one forward (edge tiles, smaller, in their own groups) give
    the one-at-a-time result, for a batch of two images (each tile's two crops stay together)."""
    torch.manual_seed(0)
    net = RRDBNet.from_preset("small", scale=2, nb=1).eval()
    x = torch.rand(2, 3, 30, 26)
    one = upscale_batch(net, x, tile=8, overlap=6)
    many = upscale_batch(net, x, tile=8, overlap=6, tile_batch=tile_batch)
    assert (many - one).abs().max() <= 1e-5
    assert not torch.equal(one[0], one[1])


def test_bf16_and_channels_last_flags(tmp_path, make_images, run_cli) -> None:
    """--amp bf16 --channels-last --tile-batch run and stay near fp32; flags that do not apply to
    the chosen backend, or a tile batch of 0, are refused before any work."""
    net = RRDBNet(nf=16, nb=1, gc=8, scale=2).eval()
    model = tmp_path / "m.pth"
    torch.save({"params": net.state_dict()}, model)
    inp = tmp_path / "in"
    make_images(inp, 2, 16)
    base = ["upscale", "--checkpoint", str(model), "--input", str(inp), "--output"]
    assert run_cli([*base, str(tmp_path / "fp32"), "--tile", "8"])[0] == 0
    fast = [str(tmp_path / "bf16"), "--tile", "8", "--amp", "bf16", "--channels-last"]
    assert run_cli([*base, *fast, "--tile-batch", "4"])[0] == 0
    for name in ("img_000", "img_001"):
        a, b = (
            load_image(tmp_path / "fp32" / f"{name}.png"),
            load_image(tmp_path / "bf16" / f"{name}.png"),
        )
        assert (a - b).abs().max() <= 0.05
    for extra, msg in (
        (["--backend", "onnxruntime", "--amp", "bf16"], "--backend torch only"),
        (["--tile-batch", "0"], "--tile-batch >= 1"),
    ):
        code, _, err = run_cli([*base, str(tmp_path / "bad"), *extra])
        assert code == 2 and msg in err
        assert not (tmp_path / "bad").exists()
