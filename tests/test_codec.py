"""The learned-quality JPEG stage (``model.codec: jpeg``): the codec against Pillow's JPEG, its
block grid, the finite-difference quality update, and G / trainer / degrade with the codec."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import smooth_image
from dsgan.errors import UserError
from dsgan.inference.degrade import apply_generator
from dsgan.models import Generator
from dsgan.models.codec import JPEGCodec, jpeg_round_trip, quality_of
from dsgan.ops.corrupt import jpeg
from dsgan.training.codec_step import frozen_batchnorm_stats, quality_slope


def _images(n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    """(n, 3, h, w) in [0, 1]: smooth random images with some grain (so JPEG has work to do)."""
    rng = np.random.default_rng(seed)
    arr = np.stack([smooth_image(rng, h, w) for _ in range(n)]).astype(np.float32) / 255
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(-10 * torch.log10(((a - b) ** 2).mean()))


def _strongest_column_phase(img: torch.Tensor, period: int = 8) -> int:
    """x mod period of the strongest mean horizontal luma step (between x and x + 1)."""
    luma = img.mean(0)
    steps = (luma[:, 1:] - luma[:, :-1]).abs().mean(0)  # step between column x and x + 1
    per_phase = [float(steps[p::period].mean()) for p in range(period)]
    return int(np.argmax(per_phase))


def test_round_trip_matches_pillow_jpeg() -> None:
    x = _images(2, 48, 64)
    for q in (30, 60):
        ours = jpeg_round_trip(x, torch.tensor(float(q)))
        pil = torch.stack([jpeg(img, q) for img in x])
        assert ours.shape == x.shape
        # close to Pillow's codec, and much closer than the uncoded input is
        assert _psnr(ours, pil) > 36
        assert _psnr(ours, pil) > _psnr(x, pil) + 6


def test_lower_quality_loses_more() -> None:
    x = _images(2, 48, 48)
    errors = [_psnr(jpeg_round_trip(x, torch.tensor(q)), x) for q in (90.0, 50.0, 15.0)]
    assert errors[0] > errors[1] > errors[2]


@pytest.mark.parametrize(("ox", "expected"), [(0, 7), (3, 4), (5, 2)])
def test_grid_offset_moves_the_block_edges(ox: int, expected: int) -> None:
    """Block edges lie between columns 8k - 1 and 8k of the grid, which starts ``ox`` pixels left
    of the image: between image columns x and x + 1 with x = 8k - 1 - ox."""
    x = _images(1, 64, 64, seed=3)
    coded = jpeg_round_trip(x, torch.tensor(10.0), (0, ox))[0]
    assert _strongest_column_phase(coded) == expected
    assert _strongest_column_phase(x[0]) != expected or ox == 5  # the input has no such grid


def test_codec_module_quality_parameter() -> None:
    c = JPEGCodec(30.0)
    assert float(c.quality) == pytest.approx(30.0, abs=1e-4)
    assert not c.quality_logit.requires_grad  # updated by a finite difference, not autograd
    assert set(c.state_dict()) == {"quality_logit"}
    for bad in (1.0, 100.0, 150.0):
        with pytest.raises(ValueError, match="quality"):
            JPEGCodec(bad)
    with pytest.raises(ValueError, match="offset"):
        c(_images(1, 16, 16), (16, 0))
    assert float(quality_of(torch.tensor(-50.0))) >= 1.0
    assert float(quality_of(torch.tensor(50.0))) <= 100.0


def test_finite_difference_finds_the_quality_of_a_jpeg() -> None:
    """Fitting q to Pillow's q30 JPEG of the same images by MSE: from above and from below, the
    finite-difference slope leads Adam to 30. (The MSE rises monotonically only from about 15 to
    45 on these images, hence the starts; autograd's pathwise slope drove q to 99.7 from 75 in
    the same fit on photos: the reason for the finite difference.)"""
    x = _images(3, 64, 64, seed=1)
    target = torch.stack([jpeg(img, 30) for img in x])

    def loss_of(coded: torch.Tensor) -> torch.Tensor:
        return ((coded - target) ** 2).mean()

    for start in (42.0, 17.0):
        c = JPEGCodec(start)
        opt = torch.optim.Adam([c.quality_logit], lr=0.05)
        for _ in range(80):
            c.quality_logit.grad = quality_slope(loss_of, x, c.quality_logit, 0.1)
            opt.step()
        assert abs(float(c.quality) - 30) < 4, (start, float(c.quality))


def test_frozen_batchnorm_stats_keeps_running_statistics() -> None:
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)).train()
    before = {k: v.clone() for k, v in net.state_dict().items() if k.startswith("1.")}
    with frozen_batchnorm_stats(net):
        net(torch.randn(2, 3, 8, 8) + 5)
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    with frozen_batchnorm_stats(net):  # a non-finite batch leaves no trace either
        net(torch.full((2, 3, 8, 8), float("nan")))
    assert all(torch.equal(before[k], net.state_dict()[k]) for k in before)
    net(torch.randn(2, 3, 8, 8) + 5)  # outside: updated as usual
    assert not torch.equal(before["1.running_mean"], net.state_dict()["1.running_mean"])


def test_generator_codec_is_the_last_stage() -> None:
    torch.manual_seed(0)
    g = Generator(1, 8, "residual", 3, codec="jpeg", codec_quality=20.0).eval()
    torch.nn.init.normal_(g.block_output.weight, std=0.05)
    x = _images(2, 32, 32)
    noise = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        raw = g(x, noise, codec_offset=None)
        coded = g(x, noise)
        shifted = g(x, noise, codec_offset=(0, 3))
    assert torch.allclose(coded, jpeg_round_trip(raw, g.codec.quality), atol=1e-6)
    assert not torch.allclose(coded, shifted, atol=1e-3)
    with pytest.raises(ValueError, match="codec"):
        Generator(codec="png")  # type: ignore[arg-type]


def test_tiled_degrade_codes_the_whole_image() -> None:
    """Tiles of 10 px are not aligned to the 8 px grid: coding per tile would differ."""
    torch.manual_seed(0)
    g = Generator(1, 8, "residual", 3, codec="jpeg", codec_quality=20.0).eval()
    torch.nn.init.normal_(g.block_output.weight, std=0.05)
    x = _images(1, 40, 40)
    with torch.no_grad():
        whole = apply_generator(g, x, 0, 7)
        tiled = apply_generator(g, x, 10, 7)
    assert (whole - tiled).abs().max() < 1e-4
    with torch.no_grad():  # and the codec did run: without it, the output differs clearly
        uncoded = g(
            x,
            torch.randn(1, 3, 40, 40, generator=torch.Generator().manual_seed(7)),
            codec_offset=None,
        ).clamp(0, 1)
    assert (whole - uncoded).abs().mean() > 2 / 255
    assert _strongest_column_phase(whole[0]) == 7  # the grid starts at the top-left pixel


def test_trainer_learns_the_quality_and_resumes(tiny_dsgan) -> None:
    over = {"model.output": "residual", "model.noise_channels": 3, "model.codec": "jpeg"}
    t = tiny_dsgan({**over, "optim.codec_lr": 0.05, "iterations": 6, "log_every": 1})
    start = float(t.g.codec.quality)
    running = t.d.net[3].running_mean.clone()
    t.train()
    assert float(t.g.codec.quality) != pytest.approx(start, abs=1e-3)
    assert not torch.equal(running, t.d.net[3].running_mean)  # D's own forward still updates
    rows = [json.loads(line) for line in (t.run.root / "metrics.jsonl").read_text().splitlines()]
    logged = [r["codec/quality"] for r in rows if "codec/quality" in r]
    assert logged and all(1 < q < 100 for q in logged)
    assert all(np.isfinite(r["codec/slope"]) for r in rows if "codec/slope" in r)
    # resume: the learned quality comes back from the checkpoint, and training goes on
    learned = float(t.g.codec.quality)
    cfg = t.cfg.model_copy(update={"iterations": 8})
    t2 = type(t)(cfg, resume=True)
    assert t2.step == 6 and float(t2.g.codec.quality) == pytest.approx(learned, abs=1e-6)
    t2.train()
    assert t2.step == 8


def test_codec_generator_loads_from_the_run(tiny_dsgan) -> None:
    from dsgan.checkpoints.load import load_generator

    t = tiny_dsgan({"model.output": "residual", "model.codec": "jpeg", "iterations": 2})
    t.train()
    g, _ = load_generator(Path(t.cfg.out))
    assert g.codec is not None
    assert float(g.codec.quality) == pytest.approx(float(t.g.codec.quality), abs=1e-6)


def test_cli_train_codec_then_degrade(tmp_path: Path, make_images, capsys) -> None:
    from dsgan.checkpoints.load import load_generator
    from dsgan.cli.main import main
    from dsgan.io.images import load_image

    make_images(tmp_path / "hr", 2, 48)
    run = tmp_path / "run"
    tiny = ["--crop", "16", "--scale", "2", "--batch-size", "2", "--perceptual", "none"]
    tiny += ["--device", "cpu", "--set", "model.n_res_blocks=1", "--set", "model.channels=8"]
    tiny += ["--set", "model.d_channels=8", "--set", "model.output=residual"]
    argv = ["train", "--hr", str(tmp_path / "hr"), "--out", str(run), "--iterations", "2", *tiny]
    assert main([*argv, "--codec", "jpeg", "--dry-run"]) == 0
    assert "codec: jpeg" in capsys.readouterr().out
    assert main([*argv, "--codec", "jpeg"]) == 0
    g, _ = load_generator(run)
    assert g.codec is not None
    out = tmp_path / "lr"
    argv = ["degrade", "--checkpoint", str(run), "--input", str(tmp_path / "hr"), "--output"]
    capsys.readouterr()
    assert main([*argv, str(out), "--layout", "lr", "--workers", "0", "--tile", "10"]) == 0
    assert load_image(out / "img_000.png").shape == (3, 24, 24)
    assert f"JPEG stage of learned quality {float(g.codec.quality):.1f}" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:  # argparse: not a codec
        main(["train", "--hr", str(tmp_path / "hr"), "--codec", "png"])
    assert exc.value.code == 2


@pytest.mark.parametrize("color_mean", [False, True])
def test_codec_runs_once_per_step(tiny_dsgan, monkeypatch, color_mean) -> None:
    """The codec codes the batch once (the antithetic pair of color_mean in one call of 2N)."""
    calls: list[int] = []
    forward = JPEGCodec.forward

    def counting(self, x, offset=(0, 0)):
        calls.append(x.shape[0])
        return forward(self, x, offset)

    monkeypatch.setattr(JPEGCodec, "forward", counting)
    over = {"model.output": "residual", "model.noise_channels": 3, "model.codec": "jpeg"}
    t = tiny_dsgan({**over, "loss.color_mean": color_mean})
    xb, real = torch.rand(3, 3, 8, 8), torch.rand(3, 3, 8, 8)
    out = t.train_step(xb, real)
    assert out is not None and calls == [6 if color_mean else 3]


def test_a_positive_slope_lowers_the_quality_and_d_keeps_its_statistics(
    tiny_dsgan, monkeypatch
) -> None:
    import dsgan.training.dsgan_trainer as trainer_module

    over = {"model.output": "residual", "model.codec": "jpeg", "optim.codec_lr": 0.05}
    t = tiny_dsgan({**over, "iterations": 3})
    before = {k: v.clone() for k, v in t.d.state_dict().items()}
    slope = t._quality_slope(
        torch.rand(3, 3, 8, 8), torch.rand(3, 3, 8, 8), t.loss.highpass, (0, 0)
    )
    assert torch.isfinite(slope)
    assert all(torch.equal(before[k], v) for k, v in t.d.state_dict().items())
    monkeypatch.setattr(trainer_module, "quality_slope", lambda *a, **k: torch.tensor(1.0))
    start = float(t.g.codec.quality)
    t.train()
    assert float(t.g.codec.quality) < start - 1.0  # Adam stepped the logit down three times


@pytest.mark.parametrize(("start", "on"), [(0.64, True), (0.3, False)])
def test_snap_gate_makes_the_codec_all_or_nothing(start, on) -> None:
    codec = JPEGCodec(quality=40.0, gate=True, gate_init=start)
    x = torch.rand(1, 3, 16, 16)
    codec.snap_gate()
    assert float(codec.gate.detach()) == (1.0 if on else pytest.approx(0.0, abs=1e-12))
    want = jpeg_round_trip(x, codec.quality) if on else x
    assert torch.allclose(codec(x), want, atol=1e-6)
    assert codec.is_off() == (not on)
    before = codec.gate_logit.clone()
    codec.snap_gate()  # idempotent
    assert torch.equal(codec.gate_logit, before)
    JPEGCodec(gate=False).snap_gate()  # no gate: nothing to snap
    assert not JPEGCodec(gate=False).is_off() and not JPEGCodec(gate=True).is_off()


def test_a_codec_snapped_off_is_skipped_where_g_infers(monkeypatch) -> None:
    g = Generator(n_res_blocks=1, channels=8, noise_channels=3, codec="jpeg", codec_gate=True)
    x, noise = torch.rand(1, 3, 16, 16), torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        g.codec.gate_logit.fill_(-2.0)
        g.codec.snap_gate()
        want = g(x, noise, codec_offset=None).clamp(0, 1)
    import dsgan.models.codec as codec_module

    def refuse(*args, **kwargs):
        raise AssertionError("the round trip of a codec snapped off ran")

    monkeypatch.setattr(codec_module, "jpeg_round_trip", refuse)
    with torch.no_grad():
        assert torch.equal(g(x, noise).clamp(0, 1), want)  # the codec would add about 1e-13
        degraded = apply_generator(g, x, 0, 0)
        codec, g.codec = g.codec, None
        assert torch.equal(degraded, apply_generator(g, x, 0, 0))
    g.codec = codec


def test_trainer_snaps_the_gate_and_keeps_it_through_resume(tiny_dsgan) -> None:
    over = {
        "model.output": "residual",
        "model.noise_channels": 3,
        "model.codec": "jpeg",
        "model.codec_gate": True,
        "optim.stage_lr": 0.05,
        "optim.gate_snap": 0.5,
        "iterations": 4,
        "log_every": 1,
    }
    t = tiny_dsgan(over)
    t.train()
    rows = [json.loads(line) for line in (t.run.root / "metrics.jsonl").read_text().splitlines()]
    gates = [r["codec/gate"] for r in rows if "codec/gate" in r]
    assert len(gates) == 4 and gates[0] != pytest.approx(0.5, abs=1e-6)  # trained before
    hard = 1.0 if gates[1] >= 0.5 else 0.0
    assert gates[2:] == [pytest.approx(hard, abs=1e-12)] * 2  # hard from step 2 (0.5 of 4) on
    logit = t.g.codec.gate_logit.detach().clone()
    t2 = type(t)(t.cfg.model_copy(update={"iterations": 6}), resume=True)
    t2.train()  # Adam has momentum for the gate: without the snap it would still move
    assert torch.equal(t2.g.codec.gate_logit.detach(), logit)


def test_a_gate_snapped_off_stops_the_codec_and_its_slope_in_training(
    tiny_dsgan, monkeypatch
) -> None:
    """Snapped off, the codec changes G's output by about 1e-13: the trainer skips its round
    trip and the quality's finite difference (1.5x the step time on the CPU) from that step on;
    the quality then stays where it was."""
    import dsgan.models.codec as codec_module
    import dsgan.training.dsgan_trainer as trainer_module

    over = {
        "model.output": "residual",
        "model.noise_channels": 3,
        "model.codec": "jpeg",
        "model.codec_gate": True,
        "optim.gate_snap": 0.5,
        "iterations": 4,
        "log_every": 1,
    }
    t = tiny_dsgan(over)
    with torch.no_grad():
        t.g.codec.gate_logit.fill_(-3.0)  # gate 0.05: snapped off at step 2 of 4
    coded, slopes = [], []
    round_trip, slope = codec_module.jpeg_round_trip, trainer_module.quality_slope
    monkeypatch.setattr(
        codec_module, "jpeg_round_trip", lambda *a, **k: coded.append(t.step) or round_trip(*a, **k)
    )
    monkeypatch.setattr(
        trainer_module, "quality_slope", lambda *a, **k: slopes.append(t.step) or slope(*a, **k)
    )
    t.train()
    assert sorted(set(coded)) == [0, 1] and sorted(set(slopes)) == [0, 1]  # not from step 2 on
    rows = [json.loads(line) for line in (t.run.root / "metrics.jsonl").read_text().splitlines()]
    quality = [r["codec/quality"] for r in rows if "codec/quality" in r]
    assert len(quality) == 4 and quality[2] == quality[3]  # no slope, no step
    assert t.g.codec.is_off()


# --- a sampled gate (model.codec_gate_mode: sample) -------------------------------------------


def test_gate_delta_is_the_slope_of_the_expected_loss() -> None:
    """E_g[L] = mean_i(g L_coded_i + (1 - g) L_uncoded_i): its slope in g from the drawn and the
    flipped logits, whichever of the two each output drew."""
    from dsgan.training.codec_step import gate_delta

    torch.manual_seed(0)
    coded_logits, uncoded_logits = torch.randn(5, 1, 3, 3), torch.randn(5, 1, 3, 3)
    draw = torch.tensor([True, False, False, True, True])
    mask = draw.view(5, 1, 1, 1)
    mixed = torch.where(mask, coded_logits, uncoded_logits)
    flipped = torch.where(mask, uncoded_logits, coded_logits)

    def loss_of(logits):
        return torch.nn.functional.softplus(-logits).mean()

    def expected(g):
        per = [
            g * loss_of(coded_logits[i : i + 1]) + (1 - g) * loss_of(uncoded_logits[i : i + 1])
            for i in range(5)
        ]
        return torch.stack(per).mean()

    want = (expected(0.7) - expected(0.3)) / 0.4  # linear in g: exact
    assert float(gate_delta(loss_of, mixed, flipped, draw)) == pytest.approx(float(want), rel=1e-5)


@pytest.mark.parametrize(("start", "on"), [(0.6, True), (0.4, False)])
def test_a_sampled_gate_codes_whole_outputs_where_g_infers(start, on) -> None:
    codec = JPEGCodec(quality=40.0, gate=True, gate_init=start, gate_mode="sample")
    x = torch.rand(2, 3, 16, 16)
    assert torch.equal(codec(x), jpeg_round_trip(x, codec.quality) if on else x)
    g = Generator(1, 8, "residual", 3, codec="jpeg", codec_gate=True, codec_gate_mode="sample")
    from dsgan.models.dsgan import generator_from_config

    arch = {"n_res_blocks": 1, "channels": 8, "output": "residual", "noise_channels": 3}
    arch.update(codec="jpeg", codec_gate=True, codec_gate_mode="sample")
    assert g.codec.gate_mode == generator_from_config(arch).codec.gate_mode == "sample"
    with pytest.raises(ValueError, match="gate_mode"):
        JPEGCodec(gate=True, gate_mode="mix")


@pytest.mark.parametrize("color_mean", [False, True])
def test_trainer_samples_the_gate_and_follows_its_slope(tiny_dsgan, monkeypatch, color_mean):
    """Each output D sees is coded or not, whole (never a blend); the gate moves against the
    slope of the expected adversarial loss, as Adam's first step does; D's statistics stay."""
    import dsgan.training.dsgan_trainer as trainer_module

    seen = []
    delta = trainer_module.gate_delta

    def spy(loss_of, d_mixed, d_flipped, coded):
        seen.append(coded.clone())
        return delta(loss_of, d_mixed, d_flipped, coded)

    monkeypatch.setattr(trainer_module, "gate_delta", spy)
    over = {
        "model.output": "residual",
        "model.noise_channels": 3,
        "model.codec": "jpeg",
        "model.codec_gate": True,
        "model.codec_gate_mode": "sample",
        "optim.stage_lr": 0.05,
        "loss.color_mean": color_mean,
    }
    t = tiny_dsgan(over)
    xb, real = torch.rand(3, 3, 8, 8), torch.rand(3, 3, 8, 8)
    fakes, coded = [], []
    d_forward, code = t.d_logits, t._coded
    monkeypatch.setattr(t, "d_logits", lambda r, f: (fakes.append(f.detach()), d_forward(r, f))[1])
    monkeypatch.setattr(
        t, "_coded", lambda x, o: coded.append((x.detach(), code(x, o))) or coded[-1][1]
    )
    logit = float(t.g.codec.gate_logit.detach())
    out = t.train_step(xb, real)
    assert out is not None and len(seen) == 1 and seen[0].shape == (3,)
    slope = float(out["codec/gate_slope"])
    assert slope != 0.0
    moved = float(t.g.codec.gate_logit.detach()) - logit
    assert moved != 0.0 and (moved > 0) == (slope < 0)
    # the batch D judged in the step: each output coded whole where drawn, else G's own
    pre, all_coded = (c[:3].detach() for c in coded[0])
    draw = seen[0].view(3, 1, 1, 1)
    hp = t.loss.d_input
    assert torch.allclose(fakes[0], hp(torch.where(draw, all_coded, pre)), atol=1e-6)
    assert not torch.allclose(pre, all_coded, atol=1e-3)  # so the check above tells them apart


@pytest.mark.parametrize(("start", "real_quality", "sign"), [(75.0, 15.0, 1), (10.0, None, -1)])
def test_block_term_pulls_the_quality_toward_the_real_blockiness(
    tiny_dsgan, start, real_quality, sign
) -> None:
    """With ``loss.w_block`` and a D that says nothing (adversarial loss 0), the quality's slope
    comes from the blockiness difference alone: a codec less blocky than the real LR (q75
    against q15) gets a positive slope (Adam lowers the quality), a codec blockier than clean
    real LR (q10 against none) a negative one."""
    over = {"model.output": "residual", "model.codec": "jpeg", "model.codec_quality": start}
    t = tiny_dsgan({**over, "loss.w_block": 1.0})
    t.loss.adv.generator = lambda fake, real=None: fake.sum() * 0.0
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    pre = torch.stack(
        [torch.from_numpy(smooth_image(rng, 32, 32)).permute(2, 0, 1) / 255 for _ in range(3)]
    )
    real = pre if real_quality is None else jpeg_round_trip(pre, torch.tensor(real_quality))
    hp = t.loss.highpass
    from dsgan.metrics.blocking import batch_blockiness

    target = batch_blockiness(real)
    slope = t._quality_slope(pre, hp(real), hp, (0, 0), block_target=target)
    assert float(slope) * sign > 1e-4
    t_off = tiny_dsgan(over)  # w_block 0: the same D-less slope is zero
    t_off.loss.adv.generator = t.loss.adv.generator
    assert float(t_off._quality_slope(pre, hp(real), hp, (0, 0), block_target=target)) == 0.0


def test_logged_change_is_g_before_the_codec(tiny_dsgan) -> None:
    """``diag/change``: how much G changes its input before the codec. A G that starts as the
    identity (zero-initialised residual, no noise) changes nothing at the first step, while its
    coded output does differ from the input; a noisy G's change is its noise."""
    over = {"model.output": "residual", "model.noise_channels": 0, "model.codec": "jpeg"}
    t = tiny_dsgan({**over, "iterations": 1, "log_every": 1, "data.crop": 20})
    t.train()
    (row,) = [json.loads(line) for line in (t.run.root / "metrics.jsonl").read_text().splitlines()]
    assert row["diag/change"] == 0.0, row["diag/change"]
    assert row["diag/block_fake"] > 0  # the codec ran on the output that D saw
    noisy = tiny_dsgan(
        {
            "model.output": "residual",
            "model.noise_channels": 3,
            "model.signal_noise": True,
            "iterations": 1,
            "log_every": 1,
        }
    )
    noisy.train()
    rows = [
        json.loads(line) for line in (noisy.run.root / "metrics.jsonl").read_text().splitlines()
    ]
    # the sensor stage starts at one grey level of noise at mid-grey: a mean |change| near 0.8
    assert 0.2 < rows[0]["diag/change"] < 3.0, rows[0]["diag/change"]


@pytest.mark.parametrize("pair", [False, True])
def test_identity_prior_in_the_quality_slope_pulls_the_quality_up(tiny_dsgan, pair) -> None:
    """``loss.id_quality``: with a D that says nothing (adversarial loss 0), the quality's slope
    is w_id / w_tex times the identity prior's: coding a photo-like batch at a higher quality
    changes its high-pass less, so the slope is negative (Adam raises the quality), and equals
    the finite difference of that prior computed here by hand; for an antithetic pair (2N
    outputs) the prior is of the pair's mean. Without the option the same slope is zero."""
    over = {"model.output": "residual", "model.codec": "jpeg", "model.codec_quality": 40.0}
    over |= {"loss.w_id": 0.03, "loss.w_tex": 0.005}
    t = tiny_dsgan({**over, "loss.id_quality": True})
    silent = lambda fake, real=None: fake.sum() * 0.0  # noqa: E731
    t.loss.adv.generator = silent
    rng = np.random.default_rng(0)
    clean = torch.stack(
        [torch.from_numpy(smooth_image(rng, 32, 32)).permute(2, 0, 1) / 255 for _ in range(3)]
    )
    noise = 0.05 * torch.randn(3, 3, 32, 32)
    pre = torch.cat([clean + noise, clean - noise]).clamp(0, 1) if pair else clean
    hp = t.loss.highpass
    real_hp = hp(clean)
    slope = float(t._quality_slope(pre, real_hp, hp, (0, 0), clean=clean))
    assert slope < -1e-3

    def prior(logit: torch.Tensor) -> float:
        coded = jpeg_round_trip(pre, quality_of(logit))
        mean = 0.5 * (coded[:3] + coded[3:]) if pair else coded
        return float((hp(mean) - hp(clean)).abs().mean())

    logit, delta = t.g.codec.quality_logit.detach(), t.cfg.optim.codec_delta
    by_hand = (prior(logit + delta) - prior(logit - delta)) / (2 * delta) * 0.03 / 0.005
    assert slope == pytest.approx(by_hand, rel=1e-4, abs=1e-7)
    t_off = tiny_dsgan(over)
    t_off.loss.adv.generator = silent
    assert float(t_off._quality_slope(pre[:3], real_hp, hp, (0, 0))) == 0.0


def test_identity_prior_in_the_quality_slope_trains(tiny_dsgan) -> None:
    """A step of the default's G (antithetic pair, gated codec) with ``loss.id_quality``: the
    slope is finite and moves the quality; the option needs a codec and the prior's weight."""
    over = {
        "model.output": "residual",
        "model.noise_channels": 3,
        "model.codec": "jpeg",
        "model.codec_gate": True,
        "loss.w_id": 0.03,
        "loss.id_quality": True,
    }
    t = tiny_dsgan(over)
    before = float(t.g.codec.quality_logit.detach())
    out = t.train_step(torch.rand(3, 3, 8, 8), torch.rand(3, 3, 8, 8))
    assert out is not None and torch.isfinite(out["codec/slope"])
    assert float(t.g.codec.quality_logit.detach()) != before
    with pytest.raises(UserError, match=r"loss\.id_quality"):
        tiny_dsgan({**over, "loss.w_id": 0.0})
    with pytest.raises(UserError, match=r"loss\.id_quality"):
        tiny_dsgan({**over, "model.codec": "none", "model.codec_gate": False})
