"""``dsgan export`` and ``dsgan upscale --backend onnxruntime``: ONNX Runtime equals PyTorch on two
sizes, the ESRGAN ``.pth`` loads in spandrel and upscales as ``dsgan upscale`` does, TorchScript
loads without dsgan, a DSGAN generator exports with its noise as an input, and bad requests are
clear errors that write nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from dsgan.checkpoints import save_weights
from dsgan.config.dsgan import DSGANConfig
from dsgan.config.sr import SRConfig
from dsgan.io.images import load_image
from dsgan.models import RRDBNet
from dsgan.models.dsgan import generator_from_config

ort = pytest.importorskip("onnxruntime")


def _randomise(net: torch.nn.Module, seed: int = 0) -> None:
    """Weights large enough that a wrong export shows (the zero-initialised layers too)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.05)


def _sr_file(tmp_path: Path, scale: int = 2, gc: int = 32) -> tuple[Path, RRDBNet]:
    """An `sr-train` export (our safetensors with its config) of a tiny RRDBNet."""
    cfg = SRConfig.model_validate(
        {"model": {"preset": "small", "nb": 1, "nf": 16, "gc": gc}, "data": {"scale": scale}}
    )
    net = RRDBNet(scale=scale, **cfg.model.arch()).eval()
    _randomise(net)
    path = tmp_path / "sr" / "generator.safetensors"
    save_weights(path, 7, {"g": net}, "sr-generator", cfg.model_dump_json())
    return path, net


def _dsgan_file(tmp_path: Path, model: dict) -> tuple[Path, torch.nn.Module]:
    cfg = DSGANConfig.model_validate({"model": model, "loss": {"perceptual": "none"}})
    g = generator_from_config(cfg.model.model_dump()).eval()
    _randomise(g)
    path = tmp_path / "dsgan" / "generator.safetensors"
    save_weights(path, 9, {"g": g}, "dsgan-generator", cfg.model_dump_json())
    return path, g


def _session(path: Path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("scale", [4, 2])
def test_sr_onnx_equals_pytorch_on_two_sizes(tmp_path, run_cli, scale) -> None:
    src, net = _sr_file(tmp_path, scale)
    out = tmp_path / "sr.onnx"
    code, stdout, _ = run_cli(["export", str(src), "--format", "onnx", "--output", str(out)])
    assert code == 0 and "SR model" in stdout
    sess = _session(out)
    meta = sess.get_modelmeta().custom_metadata_map
    assert meta["dsgan.kind"] == "sr" and meta["scale"] == str(scale) and meta["opset"] == "17"
    for shape in [(1, 3, 16, 20), (2, 3, 23, 13)]:  # odd sizes: x2 pads inside the graph
        x = torch.rand(*shape)
        (y,) = sess.run(None, {"lr": x.numpy()})
        with torch.no_grad():
            ref = net(x)
        assert y.shape == tuple(ref.shape)
        assert np.abs(y - ref.numpy()).max() <= 1e-4


def test_sr_pth_loads_in_spandrel_and_matches_dsgan_upscale(tmp_path, run_cli, make_images):
    spandrel = pytest.importorskip("spandrel")
    src, _ = _sr_file(tmp_path, scale=4)
    pth = tmp_path / "esrgan.pth"
    assert run_cli(["export", str(src), "--format", "pth", "--output", str(pth)])[0] == 0
    desc = spandrel.ModelLoader().load_from_file(pth)
    assert desc.architecture.id == "ESRGAN" and desc.scale == 4
    inp, up = tmp_path / "in", tmp_path / "up"
    make_images(inp, 2, [(12, 16), (10, 10)])
    argv = ["upscale", "--checkpoint", str(src), "--input", str(inp), "--output", str(up)]
    assert run_cli([*argv, "--device", "cpu"])[0] == 0
    for name in ("img_000", "img_001"):
        x = load_image(inp / f"{name}.png").unsqueeze(0)
        with torch.no_grad():
            theirs = desc.model(x).clamp(0, 1)[0]
        ours = load_image(up / f"{name}.png")
        # both quantised to 8 bits: at most one level apart where a value sits on a rounding edge
        assert (theirs * 255 - ours * 255).abs().max() <= 1.0 + 1e-3


def test_pth_warns_when_spandrel_cannot_load_it(tmp_path, run_cli) -> None:
    src, _ = _sr_file(tmp_path, scale=4, gc=8)
    code, _, err = run_cli(
        ["export", str(src), "--format", "pth", "--output", str(tmp_path / "a.pth")]
    )
    assert code == 0 and "spandrel" in err and "8 growth channels" in err


def test_torchscript_loads_without_dsgan(tmp_path, run_cli) -> None:
    src, net = _sr_file(tmp_path, scale=2)
    pt = tmp_path / "sr.pt"
    assert run_cli(["export", str(src), "--format", "torchscript", "--output", str(pt)])[0] == 0
    x = torch.rand(1, 3, 14, 18)
    torch.save(x, tmp_path / "x.pt")
    # no site module (so no editable-install hook), only torch's own folder on the path
    torch_site = str(Path(torch.__file__).parent.parent)
    script = (
        "import sys, json, torch\n"
        "try:\n    import dsgan\n    sys.exit('dsgan is importable')\nexcept ImportError:\n    pass\n"
        f"extra = {{'dsgan.json': ''}}\n"
        f"m = torch.jit.load({str(pt)!r}, _extra_files=extra)\n"
        f"y = m(torch.load({str(tmp_path / 'x.pt')!r}))\n"
        f"torch.save(y, {str(tmp_path / 'y.pt')!r})\n"
        "print(json.loads(extra['dsgan.json'])['scale'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = torch_site
    res = subprocess.run(
        [sys.executable, "-S", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "2"
    with torch.no_grad():
        assert (torch.load(tmp_path / "y.pt") - net(x)).abs().max() <= 1e-5


@pytest.mark.parametrize("codec", [False, True])
def test_dsgan_generator_exports_with_noise_as_input(tmp_path, run_cli, codec) -> None:
    model = {
        "output": "residual",
        "noise_channels": 3,
        "signal_noise": True,
        "n_res_blocks": 2,
        "channels": 16,
        "block_period": 16,
    }
    if codec:
        model.update(codec="jpeg", codec_gate=True, codec_quality=60)
    src, g = _dsgan_file(tmp_path, model)
    out = tmp_path / "g.onnx"
    code, stdout, _ = run_cli(["export", str(src), "--format", "onnx", "--output", str(out)])
    assert code == 0 and "DSGAN generator" in stdout
    assert ("not in the exported graph" in stdout) == codec
    sess = _session(out)
    assert [i.name for i in sess.get_inputs()] == ["lr", "noise"]
    meta = sess.get_modelmeta().custom_metadata_map
    assert meta["dsgan.kind"] == "dsgan" and meta["noise_channels"] == "3"
    if codec:
        assert float(meta["codec_quality"]) == pytest.approx(float(g.codec.quality), abs=0.01)
        assert float(meta["codec_gate"]) == pytest.approx(float(g.codec.gate), abs=1e-4)
    for shape in [(1, 3, 24, 32), (2, 3, 37, 21)]:
        x, n = torch.rand(*shape), torch.randn(shape[0], 3, *shape[2:])
        (y,) = sess.run(None, {"lr": x.numpy(), "noise": n.numpy()})
        with torch.no_grad():
            ref = g(x, n, None, codec_offset=None)  # G up to its codec
        assert np.abs(y - ref.numpy()).max() <= 1e-4
        # the noise is the caller's: another draw, another output
        (y2,) = sess.run(None, {"lr": x.numpy(), "noise": (-n).numpy()})
        assert np.abs(y2 - y).max() > 1e-3


def test_upscale_onnxruntime_backend_equals_torch(tmp_path, run_cli, make_images) -> None:
    src, _ = _sr_file(tmp_path, scale=2)
    inp = tmp_path / "in"
    make_images(inp, 3, [(12, 16), (12, 16), (19, 9)])
    outs = {}
    for backend in ("torch", "onnxruntime"):
        outs[backend] = tmp_path / backend
        argv = ["upscale", "--checkpoint", str(src), "--input", str(inp), "--output"]
        argv += [str(outs[backend]), "--backend", backend, "--batch-size", "2", "--tile", "8"]
        code, stdout, _ = run_cli(argv)
        assert code == 0 and "x2: 3 written" in stdout
    # and from an exported .onnx file
    onnx_file = tmp_path / "m.onnx"
    assert run_cli(["export", str(src), "--format", "onnx", "--output", str(onnx_file)])[0] == 0
    argv = ["upscale", "--checkpoint", str(onnx_file), "--input", str(inp), "--output"]
    assert run_cli([*argv, str(tmp_path / "file"), "--backend", "onnxruntime"])[0] == 0
    for name in ("img_000", "img_001", "img_002"):
        ref = load_image(outs["torch"] / f"{name}.png")
        for other in (outs["onnxruntime"], tmp_path / "file"):
            assert (load_image(other / f"{name}.png") - ref).abs().max() * 255 <= 1.0 + 1e-3


def test_bad_requests_are_clear_errors(tmp_path, run_cli, make_images) -> None:
    dsgan_src, _ = _dsgan_file(tmp_path, {"output": "residual", "n_res_blocks": 1})
    out = tmp_path / "x.pth"
    code, _, err = run_cli(["export", str(dsgan_src), "--format", "pth", "--output", str(out)])
    assert code == 2 and "for SR models" in err and not out.exists()
    sr_src, _ = _sr_file(tmp_path)
    existing = tmp_path / "exists.onnx"
    existing.write_bytes(b"keep")
    code, _, err = run_cli(["export", str(sr_src), "--format", "onnx", "--output", str(existing)])
    assert code == 2 and "--overwrite" in err and existing.read_bytes() == b"keep"
    code, _, err = run_cli(["export", str(tmp_path / "missing"), "--format", "onnx"])
    assert code == 2 and "not found" in err
    # an ONNX file with the torch backend; a DSGAN graph as an SR model
    inp = tmp_path / "in"
    make_images(inp, 1, 8)
    g_onnx = tmp_path / "g.onnx"
    assert run_cli(["export", str(dsgan_src), "--format", "onnx", "--output", str(g_onnx)])[0] == 0
    argv = ["upscale", "--checkpoint", str(g_onnx), "--input", str(inp), "--output"]
    code, _, err = run_cli([*argv, str(tmp_path / "o1")])
    assert code == 2 and "--backend onnxruntime" in err
    code, _, err = run_cli([*argv, str(tmp_path / "o2"), "--backend", "onnxruntime"])
    assert code == 2 and "not an SR model" in err
    assert not (tmp_path / "o1").exists() or not any((tmp_path / "o1").iterdir())


def test_default_output_is_beside_the_run(tmp_path, run_cli) -> None:
    src, _ = _sr_file(tmp_path)
    code, stdout, _ = run_cli(["export", str(src.parent), "--format", "torchscript"])
    assert code == 0 and (src.parent / "model.pt").is_file()
    assert json.dumps(str(src.parent / "model.pt"))[1:-1] in stdout
