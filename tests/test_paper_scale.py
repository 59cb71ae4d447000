"""benchmarks/paper_scale.py: it times the trainers the CLI would build, and its projections are
its measured step times times the paper's schedules."""

from __future__ import annotations

import json

import pytest

import paper_scale


def test_builds_the_default_recipe_and_esrgan_fs(tmp_path):
    sizes = paper_scale.paper_sizes(quick=True)
    dsgan = paper_scale.build_dsgan(tmp_path, sizes["dsgan"], "cpu", compile_=False)
    assert dsgan.cfg.batch_size == 2 and dsgan.cfg.data.crop == 16
    assert dsgan.cfg.model.codec == "jpeg" and dsgan.cfg.model.signal_noise  # preset camera
    assert dsgan.amp == paper_scale.torch.bfloat16
    sr = paper_scale.build_sr(tmp_path, sizes["sr"], "cpu", compile_=False)
    assert sr.phase == "gan" and sr.d is not None and sr.ema is not None
    assert sr.cfg.loss.perceptual == "vgg" and sr.cfg.data.patch == 32
    full = paper_scale.paper_sizes(quick=False)
    assert full == {"dsgan": {"batch": 16, "crop": 128}, "sr": {"batch": 16, "crop": 128}}


@pytest.mark.slow
def test_quick_run_writes_rows_and_projections(tmp_path):
    out = tmp_path / "results"
    argv = ["--quick", "--device", "cpu", "--modes", "eager", "--warmup", "1", "--steps", "2"]
    assert paper_scale.main([*argv, "--results", str(out)]) == 0
    data = json.loads((out / "paper-scale-cpu-quick.json").read_text())
    assert [(r["stage"], r["mode"]) for r in data["rows"]] == [("dsgan", "eager"), ("sr", "eager")]
    for row in data["rows"]:
        assert row["s_per_it_min"] <= row["s_per_it"] <= row["s_per_it_max"]
        for name, iters in paper_scale.SCHEDULES[row["stage"]].items():
            assert row["projected_hours"][name] == pytest.approx(iters * row["s_per_it"] / 3600)
    text = (out / "paper-scale-cpu-quick.md").read_text()
    assert "| dsgan | eager | 2 | 16" in text and "ESRGAN-FS, upper end: 60,000 it" in text
    assert "- commit:" in text
