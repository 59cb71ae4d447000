"""NIQE, BRISQUE and bootstrap intervals: reference outputs, documented directions, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skimage
import torch
from scipy import ndimage

from dsgan.io.images import load_image, save_image
from dsgan.metrics import bootstrap, noref

SKIMAGE_DATA = Path(skimage.__file__).parent / "data"

# Reference outputs on photos bundled with scikit-image (a dependency), from
# `benchmarks/noref_calibration.py` (benchmarks/results/noref-calibration.md): NIQE by BasicSR's
# port of the MATLAB release, BRISQUE by OpenCV's port of the C++ release's features scored with
# the regressor dsgan ships.
REFERENCE = {
    "astronaut.png": {"niqe": 3.0673, "brisque": 4.1226},
    "camera.png": {"niqe": 3.0962, "brisque": -8.8252},
    "chelsea.png": {"niqe": 2.5721, "brisque": 3.6610},
    "coffee.png": {"niqe": 4.0585, "brisque": 3.9108},
    "rocket.jpg": {"niqe": 7.0359, "brisque": 4.5894},
}


def photo(name: str = "astronaut.png") -> torch.Tensor:
    return load_image(SKIMAGE_DATA / name)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_niqe_matches_reference_port(name):
    assert noref.niqe(photo(name)) == pytest.approx(REFERENCE[name]["niqe"], abs=2e-3)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_brisque_matches_reference_port(name):
    assert noref.brisque(photo(name)) == pytest.approx(REFERENCE[name]["brisque"], abs=0.1)


def test_noise_raises_both_scores():
    """Documented direction: lower is better, so added noise must raise both."""
    clean = photo()[:, 128:384, 128:384]
    noisy = clean + torch.randn(clean.shape, generator=torch.Generator().manual_seed(0)) * 0.06
    noisy = noisy.clamp(0, 1)
    assert noref.niqe(noisy) > noref.niqe(clean) + 1.0
    assert noref.brisque(noisy) > noref.brisque(clean) + 10.0


def test_blur_raises_niqe_of_a_sharp_photo():
    sharp = photo()[:, 128:384, 128:384]
    blurred = torch.from_numpy(ndimage.gaussian_filter(sharp.numpy(), sigma=(0, 2.0, 2.0)))
    assert noref.niqe(blurred) > noref.niqe(sharp) + 1.0
    assert noref.brisque(blurred) > noref.brisque(sharp)


def test_niqe_needs_one_patch():
    with pytest.raises(ValueError, match="96x96"):
        noref.niqe(torch.rand(3, 95, 200))


def test_features_are_36_and_finite():
    gray = noref.to_gray(photo())
    assert noref.brisque_features(gray).shape == (36,)
    assert np.isfinite(noref.brisque_features(gray)).all()


def test_flat_patch_is_left_out_of_niqe_like_matlab():
    """A constant patch has no MSCN coefficient on either side: NaN features, dropped."""
    feats = noref.niqe_patch_features(np.zeros((96, 96)))
    assert np.isnan(feats[1])
    image = photo()[:, :192, :192].clone()
    image[:, :96, :96] = 0.5  # one flat patch of four
    assert np.isfinite(noref.niqe(image))


def test_bootstrap_interval_contains_mean_and_shrinks():
    rng = np.random.default_rng(0)
    small = bootstrap.mean_ci(rng.normal(30, 1, 10))
    large = bootstrap.mean_ci(rng.normal(30, 1, 1000))
    assert small.lo < small.mean < small.hi
    assert large.hi - large.lo < (small.hi - small.lo) / 4
    assert bootstrap.mean_ci([5.0]).lo == bootstrap.mean_ci([5.0]).hi == 5.0
    assert bootstrap.mean_ci([]).n == 0


def test_paired_interval_removes_image_variation():
    """Two methods 0.05 dB apart on images whose PSNRs spread by 3 dB: the paired interval
    excludes 0, the unpaired ones overlap."""
    rng = np.random.default_rng(1)
    base = rng.normal(28, 3, 20)
    a, b = base + 0.05 + rng.normal(0, 0.01, 20), base
    d = bootstrap.paired_diff_ci(a, b)
    assert d.lo > 0 and d.mean == pytest.approx(0.05, abs=0.01)
    ca, cb = bootstrap.mean_ci(a), bootstrap.mean_ci(b)
    assert ca.lo < cb.hi
    with pytest.raises(ValueError, match="same images"):
        bootstrap.paired_diff_ci([1.0, 2.0], [1.0])


@pytest.fixture
def sr_folder(tmp_path):
    """One 192x192 crop of a bundled photo at three noise levels (the first the noisiest)."""
    g = torch.Generator().manual_seed(0)
    crop = photo()[:, 160:352, 160:352]
    for i, sigma in enumerate([0.08, 0.0, 0.02]):
        im = (crop + torch.randn(crop.shape, generator=g) * sigma).clamp(0, 1)
        save_image(im, tmp_path / "sr" / f"{i}.png")
    small = photo()[:, :64, :64]
    save_image(small, tmp_path / "real" / "r0.png")
    save_image(photo("coffee.png")[:, :128, :128], tmp_path / "real" / "r1.png")
    return tmp_path


def test_cli_evaluate_without_real_or_gt_scores_quality(sr_folder, run_cli):
    out = sr_folder / "out" / "m.json"
    code, stdout, _ = run_cli(["evaluate", str(sr_folder / "sr"), "--json", str(out)])
    assert code == 0
    assert "NIQE gen" in stdout and "BRISQUE gen" in stdout and "lower is better" in stdout
    assert "FID" not in stdout
    result = json.loads(out.read_text())
    niqe = result["no_reference"]["gen"]["niqe"]
    assert niqe["n"] == 3 and niqe["lo"] <= niqe["mean"] <= niqe["hi"]
    for metric in ("niqe", "brisque"):
        per = result["no_reference"]["gen"][metric]["per_image"]
        assert per[0] == max(per), metric  # the noisiest crop scores worst
    assert result["fidelity"] is None and result["no_reference"]["real"] is None


def test_cli_evaluate_with_real_scores_both_and_notes_small_images(sr_folder, run_cli):
    out = sr_folder / "out" / "m.json"
    code, stdout, _ = run_cli(
        [
            "evaluate",
            str(sr_folder / "sr"),
            str(sr_folder / "real"),
            "--no-two-sample",
            "--json",
            str(out),
        ]
    )
    assert code == 0 and "NIQE real" in stdout
    result = json.loads(out.read_text())
    assert result["no_reference"]["real"]["niqe"]["n"] == 1  # the 64 px image is left out
    assert result["no_reference"]["real"]["brisque"]["n"] == 2
    assert any("NIQE leaves out" in n for n in result["notes"])


def test_cli_evaluate_with_nothing_to_compute_is_an_error(sr_folder, run_cli):
    code, _, err = run_cli(["evaluate", str(sr_folder / "sr"), "--no-noref"])
    assert code == 2 and "nothing to compute" in err
