"""benchmarks/quality.py end to end at a toy budget: every stage runs, results are written, cached
stages are reused on a rerun. (The figures themselves come from real runs: README, results/.)"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

import quality
import qualitylib


def _toy(tmp_path: Path, make_images, monkeypatch) -> list[str]:
    """Toy photos (4 train, 2 val), a few-step two-sample test, and the benchmark's arguments
    for a toy budget (the track is added by the caller)."""
    from dsgan.metrics import evaluate

    # a two-sample test of a few steps: this checks the plumbing, not the classifier
    small = functools.partial(
        evaluate.EvalOptions, ts_iterations=5, ts_train_patches=64, ts_test_patches=32
    )
    monkeypatch.setattr(evaluate, "EvalOptions", small)
    data = tmp_path / "photos"
    make_images(data / "train", 4, 96, seed=1)
    make_images(data / "val", 2, 160, seed=2)
    argv = ["--data", str(data), "--work", str(tmp_path / "work")]
    argv += ["--results", str(tmp_path / "results"), "--tag", "toy", "--device", "cpu"]
    argv += ["--jobs", "1", "--variants", "residual", "--dsgan-iterations", "2"]
    argv += ["--dsgan-batch", "2", "--dsgan-crop", "9", "--sr-iterations", "2", "--sr-batch", "2"]
    return [*argv, "--sr-patch", "32"]


@pytest.mark.slow
def test_quality_benchmark_toy_run(tmp_path: Path, make_images, monkeypatch) -> None:
    from dsgan.metrics import evaluate

    argv = _toy(tmp_path, make_images, monkeypatch)
    argv += ["--corruptions", "noise8", "--modes", "same", "unpaired"]
    small = evaluate.EvalOptions
    assert quality.main(argv) == 0
    res = json.loads((tmp_path / "results" / "quality-toy-noise8.json").read_text())
    methods = res["corruptions"]["noise8"]["methods"]
    assert set(methods) == {
        "bicubic",
        "oracle",
        "realesrgan",
        "bsrgan",
        "dsgan-same-residual",
        "dsgan-unpaired-residual",
    }
    for m in methods.values():
        assert 5 < m["sr"]["psnr"] < 60 and 0 < m["sr"]["ssim"] <= 1
        assert 0 <= m["realism"]["two_sample_accuracy"] <= 1
        ci, per_image = m["sr"]["psnr_ci"], m["sr"]["psnr_per_image"]
        assert len(per_image) == 2 and ci["lo"] <= m["sr"]["psnr"] <= ci["hi"]
        vs = m["sr"]["vs_bicubic"]  # paired over the 2 val images
        assert vs["mean"] == pytest.approx(m["sr"]["psnr"] - methods["bicubic"]["sr"]["psnr"])
    assert methods["bicubic"]["sr"]["vs_bicubic"]["hi"] == 0
    for mode in ("same", "unpaired"):  # each DSGAN's learned stages (none here) and health
        m = methods[f"dsgan-{mode}-residual"]
        assert m["learned"] == {} and isinstance(m["health"], list)
    # the real LR carries sigma-8 noise and the oracle reproduces it; bicubic has far less
    real = methods["oracle"]["realism"]["noise_sigma_real"]
    assert 6 < real < 11
    assert abs(methods["oracle"]["realism"]["noise_sigma_gen"] - real) < 1.5
    assert methods["bicubic"]["realism"]["noise_sigma_gen"] < real - 3
    # unpaired mode: every other photo is G's, the rest the real domain; the split is recorded
    split = res["corruptions"]["noise8"]["unpaired_split"]
    assert split["split"] == "interleaved"
    assert split["texture_g_half"] > 0 and split["texture_real_half"] > 0
    work = tmp_path / "work" / "toy"
    (hr,) = work.glob("data-*/unpaired_hr-interleaved")
    (lr,) = work.glob("data-*/noise8-*/unpaired_lr-interleaved")
    assert [p.stem for p in sorted(hr.glob("*.png"))] == ["img_000", "img_002"]
    assert [p.stem for p in sorted(lr.glob("*.png"))] == ["img_001", "img_003"]
    md = (tmp_path / "results" / "quality-toy-noise8.md").read_text()
    assert "| oracle |" in md and "gap closed" in md
    assert "Unpaired split `interleaved`" in md
    assert (tmp_path / "results" / "quality-toy-noise8-lr.png").is_file()
    # the whiteness ablation trains the other variants into the same work directory and reuses
    # the residual runs the benchmark trained: one row per variant and mode, plus the real LR
    import whiteness_ablation

    out = tmp_path / "ablation"
    before = sorted((tmp_path / "work").rglob("generator.safetensors"))
    wa = argv[: argv.index("--variants")] + argv[argv.index("--variants") + 2 :]
    wa[wa.index("--results") + 1] = str(out)
    assert whiteness_ablation.main(wa) == 0
    after = sorted((tmp_path / "work").rglob("generator.safetensors"))
    assert len(after) == len(before) + 2 * (len(whiteness_ablation.ABLATION) - 1)
    rows = json.loads((out / "whiteness-ablation-toy-it2.json").read_text())  # named by budget
    assert len(rows) == 1 + 2 * len(whiteness_ablation.ABLATION)
    assert abs(rows["real LR"]["lag1"]) < 0.1  # white sigma-8 noise
    assert 6 < rows["real LR"]["noise_sigma"] < 11
    assert all(r["std"] >= 0 and -1 <= r["lag1"] <= 1 for r in rows.values())
    gens = [r for k, r in rows.items() if k != "real LR"]
    assert all(0 <= r["two_sample_accuracy"] <= 1 and r["noise_sigma"] >= 0 for r in gens)
    # the two-sample calibration too: white noise at the real level scores below a far-off one
    import two_sample_calibration

    monkeypatch.setattr(two_sample_calibration, "EvalOptions", small)
    cal = ["--sigmas", "8", "30", "--out", str(out)]
    assert two_sample_calibration.main([str(tmp_path / "work" / "toy"), *cal]) == 0
    rows = json.loads((out / "two-sample-calibration-cpu.json").read_text())
    assert [r["sigma"] for r in rows] == [8, 30]
    assert abs(rows[0]["noise_sigma_gen"] - rows[0]["noise_sigma_real"]) < 1.5
    assert rows[1]["noise_sigma_gen"] > 20
    # a rerun reuses every trained model (no checkpoint is rewritten)
    ckpts = sorted((tmp_path / "work").rglob("generator.safetensors"))
    stamps = [p.stat().st_mtime_ns for p in ckpts]
    assert quality.main(argv) == 0
    assert [p.stat().st_mtime_ns for p in ckpts] == stamps
    rerun = json.loads((tmp_path / "results" / "quality-toy-noise8.json").read_text())
    part = rerun["corruptions"]["noise8"]
    # 2 DSGAN + 6 SR (bicubic, oracle, two blind pipelines, two DSGANs), none retrained
    assert part["trainings"] == 8 and len(part["reused"]) == 8
    assert (
        "8 of 8 trainings were found done"
        in (tmp_path / "results" / "quality-toy-noise8.md").read_text()
    )
    # another DSGAN budget never reuses those runs: 2 new DSGANs and the 2 SR runs on their pairs
    # (bicubic and oracle SR runs do not depend on it and are reused)
    argv[argv.index("--dsgan-iterations") + 1] = "3"
    assert quality.main([*argv, "--name", "quality-toy-it3"]) == 0
    assert (tmp_path / "results" / "quality-toy-it3.json").is_file()
    assert (tmp_path / "results" / "quality-toy-it3-noise8-lr.png").is_file()
    again = sorted((tmp_path / "work").rglob("generator.safetensors"))
    assert len(again) == len(ckpts) + 2 + 2
    assert [p.stat().st_mtime_ns for p in ckpts] == stamps  # the old ones are kept as they were


def test_noise_whiteness_known_answers() -> None:
    import torch

    import noise_whiteness

    g = torch.Generator().manual_seed(0)
    white = [torch.randn(3, 64, 64, generator=g) * 8 / 255 for _ in range(4)]
    s = noise_whiteness.residual_stats(white)
    assert abs(s["lag1"]) < 0.03 and abs(s["lag2"]) < 0.03 and 7 < s["std"] < 9
    assert 0.55 < s["hf_share"] < 0.68  # the share of the frequency plane above 0.35 c/px
    # a horizontal [1, 1] blur correlates neighbours: lag-1 autocorrelation 0.5, less HF power
    blurred = [(w[..., 1:] + w[..., :-1]) / 2 for w in white]
    b = noise_whiteness.residual_stats(blurred)
    assert 0.45 < b["lag1"] < 0.55 and abs(b["lag2"]) < 0.05 and b["hf_share"] < s["hf_share"]


def test_markdown_shows_blockiness_for_jpeg_only(tmp_path: Path) -> None:
    def method(psnr: float, blocks: float | None) -> dict:
        realism = {
            "noise_sigma_gen": 2.0,
            "colour_shift_rgb": [0.0, 0.0, 0.0],
            "channel_corr_gen": 0.8,
            "spectrum_distance": 0.1,
            "two_sample_accuracy": 0.7,
            "blockiness_real": 2.18,
        }
        if blocks is not None:
            realism["blockiness_gen"] = blocks
        return {"sr": {"psnr": psnr, "ssim": 0.7}, "realism": realism}

    methods = {
        "bicubic": method(27.0, 1.09),
        "oracle": method(28.0, 2.18),
        "dsgan": method(27.5, None),
        "dsgan-codec": {
            **method(27.6, 2.0),
            "learned_quality": 31.24,
            "learned": {"quality": 31.24, "gate": 0.814, "noise_mid": 0.93},
            "health": [{"kind": "gradient_burst", "start": 400}],
        },
        "dsgan-healthy": {**method(27.4, 1.5), "learned": {"noise_mid": 2.0}, "health": []},
    }
    result = {
        "tag": "t",
        "command": "c",
        "commit": "x",
        "date": "d",
        "wall_s": 60,
        "machine": {},
        "budget": {},
        "corruptions": {
            name: {"real_noise_sigma": 1.0, "methods": methods} for name in ("jpeg30", "noise8")
        },
    }
    methods["dsgan"]["sr"]["vs_bicubic"] = {"mean": 0.5, "lo": 0.2, "hi": 0.8}
    quality.write_markdown(result, tmp_path / "r.md")
    jpeg, noise = (tmp_path / "r.md").read_text().split("## noise8")
    assert "blockiness (real 2.18)" in jpeg and "blockiness" not in noise
    assert "| 0.100 | 1.09 | 0.700 |" in jpeg and "| 0.100 | n/a | 0.700 |" in jpeg
    assert "| 0.100 | 0.700 |" in noise
    assert "| dsgan | 27.50 | +0.50 [+0.20, +0.80] | 50% |" in jpeg
    assert "| oracle | 28.00 | – | 100% |" in jpeg  # a result without intervals (older runs)
    # the codec's learned quality, against the true one where there is one
    assert "JPEG quality learned by the codec (true: 30): dsgan-codec 31.2" in jpeg
    assert "(true: no JPEG): dsgan-codec 31.2" in noise
    # what each DSGAN's stages learned, and its health report
    assert (
        "dsgan-codec: codec gate 0.81 at quality 31; sensor noise 0.93 grey levels at mid-grey; "
        "health: gradient_burst at 400"
    ) in jpeg
    assert "dsgan-healthy: sensor noise 2.00 grey levels at mid-grey; health: ok" in jpeg


def test_d_logits_summarises_the_second_half(tmp_path: Path, capsys) -> None:
    import d_logits

    run = tmp_path / "noise8" / "dsgan-same-x"
    run.mkdir(parents=True)
    rows = [{"step": 10, "loss/identity": 0.1}]  # warm-up steps log no D terms
    rows += [
        {"step": s, "d/real": s / 100, "d/fake": -s / 100, "loss/tex": 1.0, "loss/col": 0.002}
        for s in (50, 100, 150, 200)
    ]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "r.md"
    assert d_logits.main([str(run), "--out", str(out)]) == 0
    # steps after 100 (half of 200): 150 and 200
    assert "| noise8/dsgan-same-x | 200 | +1.75 | -1.75 | 1.00 | 0.0020 |" in out.read_text()
    assert d_logits.main([str(tmp_path / "nothing")]) == 2
    assert "no metrics.jsonl" in capsys.readouterr().err


def test_jpeg_domain_gap_known_order(tmp_path: Path, make_images) -> None:
    """Re-coding bicubic LR: blockier as the quality falls, all blockier than the uncoded LR; the
    script finds the source folder of a benchmark work dir and writes its table."""
    import jpeg_domain_gap
    from dsgan.io.images import list_images, load_image, save_image
    from dsgan.ops.corrupt import jpeg

    src = tmp_path / "work" / "data-x" / "jpeg30" / "source"
    make_images(src, 2, 96)
    for f in list_images(src):  # the benchmark's source photos are JPEG-coded
        save_image(jpeg(load_image(f), 30), f)
    rows = jpeg_domain_gap.measure([load_image(f) for f in list_images(src)], [20, 60])
    b = {r["set"]: r["blockiness"] for r in rows}
    lr = b["bicubic x4 LR (G's input)"]
    assert b["bicubic x4 LR coded at q20"] > b["bicubic x4 LR coded at q60"] > lr
    assert b["native-resolution JPEG (same-domain reals)"] > lr
    out = tmp_path / "res"
    args = [str(tmp_path / "work"), "--qualities", "20", "--out", str(out)]
    assert jpeg_domain_gap.main(args) == 0
    assert "| bicubic x4 LR coded at q20 |" in (out / "jpeg-domain-gap-jpeg30.md").read_text()
    with pytest.raises(SystemExit):
        jpeg_domain_gap.main([str(tmp_path / "empty")])


def test_codec_cost_times_both_steps(tmp_path: Path) -> None:
    import codec_cost

    args = ["--batch-size", "2", "--crop", "8", "--rounds", "1", "--out", str(tmp_path)]
    assert codec_cost.main(args) == 0
    got = json.loads((tmp_path / "codec-cost-cpu.json").read_text())
    assert got["step_s_with_codec"] > 0 and got["step_s_without_codec"] > 0
    assert got["ratio"] == pytest.approx(got["step_s_with_codec"] / got["step_s_without_codec"])
    assert got["ratio_snapped_off"] == pytest.approx(
        got["step_s_codec_snapped_off"] / got["step_s_without_codec"]
    )
    assert codec_cost.main([*args, "--id-quality"]) == 0
    idq = json.loads((tmp_path / "codec-cost-idq-cpu.json").read_text())
    assert idq["step_s_prior"] > 0 and idq["step_s_id_quality"] > 0
    assert idq["ratio"] == pytest.approx(idq["step_s_id_quality"] / idq["step_s_prior"])


def _suite_file(path: Path, command: str, rows: dict[str, tuple[float, float, dict]]) -> Path:
    """A quality result file: corruption -> (bicubic, oracle, {method: PSNR}), 2 test images
    each at the same PSNR."""
    corruptions = {}
    for name, (bic, ora, dsgan) in rows.items():
        psnr = {"bicubic": bic, "oracle": ora, **dsgan}
        corruptions[name] = {
            "methods": {m: {"sr": {"psnr": v, "psnr_per_image": [v, v]}} for m, v in psnr.items()}
        }
    path.write_text(
        json.dumps({"command": command, "commit": "abc1234", "corruptions": corruptions})
    )
    return path


def test_suite_summary_averages_seeds_and_checks_the_target(tmp_path: Path, capsys) -> None:
    import suite_summary

    seed0 = _suite_file(
        tmp_path / "a.json",
        "python benchmarks/quality.py --corruptions suite",
        {
            "noise8": (28.0, 29.0, {"dsgan-same-camera": 28.9, "dsgan-unpaired-camera": 28.5}),
            "clean": (31.0, 31.0, {"dsgan-same-camera": 30.9}),  # loses 0.1 dB
            "jpeg30": (27.8, 27.65, {"dsgan-same-camera": 27.9}),  # no gap: left out
        },
    )
    seed1 = _suite_file(
        tmp_path / "b.json",
        "python benchmarks/quality.py --corruptions noise8 --seed 1",
        {"noise8": (28.0, 29.0, {"dsgan-same-camera": 28.7})},
    )
    out = tmp_path / "res"
    args = [str(seed0), str(seed1), "--name", "suite", "--results", str(out)]
    assert suite_summary.main(args) == 0
    got = json.loads((out / "suite.json").read_text())["modes"]
    same = {r["corruption"]: r for r in got["same"]["rows"]}
    assert same["noise8"]["seeds"] == [0, 1]
    assert same["noise8"]["commits"] == ["abc1234", "abc1234"]
    assert same["noise8"]["gap"] == pytest.approx(0.8)  # mean of 90% and 70%
    assert same["jpeg30"]["gap"] is None and same["clean"]["gap"] is None
    assert got["same"]["mean_gap"] == pytest.approx(0.8)
    checks = got["same"]["checks"]
    assert checks["beats bicubic on every corruption"]
    assert not checks["mean gap closed >= 85% (rows capped at 100%)"]
    assert checks["each gap closed >= 60%"]
    assert not checks["clean loses <= 0.05 dB"] and not checks["2 DSGAN seeds per row"]
    assert got["unpaired"]["mean_gap"] == pytest.approx(0.5)
    # a suite corruption absent from a mode is named, not passed over
    assert "jpeg30" in got["unpaired"]["missing"] and "camera" in got["same"]["missing"]
    assert not any(k.startswith("every suite corruption") and ok for k, ok in checks.items())
    full = [
        suite_summary.Row(c, "same", 0, 28.0, 29.0, 28.9, None, "f.json")
        for c in suite_summary.SETS["suite"]
    ]
    assert suite_summary.verdict(full)["same"]["checks"]["every suite corruption has a row"]
    # a row beyond the oracle (130%) does not make up for another's shortfall (60%)
    over = [
        suite_summary.Row("noise8", "same", 0, 28.0, 29.0, 29.3, None, "f.json"),
        suite_summary.Row("pg", "same", 0, 28.0, 29.0, 28.6, None, "f.json"),
    ]
    v = suite_summary.verdict(over)["same"]
    assert v["mean_gap"] == pytest.approx(0.95) and v["mean_gap_capped"] == pytest.approx(0.8)
    assert not v["checks"]["mean gap closed >= 85% (rows capped at 100%)"]
    assert "NOT met: mean gap closed >= 85%" in (out / "suite.md").read_text()
    # the held-out set: its own completeness check and no clean check (it has no clean row)
    held = [suite_summary.Row("lowlight", "unpaired", 0, 27.0, 28.0, 27.9, None, "h.json")]
    hv = suite_summary.verdict(held, "heldout")["unpaired"]
    assert hv["missing"] == ["corr-noise", "blur-jpeg"]
    assert not any("clean" in k for k in hv["checks"])
    assert "every heldout corruption has a row (missing: corr-noise, blur-jpeg)" in hv["checks"]
    # the same corruption, mode and seed twice: refused, never chosen silently
    with pytest.raises(SystemExit, match="pass one of them"):
        suite_summary.main([str(seed0), str(seed0)])


def test_codec_slope_fits_and_tabulates(tmp_path: Path, make_images) -> None:
    import codec_slope

    make_images(tmp_path / "photos" / "val", 2, 128)
    out = tmp_path / "res"
    args = ["--data", str(tmp_path / "photos"), "--steps", "2", "--starts", "40", "--out", str(out)]
    assert codec_slope.main(args) == 0
    got = json.loads((out / "codec-slope.json").read_text())
    assert set(got["fits"]) == {"autograd from 40", "finite-difference from 40"}
    assert all(1 <= q <= 100 for q in got["fits"].values())
    assert min(got["mse"], key=got["mse"].get) == "30"  # the target's own quality fits best
    with pytest.raises(SystemExit):
        codec_slope.main(["--data", str(tmp_path / "none")])


def test_stage_log_tabulates_every_n_steps(tmp_path: Path) -> None:
    import stage_log

    run = tmp_path / "camera" / "run"
    run.mkdir(parents=True)
    recs = [
        {"step": s, "d/real": 0.1, "d/fake": -0.1, "codec/gate": s / 1000}
        for s in range(50, 451, 50)
    ]
    recs.append({"step": 100, "d/real": 9.0, "d/fake": -0.1, "codec/gate": 0.5})  # logged twice
    (run / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    out = tmp_path / "t.md"
    assert stage_log.main([str(run), "--every", "200", "--out", str(out)]) == 0
    rows = [r for r in out.read_text().splitlines() if r.startswith("| ") and r[2].isdigit()]
    assert [int(r.split("|")[1]) for r in rows] == [50, 200, 400, 450]
    assert "| 50 | 0.10 | -0.10 | n/a | n/a | n/a | n/a | 0.05 |" in rows


def test_dsgan_set_overrides_every_variant_and_keys_its_own_run(tmp_path: Path) -> None:
    data = tmp_path / "photos"
    (data / "train").mkdir(parents=True)
    (data / "val").mkdir()
    base = ["--data", str(data), "--device", "cpu", "--variants", "camera", "--modes", "same"]
    plain = quality.parse_args(base)
    ablated = quality.parse_args([*base, "--dsgan-set", "model.blur=4", "--dsgan-set", "seed=3"])
    assert ablated.dsgan_set == {"model.blur": 4, "seed": 3}  # YAML values: ints, not strings
    sets = {"source": tmp_path / "src", "unpaired_hr": tmp_path / "hr", "unpaired_lr": tmp_path}
    b = qualitylib.Budget()
    job_p = qualitylib.dsgan_jobs(sets, tmp_path, "x", b, plain, 1)["dsgan-same-camera"]
    job_a = qualitylib.dsgan_jobs(sets, tmp_path, "x", b, ablated, 1)["dsgan-same-camera"]
    assert job_p["overrides"]["model.blur"] == 0  # the preset's (no blur stage)
    assert job_a["overrides"]["model.blur"] == 4 and job_a["overrides"]["seed"] == 3
    assert job_a["out"] != job_p["out"]  # an ablation never reuses the plain variant's run
    with pytest.raises(SystemExit):
        quality.parse_args([*base, "--dsgan-set", "model.blur"])
    # named lists expand in place, without repeating a corruption given on its own
    assert quality.parse_args([*base, "--corruptions", "heldout"]).corruptions == qualitylib.HELDOUT
    both = quality.parse_args([*base, "--corruptions", "pg", "suite", "heldout"]).corruptions
    assert both == ["pg", *[c for c in qualitylib.SUITE if c != "pg"], *qualitylib.HELDOUT]
    twice = quality.parse_args([*base, "--corruptions", "heldout", "lowlight", "heldout"])
    assert twice.corruptions == qualitylib.HELDOUT  # a corruption named twice runs once
    assert not set(qualitylib.HELDOUT) & set(qualitylib.SUITE)  # held out: never in the suite


@pytest.mark.slow
def test_sr_seeds_report_the_mean_and_range(tmp_path: Path, make_images, monkeypatch) -> None:
    """--sr-seeds 2: every LR method's SR trained with seeds 0 and 1; the row is their mean, the
    range is shown, and the seed-0 runs are the ones a one-seed run makes (same folders)."""
    argv = _toy(tmp_path, make_images, monkeypatch)  # one work folder for both runs
    argv += ["--corruptions", "noise8", "--modes", "same"]
    assert quality.main([*argv, "--name", "one"]) == 0
    one_seed = sorted((tmp_path / "work").rglob("sr-*/generator.safetensors"))
    assert quality.main([*argv, "--name", "two", "--sr-seeds", "2"]) == 0
    two_seeds = sorted((tmp_path / "work").rglob("sr-*/generator.safetensors"))
    assert set(one_seed) < set(two_seeds) and len(two_seeds) == 2 * len(one_seed)
    res = json.loads((tmp_path / "results" / "two.json").read_text())
    for m in res["corruptions"]["noise8"]["methods"].values():
        by_seed = m["sr"]["psnr_by_seed"]
        assert len(by_seed) == 2 and m["sr"]["psnr"] == pytest.approx(sum(by_seed) / 2)
    md = (tmp_path / "results" / "two.md").read_text()
    lo, hi = sorted(res["corruptions"]["noise8"]["methods"]["bicubic"]["sr"]["psnr_by_seed"])
    assert f"({lo:.2f}-{hi:.2f})" in md


@pytest.mark.slow
def test_quality_benchmark_real_world_track(tmp_path: Path, make_images, monkeypatch) -> None:
    """The real-world track on tiny generated data: unpaired DSGAN from clean HR to noisy JPEG
    "real" photos, SR per LR method, NIQE/BRISQUE of SR outputs with intervals, a picture."""
    import numpy as np
    from PIL import Image

    argv = _toy(tmp_path, make_images, monkeypatch)
    real = tmp_path / "real"
    rng = np.random.default_rng(3)
    for i, path in enumerate(make_images(tmp_path / "clean_real", 3, (52, 64), seed=4)):
        x = np.asarray(Image.open(path), np.float64) + rng.normal(0, 8, (52, 64, 3))
        real.mkdir(exist_ok=True)
        Image.fromarray(x.clip(0, 255).astype(np.uint8)).save(real / f"r{i}.jpg", quality=92)
    argv += ["--corruptions", "--real-world", str(real)]
    assert quality.main(argv) == 0
    res = json.loads((tmp_path / "results" / "quality-toy-real-world.json").read_text())
    track = res["real_world"]
    assert track["n_real"] == 3
    assert set(track["methods"]) == {"bicubic", "realesrgan", "bsrgan", "dsgan-unpaired-residual"}
    for name, m in track["methods"].items():
        for metric in ("niqe", "brisque"):
            s = m["sr_noref"][metric]
            assert s["n"] == 3 and s["lo"] <= s["mean"] <= s["hi"]  # 208x256 SR outputs
            v = m["vs_bicubic"][metric]
            if name == "bicubic":
                assert v["mean"] == v["lo"] == v["hi"] == 0
        assert 0 <= m["realism"]["two_sample_accuracy"] <= 1
        # the real photos carry sigma-8 noise (JPEG q92); bicubic LR of smooth images has almost none
    z = track["methods"]["bicubic"]["realism"]
    assert z["noise_sigma_real"] > z["noise_sigma_gen"] + 2
    md = (tmp_path / "results" / "quality-toy-real-world.md").read_text()
    assert "## real-world" in md and "| dsgan-unpaired-residual |" in md
    assert Path(track["picture"]).is_file()


def test_unpaired_split_keeps_halves_disjoint_and_mixed() -> None:
    from qualitylib import unpaired_split

    files = [Path(f"{i:02d}.png") for i in range(7)]
    g, real = unpaired_split(files, "interleaved")
    assert [f.stem for f in g] == ["00", "02", "04", "06"] and [f.stem for f in real] == [
        "01",
        "03",
        "05",
    ]
    g, real = unpaired_split(files, "halves")  # the old split: by position in the sorted list
    assert [f.stem for f in g] == ["00", "01", "02"] and len(real) == 4
    with pytest.raises(ValueError, match="interleaved, halves"):
        unpaired_split(files, "random")


_HOLDER = """
import fcntl, pathlib, sys, time
root = pathlib.Path(sys.argv[1])
fh = open(root / "train.lock", "a+")
fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
fh.write("12345\\n"); fh.flush()
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
(root / "done").write_text("x")  # written while the lock is still held
"""


def _hold_lock(root: Path, seconds: float):
    """A separate process holding ``root/train.lock`` as a training does, for ``seconds``."""
    import subprocess
    import sys

    root.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(root), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_run_another_process_trains_is_refused_then_waited_for(tmp_path: Path) -> None:
    pytest.importorskip("fcntl")
    from dsgan.training.runlock import RunInUse, RunLock, wait_until_free

    root = tmp_path / "sr-bicubic"
    proc = _hold_lock(root, 1.0)
    try:
        with pytest.raises(RunInUse, match=r"in use by another training \(pid 12345\)"):
            RunLock(root)
        wait_until_free(root)
        assert (root / "done").is_file()  # returned only after the holder finished
    finally:
        proc.wait(timeout=30)
    RunLock(root).release()  # free again
    wait_until_free(tmp_path / "never-trained")  # no lock file: returns at once


def test_train_job_waits_for_a_run_in_use_and_reuses_it(tmp_path: Path, monkeypatch) -> None:
    """Two benchmark processes over different corruptions share the bicubic SR training: the
    second waits for the first's and reuses it instead of failing."""
    from dsgan.training import runlock
    from dsgan.training.runlock import RunInUse

    calls: list[str] = []

    def busy_once(name, out, train, iterations=None, quiet=False):
        calls.append("try")
        if len(calls) == 1:
            raise RunInUse(f"{out} is in use by another training (pid 1)")
        return out / "generator.safetensors"

    monkeypatch.setattr(qualitylib, "train_or_resume", busy_once)
    monkeypatch.setattr(runlock, "wait_until_free", lambda out: calls.append(f"wait {out.name}"))
    job = {"kind": "sr", "threads": 1, "overrides": {}, "out": str(tmp_path / "sr-bicubic")}
    assert qualitylib.train_job(job) == str(tmp_path / "sr-bicubic" / "generator.safetensors")
    assert calls == ["try", "wait sr-bicubic", "try"]
