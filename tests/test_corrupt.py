"""Synthetic corruptions: noise, JPEG, blur, and their combination."""

from __future__ import annotations

import zlib

import pytest
import torch

from dsgan.ops.corrupt import apply_corruptions, gaussian_blur, gaussian_noise, jpeg, quantize
from dsgan.ops.filters import HighPass


def textured(seed: int = 0, size: int = 32) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return quantize(torch.rand(3, size, size, generator=g))


def high_energy(x: torch.Tensor) -> float:
    return float(HighPass("box", 3)(x[None]).pow(2).mean())


def test_gaussian_noise_is_seeded_and_has_the_right_std():
    grey = torch.full((3, 64, 64), 0.5)
    a = gaussian_noise(grey, 10.0, torch.Generator().manual_seed(1))
    b = gaussian_noise(grey, 10.0, torch.Generator().manual_seed(1))
    c = gaussian_noise(grey, 10.0, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    noise = (a - grey) * 255
    assert abs(float(noise.std()) - 10.0) < 0.4  # 12288 samples: std error ~0.07
    assert abs(float(noise.mean())) < 0.4
    # channels get independent noise
    assert abs(float(torch.corrcoef(noise.reshape(3, -1))[0, 1])) < 0.1
    assert torch.equal(gaussian_noise(grey, 0.0), grey)


def test_gaussian_noise_is_clamped():
    white = torch.ones(3, 16, 16)
    out = gaussian_noise(white, 50.0, torch.Generator().manual_seed(0))
    assert float(out.max()) <= 1.0 and float(out.min()) >= 0.0 and float(out.min()) < 1.0


def test_jpeg_changes_the_image_deterministically():
    x = textured()
    a, b = jpeg(x, 30), jpeg(x, 30)
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b)
    err_low = float((a - x).abs().mean())
    err_high = float((jpeg(x, 95) - x).abs().mean())
    assert err_low > 0.02 and err_high < err_low  # lower quality, more damage
    assert high_energy(a) < high_energy(x)  # JPEG removes high-frequency detail
    with pytest.raises(ValueError, match="quality"):
        jpeg(x, 0)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
def test_blur_reduces_high_pass_energy(sigma):
    x = textured(1)
    y = gaussian_blur(x, sigma)
    assert y.shape == x.shape
    assert high_energy(y) < 0.6 * high_energy(x)
    assert abs(float(y.mean() - x.mean())) < 0.01  # brightness kept


def test_blur_strength_increases_with_sigma():
    x = textured(2)
    energies = [high_energy(gaussian_blur(x, s)) for s in (0.5, 1.0, 2.0)]
    assert energies[0] > energies[1] > energies[2]


def test_apply_corruptions_is_on_8bit_levels_and_reproducible():
    x = torch.rand(3, 24, 24, generator=torch.Generator().manual_seed(3))  # not quantised
    for kwargs in (
        {},
        {"noise_sigma": 5.0},
        {"blur_sigma": 1.0},
        {"jpeg_quality": 50},
        {"noise_sigma": 5.0, "blur_sigma": 1.0, "jpeg_quality": 50},
    ):
        a = apply_corruptions(x, generator=torch.Generator().manual_seed(7), **kwargs)
        b = apply_corruptions(x, generator=torch.Generator().manual_seed(7), **kwargs)
        assert torch.equal(a, b), kwargs
        levels = a * 255
        assert torch.allclose(levels, levels.round(), atol=1e-4), kwargs
        assert float(a.min()) >= 0 and float(a.max()) <= 1
    assert torch.equal(apply_corruptions(x), quantize(x))
    noisy = apply_corruptions(x, noise_sigma=20.0, generator=torch.Generator().manual_seed(0))
    assert float((noisy - quantize(x)).abs().mean()) > 0.02


def test_poisson_gaussian_noise_grows_with_brightness() -> None:
    from dsgan.ops.corrupt import poisson_gaussian_noise

    g = torch.Generator().manual_seed(0)
    dark, bright = torch.full((3, 64, 64), 0.1), torch.full((3, 64, 64), 0.9)
    sd_dark = float((poisson_gaussian_noise(dark, 400.0, 0.0, g) - dark).std() * 255)
    sd_bright = float((poisson_gaussian_noise(bright, 400.0, 0.0, g) - bright).std() * 255)
    assert sd_dark == pytest.approx(255 * (0.1 / 400) ** 0.5, rel=0.1)  # 4.0
    assert sd_bright == pytest.approx(255 * (0.9 / 400) ** 0.5, rel=0.1)  # 12.1
    read = poisson_gaussian_noise(dark, 1e9, 5.0, g) - dark  # no shot noise left: read only
    assert float(read.std() * 255) == pytest.approx(5.0, rel=0.1)
    with pytest.raises(ValueError, match="peak"):
        poisson_gaussian_noise(dark, 0.0)


def test_blur_first_keeps_the_noise_white() -> None:
    """A camera's order (blur, then noise) leaves white noise; the authors' order blurs it."""
    x = torch.full((3, 64, 64), 0.5)
    kw = {"noise_sigma": 8.0, "blur_sigma": 1.5}
    first = apply_corruptions(x, **kw, blur_first=True, generator=torch.Generator().manual_seed(1))
    after = apply_corruptions(x, **kw, generator=torch.Generator().manual_seed(1))

    def lag1(img: torch.Tensor) -> float:
        r = img - img.mean()
        return float((r[..., 1:] * r[..., :-1]).mean() / r.pow(2).mean())

    assert abs(lag1(first)) < 0.1
    assert lag1(after) > 0.5


def test_corrupt_cli_makes_camera_like_data_and_refuses_nonsense(tmp_path, make_images, capsys):
    from dsgan.cli.main import main
    from dsgan.io.images import list_images, load_image

    src = tmp_path / "in"
    make_images(src, 2, 32)
    out = tmp_path / "out"
    argv = ["corrupt", "--input", str(src), "--output", str(out), "--blur", "0.8"]
    argv += ["--shot-peak", "400", "--noise", "2", "--jpeg", "60", "--camera-order"]
    assert main(argv) == 0
    files = list_images(out)
    assert len(files) == 2
    want = apply_corruptions(
        load_image(list_images(src)[0]),
        2.0,
        0.8,
        60,
        generator=torch.Generator().manual_seed(zlib.crc32(list_images(src)[0].name.encode())),
        shot_peak=400.0,
        blur_first=True,
    )
    assert torch.allclose(load_image(files[0]), want, atol=1 / 255 + 1e-6)
    for bad in (["--noise", "nan"], ["--shot-peak", "inf"], ["--downscale", "0"]):
        code = main(["corrupt", "--input", str(src), "--output", str(tmp_path / "o2"), *bad])
        assert code == 2
        assert bad[0] in capsys.readouterr().err


def test_corrupt_workers_and_ranks_give_the_same_files(tmp_path, make_images, run_cli, monkeypatch):
    """The folder runner: corrupting in worker processes, or split over torchrun ranks, writes
    byte-identical files to a plain run (each file's noise comes from its own name)."""
    src = tmp_path / "in"
    make_images(src, 5, 32)
    args = ["--noise", "6", "--jpeg", "60", "--shot-peak", "300", "--seed", "3"]

    def files(folder):
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}

    assert run_cli(["corrupt", "--input", str(src), "--output", str(tmp_path / "a"), *args])[0] == 0
    argv = ["corrupt", "--input", str(src), "--output", str(tmp_path / "b"), "--workers", "2"]
    assert run_cli([*argv, *args])[0] == 0
    assert files(tmp_path / "a") == files(tmp_path / "b")
    for rank in (0, 1):  # two ranks into one folder, as torchrun would start them
        monkeypatch.setenv("WORLD_SIZE", "2")
        monkeypatch.setenv("RANK", str(rank))
        code, out, _ = run_cli(
            ["corrupt", "--input", str(src), "--output", str(tmp_path / "c"), *args]
        )
        assert code == 0 and f"{3 - rank} written" in out and f"rank {rank} of 2" in out
    assert files(tmp_path / "a") == files(tmp_path / "c")
