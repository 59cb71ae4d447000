"""FID/KID with torch-fidelity's Inception built from a generated weight file (random values, the
real key layout), and the clear errors when weights are missing."""

from __future__ import annotations

import io

import pytest
import torch

from dsgan.errors import UserError
from dsgan.metrics.evaluate import EvalOptions, evaluate_images
from dsgan.metrics.fid import fid_from_features, kid_from_features
from dsgan.metrics.inception import inception_features, load_inception


def _write_random_inception(path) -> None:
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    original = FeatureExtractorInceptionV3.load_state_dict
    FeatureExtractorInceptionV3.load_state_dict = lambda self, *a, **k: None  # keep the random init
    try:
        buf = io.BytesIO()
        torch.save({}, buf)
        buf.seek(0)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = FeatureExtractorInceptionV3("x", ["2048"], feature_extractor_weights_path=buf)
        # variance-preserving convolutions, so random features neither vanish nor explode
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    finally:
        FeatureExtractorInceptionV3.load_state_dict = original
    torch.save(model.state_dict(), path)


@pytest.fixture(autouse=True)
def small_inception_input(monkeypatch):
    """Run the network at 96x96 instead of 299x299 so the tests take seconds on a CPU (the
    weights, the uint8 input path and the feature layer are the real ones)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    monkeypatch.setattr(FeatureExtractorInceptionV3, "INPUT_IMAGE_SIZE", 96)


@pytest.fixture(scope="module")
def inception_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "inception.pth"
    _write_random_inception(path)
    return path


def _images(n: int, seed: int, size: int = 40) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(3, size, size, generator=g) for _ in range(n)]


def test_fid_kid_identical_sets_are_zero(inception_file):
    model = load_inception(inception_file)
    imgs = _images(3, 0)
    feats = inception_features(imgs, model, batch_size=4)
    assert feats.shape == (3, 2048) and torch.isfinite(feats).all()
    assert abs(fid_from_features(feats, feats)) < 1e-6 * max(1.0, float(feats.var(0).sum()))
    kid = kid_from_features(feats, feats, subset_size=1000, subsets=10)
    assert kid.subset_size == 3  # adapted to the small set
    other = inception_features([im * 0.2 for im in imgs], model)
    assert fid_from_features(feats, other) > 0
    kid_other = kid_from_features(feats, other, subsets=10)
    assert abs(kid.mean) <= abs(kid_other.mean) + 1e-12


def test_fid_from_features_known_value():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(500, 3, generator=g, dtype=torch.float64)
    # shifting every feature by 2 adds |mu diff|^2 = 3 * 4 and leaves the covariance unchanged
    assert fid_from_features(a, a + 2.0) == pytest.approx(12.0, abs=1e-6)


def test_small_set_fid_matches_torch_fidelity():
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    g = torch.Generator().manual_seed(1)
    a = torch.randn(6, 40, generator=g, dtype=torch.float64)
    b = torch.randn(9, 40, generator=g, dtype=torch.float64) * 1.5 + 0.3
    ref = fid_statistics_to_metric(
        fid_features_to_statistics(a), fid_features_to_statistics(b), verbose=False
    )["frechet_inception_distance"]
    assert fid_from_features(a, b) == pytest.approx(ref, rel=1e-6)


def test_evaluate_reports_fid_with_explicit_weights(inception_file):
    imgs = _images(2, 1)
    opt = EvalOptions(inception_weights=inception_file, two_sample=False, kid_subsets=5)
    res = evaluate_images(imgs, imgs, options=opt)
    assert res["fidelity"]["fid"] == pytest.approx(0.0, abs=1e-3)
    assert res["fidelity"]["kid_subset_size"] == 2
    assert "fid" not in res["skipped"]


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv("DSGAN_ALLOW_DOWNLOAD", raising=False)
    return tmp_path


def test_missing_weights_skip_with_reason(empty_hub):
    imgs = _images(2, 2)
    res = evaluate_images(imgs, imgs, options=EvalOptions(two_sample=False))
    assert res["fidelity"]["fid"] is None and res["fidelity"]["kid_mean"] is None
    reason = res["skipped"]["fid"]
    assert "weights-inception-2015-12-05-6726825d.pth" in reason and "--inception-weights" in reason


def test_missing_weights_required_is_error(empty_hub):
    imgs = _images(2, 2)
    with pytest.raises(UserError, match="inception-weights"):
        evaluate_images(imgs, imgs, options=EvalOptions(fid="require", two_sample=False))


def test_bad_explicit_weights_are_error(tmp_path):
    bad = tmp_path / "bad.pth"
    torch.save({"conv.weight": torch.zeros(1)}, bad)
    with pytest.raises(UserError, match="Inception"):
        load_inception(bad)
    with pytest.raises(UserError, match="not found"):
        load_inception(tmp_path / "missing.pth")
