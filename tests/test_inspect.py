"""``dsgan inspect`` and the physical degradation statistics behind it (CPU, tiny images)."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch.special import ndtr

from dsgan.cli.main import main
from dsgan.io.images import list_images, load_image, save_image
from dsgan.metrics import degradation as deg
from dsgan.metrics.inspect_report import learned_rows
from dsgan.models.dsgan import Generator


def _ramps(n: int = 4, size: int = 64) -> list[torch.Tensor]:
    """Smooth clean images whose channels sweep most of [0, 1] (no clipping)."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    return [
        torch.stack([0.1 + 0.8 * xx, 0.1 + 0.8 * yy, 0.5 + 0.35 * torch.sin(3 * xx + 2 * yy + i)])
        for i in range(n)
    ]


def _quantise(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(0, 1) * 255).round() / 255


def _noisy(images: list[torch.Tensor], std: Callable[[torch.Tensor], Any], seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return [_quantise(c + torch.randn(c.shape, generator=g) * std(c) / 255) for c in images]


def _rectangles(n: int = 4, size: int = 64, seed: int = 0) -> list[torch.Tensor]:
    """Piecewise-constant images: random overlapping rectangles of random colours (sharp edges)."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        img = torch.full((3, size, size), 0.5)
        for _ in range(8):
            y0, x0 = torch.randint(0, size - 8, (2,), generator=g).tolist()
            h, w = torch.randint(6, size // 2, (2,), generator=g).tolist()
            img[:, y0 : y0 + h, x0 : x0 + w] = 0.1 + 0.8 * torch.rand(3, 1, 1, generator=g)
        out.append(img)
    return out


def _gaussian(images: list[torch.Tensor], sigma: float) -> list[torch.Tensor]:
    r = math.ceil(4 * sigma)
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = (k / k.sum())[None, None]
    out = []
    for im in images:
        x = F.pad(im[:, None], (r, r, r, r), mode="replicate")
        x = F.conv2d(F.conv2d(x, k[..., None, :]), k[..., :, None])
        out.append(x[:, 0])
    return out


# ------------------------------------------------------------------ noise level function
def test_noise_level_function_recovers_a_constant_sigma() -> None:
    nlf = deg.noise_level_function(_noisy(_ramps(), lambda c: 8.0))
    for ch in "rgb":
        assert nlf["overall"][ch] == pytest.approx(8.0, rel=0.1)
        known = [s for s in nlf["std"][ch] if s is not None]
        assert len(known) >= 4
        assert all(s == pytest.approx(8.0, rel=0.15) for s in known)
    assert nlf["levels"] == pytest.approx([(b + 0.5) / 8 for b in range(8)])


def test_white_noise_on_a_flat_image_gives_its_sigma() -> None:
    g = torch.Generator().manual_seed(3)
    flat = [0.5 + torch.randn(3, 48, 48, generator=g) * 5 / 255 for _ in range(3)]
    nlf = deg.noise_level_function(flat, bins=4)
    assert nlf["std"]["g"][2] == pytest.approx(5.0, rel=0.1)  # all pixels in bin [0.5, 0.75)
    assert nlf["std"]["g"][0] is None and nlf["pixels"]["g"][0] == 0


def test_low_noise_on_8_bit_images_is_not_read_in_steps() -> None:
    """Responses of 8-bit images are whole grey levels; a plain median reads 0.49, 0.74, 0.99."""
    sigmas = (0.5, 0.6, 0.7, 0.8, 0.9)
    got = [
        deg.noise_level_function(_noisy(_ramps(2), lambda c, s=s: s))["overall"]["g"]
        for s in sigmas
    ]
    for s, est in zip(sigmas, got, strict=True):  # 8-bit rounding adds 1/12 variance
        assert est == pytest.approx(math.sqrt(s**2 + 1 / 12), rel=0.1)
    assert all(a < b for a, b in itertools.pairwise(got)), got


def test_noise_level_function_ignores_edges() -> None:
    """Texture would inflate the estimate; the flat-pixel selection keeps it near the truth."""
    g = torch.Generator().manual_seed(0)
    blocks = [  # random colour blocks of 5x5 px: most pixels lie near an edge
        torch.kron(0.15 + 0.7 * torch.rand(3, 13, 13, generator=g), torch.ones(5, 5))[:, :64, :64]
        for _ in range(4)
    ]
    images = _noisy(blocks, lambda c: 2.0)
    truth = math.sqrt(2.0**2 + 1 / 12)  # with 8-bit rounding
    assert deg.noise_level_function(images)["overall"]["g"] == pytest.approx(truth, rel=0.12)
    assert deg.noise_level_function(images, keep=1.0)["overall"]["g"] > 1.15 * truth


def test_noise_level_function_follows_signal_dependent_noise() -> None:
    nlf = deg.noise_level_function(_noisy(_ramps(), lambda c: 2.0 + 14.0 * c))
    for ch in "rgb":
        pairs = [(lv, s) for lv, s in zip(nlf["levels"], nlf["std"][ch], strict=True) if s]
        assert len(pairs) >= 4
        stds = [s for _, s in pairs]
        assert stds == sorted(stds) and stds[-1] > 1.8 * stds[0]
        assert all(s == pytest.approx(2 + 14 * lv, rel=0.2) for lv, s in pairs)


def test_noise_structure_whiteness_and_correlation() -> None:
    clean = _ramps(3)
    white = deg.noise_structure(_noisy(clean, lambda c: 6.0))
    assert white["whiteness"]["mean"] == pytest.approx(1.0, abs=0.2)
    assert abs(white["correlation"]["mean"]) < 0.1
    g = torch.Generator().manual_seed(1)
    smooth = [  # 3x3-box-filtered noise: little power at the highest frequencies
        c + F.avg_pool2d(torch.randn(3, 1, 66, 66, generator=g), 3, 1)[:, 0] * 6 / 255
        for c in clean
    ]
    assert deg.noise_structure(smooth)["whiteness"]["mean"] < 0.5
    grey = [c + torch.randn(1, 64, 64, generator=g) * 6 / 255 for c in clean]  # same in r, g, b
    assert deg.noise_structure(grey)["correlation"]["mean"] > 0.95
    assert deg.noise_structure(clean)["whiteness"]["mean"] is None  # no noise: no ratio


# ------------------------------------------------------------------ blur, colour, JPEG
def test_blur_width_increases_with_blur() -> None:
    base = _rectangles(4)
    widths = [deg.blur_width(_gaussian(base, s)) for s in (0.6, 1.0, 1.5, 2.0, 2.5)]
    assert all(w is not None for w in widths)
    assert all(a < b for a, b in itertools.pairwise(widths)), widths
    noisy = [deg.blur_width(_noisy(_gaussian(base, s), lambda c: 3.0)) for s in (0.8, 1.6)]
    assert noisy[0] < noisy[1]
    assert deg.blur_width([torch.full((3, 32, 32), 0.5)]) is None


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
def test_blur_width_reads_the_sigma_of_gaussian_edges(sigma: float) -> None:
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    images = []
    for i in range(12):
        th = 0.5 * i
        u = (xx - 32) * math.cos(th) + (yy - 32) * math.sin(th) - (i % 3)
        images.append((0.2 + 0.6 * ndtr(u / sigma)).expand(3, -1, -1))
    assert deg.blur_width(images) == pytest.approx(sigma, rel=0.15)


def test_colour_shift_and_mean_rgb() -> None:
    a = _ramps(2, 16)
    b = [x + torch.tensor([10.0, 0.0, -5.0])[:, None, None] / 255 for x in a]
    assert deg.colour_shift(b, a) == pytest.approx([10.0, 0.0, -5.0], abs=1e-6)
    assert deg.mean_rgb([torch.full((3, 4, 4), 0.2)]) == pytest.approx([51.0] * 3)
    with pytest.raises(ValueError):
        deg.colour_shift(a, a[:1])


def test_jpeg_settings_reads_quality_and_subsampling(tmp_path: Path) -> None:
    img = Image.fromarray((torch.rand(32, 32, 3) * 255).byte().numpy())
    img.save(tmp_path / "a.jpg", quality=30, subsampling=2)
    img.save(tmp_path / "b.jpg", quality=30, subsampling=2)
    img.save(tmp_path / "c.jpg", quality=90, subsampling=0)
    img.save(tmp_path / "d.png")
    got = deg.jpeg_settings(sorted(tmp_path.iterdir()))
    assert got == {"files": 3, "quality": pytest.approx(30, abs=1.5), "chroma": "4:2:0"}
    one = deg.jpeg_settings([tmp_path / "c.jpg"])
    assert one is not None and one["quality"] == pytest.approx(90, abs=1.5)
    assert one["chroma"] == "4:4:4"
    assert deg.jpeg_settings([tmp_path / "d.png"]) is None


# ------------------------------------------------------------------ learned stages
def test_learned_stages_of_a_physical_generator() -> None:
    g = Generator(
        output="residual",
        noise_channels=3,
        blur=4,
        signal_noise=True,
        codec="jpeg",
        codec_gate=True,
    )
    with torch.no_grad():
        g.blur.sigma_param.fill_(math.log(math.expm1(1.2)))
        g.codec.quality_logit.fill_(math.log((40 - 1) / (100 - 40)))  # q = 40
        g.sensor.log_shot[0] += math.log(4.0)  # red: 4x the shot variance
        g.sensor.mix[1, 0] = 1.0
    st = deg.learned_stages(g, [0.25, 0.5, 0.75])
    s = math.sqrt(0.5)
    assert st["blur_sigma"] == pytest.approx(1.2, rel=1e-4) and st["blur_radius"] == 4
    assert st["codec_quality"] == pytest.approx(40.0, rel=1e-4)
    assert st["codec_gate"] == pytest.approx(0.5) and st["codec_chroma"] == "4:2:0"
    # initial sensor: std(y) = sqrt(y + 0.5) grey levels per channel, red with 4x the shot term
    for ch, shot in (("r", 4.0), ("g", 1.0), ("b", 1.0)):
        expect = [math.sqrt(shot * y + 0.5) for y in (0.25, 0.5, 0.75)]
        assert st["sensor_std"][ch] == pytest.approx(expect, rel=1e-4)
    assert st["sensor_levels"] == [0.25, 0.5, 0.75]
    corr = torch.tensor(st["sensor_correlation"])  # g's noise mixes in r's: rows (1,0,0), (1,1,0)
    assert torch.allclose(corr, torch.tensor([[1, s, 0], [s, 1, 0], [0, 0, 1]]), atol=1e-6)
    assert st["receptive_field"] == 2 * g.receptive_radius + 1 == 2 * (2 + 16 + 4) + 1
    assert st["output"] == "residual" and st["noise_channels"] == 3
    assert (
        st["network_noise"]
        and "stages only" not in dict(learned_rows({"learned": st}))["output, noise channels"]
    )
    g.network_noise = False  # what the report says of a G whose network draws no noise
    row = dict(learned_rows({"learned": deg.learned_stages(g, [0.5])}))["output, noise channels"]
    assert row == "residual, 3 (stages only)"


def test_learned_stages_of_a_plain_generator_are_null() -> None:
    st = deg.learned_stages(Generator(), [0.5])
    for key in (
        "blur_sigma",
        "blur_radius",
        "sensor_levels",
        "sensor_std",
        "sensor_correlation",
        "codec_quality",
        "codec_gate",
        "codec_chroma",
    ):
        assert st[key] is None, key
    assert st["receptive_field"] == 2 * (2 + 16) + 1


# ------------------------------------------------------------------ the command
@pytest.fixture
def trained(tiny_dsgan: Any, tmp_path: Path, make_images: Callable[..., list[Path]]) -> Path:
    """A tiny trained run (x2, residual G with learned blur and sensor noise), its inputs."""
    t = tiny_dsgan(
        {
            "model.output": "residual",
            "model.noise_channels": 3,
            "model.signal_noise": True,
            "model.blur": 2,
            "iterations": 2,
        }
    )
    t.train()
    make_images(tmp_path / "hr_in", 2, 40, seed=5)
    make_images(tmp_path / "lr_real", 2, 20, seed=6)
    noisy = _noisy([load_image(p) for p in list_images(tmp_path / "lr_real")], lambda c: 6.0)
    save_image(noisy[0], tmp_path / "lr_real" / "z.jpg", quality=60)
    return Path(t.cfg.out)


def _snapshot(*folders: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for f in folders for p in sorted(f.rglob("*"))}


def test_inspect_end_to_end(trained: Path, tmp_path: Path, capsys: Any) -> None:
    hr, lr = tmp_path / "hr_in", tmp_path / "lr_real"
    before = _snapshot(hr, lr)
    out_json, out_html = tmp_path / "out" / "i.json", tmp_path / "out" / "i.html"
    argv = ["inspect", str(trained), "--hr", str(hr), "--lr", str(lr), "--device", "cpu"]
    rc = main([*argv, "--json", str(out_json), "--report", str(out_html), "--seed", "3"])
    assert rc == 0
    stdout = capsys.readouterr().out
    assert "blur sigma" in stdout and "noise std" in stdout and "generated" in stdout
    assert _snapshot(hr, lr) == before  # inputs untouched, nothing added

    res = json.loads(out_json.read_text())
    assert set(res) == {"model", "inputs", "learned", "measured", "colour_shift", "notes"}
    assert res["model"]["scale"] == 2 and res["inputs"]["n_hr"] == 2 and res["inputs"]["n_lr"] == 3
    le = res["learned"]
    assert 0 < le["blur_sigma"] < 1 and le["codec_quality"] is None
    assert len(le["sensor_std"]["r"]) == 8 and len(le["sensor_correlation"]) == 3
    for col in ("bicubic", "generated", "real"):
        m = res["measured"][col]
        assert set(m) >= {"noise_level", "whiteness", "correlation", "blur_sigma", "mean_rgb"}
        assert len(m["noise_level"]["std"]["g"]) == 8 and len(m["mean_rgb"]) == 3
    assert res["measured"]["real"]["jpeg"]["files"] == 1
    assert len(res["colour_shift"]["generated_vs_bicubic"]) == 3

    # the generated images are those `dsgan degrade` writes with the same seed
    deg_out = tmp_path / "degraded"
    argv = ["degrade", "--checkpoint", str(trained), "--input", str(hr), "--output", str(deg_out)]
    assert main([*argv, "--layout", "lr", "--device", "cpu", "--workers", "0", "--seed", "3"]) == 0
    written = [load_image(p) for p in list_images(deg_out)]
    assert res["measured"]["generated"]["mean_rgb"] == pytest.approx(deg.mean_rgb(written))

    page = out_html.read_text()
    assert "<svg" in page and "generated r" in page and "real b" in page and "learned g" in page
    assert 'stroke-dasharray="7,4"' in page  # real: dashed


def test_inspect_without_folders_reports_the_learned_stages(trained: Path, capsys: Any) -> None:
    assert main(["inspect", str(trained / "generator.safetensors"), "--json", "-"]) == 0
    cap = capsys.readouterr()
    res = json.loads(cap.out)
    assert res["measured"] == {"bicubic": None, "generated": None, "real": None}
    assert res["learned"]["blur_sigma"] is not None
    assert "blur sigma" in cap.err and "sensor noise std" in cap.err


def test_inspect_bad_inputs_exit_2(trained: Path, tmp_path: Path, capsys: Any) -> None:
    missing = tmp_path / "nope"
    assert main(["inspect", str(trained), "--hr", str(missing)]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "--hr" in err and "folder" in err

    (tmp_path / "empty").mkdir()
    assert main(["inspect", str(trained), "--lr", str(tmp_path / "empty")]) == 2
    assert "no images" in capsys.readouterr().err

    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not weights")
    assert main(["inspect", str(junk)]) == 2
    assert str(junk) in capsys.readouterr().err

    assert main(["inspect", str(missing)]) == 2
    assert "run directory" in capsys.readouterr().err

    lr = tmp_path / "lr_real"
    assert main(["inspect", str(trained), "--lr", str(lr), "--json", str(lr / "x.json")]) == 2
    assert "--lr" in capsys.readouterr().err and not (lr / "x.json").exists()


@pytest.mark.parametrize(("snap", "mode"), [(0.0, "blend"), (0.5, "blend"), (0.0, "sample")])
def test_inspect_names_a_blended_codec_gate(tiny_dsgan: Any, snap: float, mode: str) -> None:
    """A gate between on and off is reported as a blend (with the share of G's output that
    bypasses the codec); a snapped gate (``optim.gate_snap``) is not; a sampled one
    (``model.codec_gate_mode`` sample) is reported as the share of outputs it coded."""
    from dsgan.workflows.inspect import InspectOptions, inspect_model

    over = {"model.output": "residual", "model.noise_channels": 3, "model.codec": "jpeg"}
    over.update({"model.codec_gate": True, "optim.gate_snap": snap, "iterations": 2})
    t = tiny_dsgan({**over, "model.codec_gate_mode": mode})
    t.train()
    res = inspect_model(InspectOptions(model=Path(t.cfg.out), device="cpu"))
    gate = res["learned"]["codec_gate"]
    blend = [n for n in res["notes"] if "is a blend" in n]
    sampled = [n for n in res["notes"] if "was sampled" in n]
    if snap:
        assert gate in (pytest.approx(1.0), pytest.approx(0.0, abs=1e-9)) and not blend
    elif mode == "sample":
        assert 0.1 < gate < 0.9 and not blend and len(sampled) == 1
        assert f"{gate:.0%}" in sampled[0]
    else:
        assert 0.1 < gate < 0.9 and len(blend) == 1 and f"{1 - gate:.0%}" in blend[0]
