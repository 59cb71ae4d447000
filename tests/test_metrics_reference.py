"""PSNR / SSIM / colour PSNR known values and LPIPS weight handling."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision

from dsgan.errors import UserError
from dsgan.metrics.evaluate import EvalOptions, evaluate_images
from dsgan.metrics.reference import color_psnr, prepare, psnr, rgb_to_y, ssim


def test_identical_images():
    x = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert psnr(x, x) == math.inf
    assert ssim(x, x) == pytest.approx(1.0, abs=1e-9)


def test_constant_offset_formulas():
    x = torch.full((3, 24, 24), 0.4, dtype=torch.float64)
    y = x + 0.1
    assert psnr(x, y) == pytest.approx(10 * math.log10(1 / 0.01), abs=1e-6)
    assert color_psnr(x, y) == pytest.approx(20.0, abs=1e-6)
    c1 = 0.01**2  # constant images: only the luminance term of SSIM remains
    assert ssim(x, y) == pytest.approx((2 * 0.4 * 0.5 + c1) / (0.4**2 + 0.5**2 + c1), rel=1e-6)


def test_y_channel_and_crop():
    x = torch.zeros(3, 20, 20)
    y = rgb_to_y(x)
    assert y.shape == (1, 20, 20) and float(y.max()) == pytest.approx(16 / 255)
    assert prepare(x, crop_border=4).shape == (3, 12, 12)
    with pytest.raises(ValueError):
        prepare(x, crop_border=10)


def test_color_psnr_ignores_zero_mean_fine_detail():
    x = torch.full((3, 32, 32), 0.5, dtype=torch.float64)
    checker = (torch.arange(32)[:, None] + torch.arange(32)[None]) % 2 * 2 - 1  # +-1 pattern
    y = x + 0.05 * checker
    assert color_psnr(x, y) > psnr(x, y) + 10


def _images(n, seed, size=32):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(3, size, size, generator=g) for _ in range(n)]


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv("DSGAN_ALLOW_DOWNLOAD", raising=False)


def test_lpips_missing_is_null_with_note(empty_hub):
    imgs = _images(2, 0)
    res = evaluate_images(imgs, imgs, gt=imgs, options=EvalOptions(two_sample=False))
    ref = res["reference"]
    assert ref["lpips"] is None and ref["psnr"] == math.inf and ref["ssim"] == pytest.approx(1.0)
    assert "alexnet-owt-7be5be79.pth" in res["skipped"]["lpips"]
    assert "--lpips-weights" in res["skipped"]["lpips"]


def test_lpips_with_generated_alexnet_file(tmp_path):
    path = tmp_path / "alexnet.pth"
    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), path)
    gen, gt = _images(2, 0), _images(2, 1)
    opt = EvalOptions(two_sample=False, fid="off", lpips_weights=path)
    same = evaluate_images(gen, gen, gt=gen, options=opt)["reference"]["lpips"]
    diff = evaluate_images(gen, gen, gt=gt, options=opt)["reference"]["lpips"]
    assert same == pytest.approx(0.0, abs=1e-6) and diff > 0


def test_lpips_bad_explicit_file_is_error(tmp_path):
    bad = tmp_path / "bad.pth"
    torch.save({"x": torch.zeros(2)}, bad)
    imgs = _images(2, 0)
    with pytest.raises(UserError, match="AlexNet"):
        evaluate_images(
            imgs, imgs, gt=imgs, options=EvalOptions(two_sample=False, lpips_weights=bad)
        )


def test_gt_size_mismatch_is_error():
    gen, gt = _images(2, 0), _images(2, 1, size=40)
    with pytest.raises(UserError, match="sizes must match"):
        evaluate_images(gen, gen, gt=gt, options=EvalOptions(two_sample=False, fid="off"))
