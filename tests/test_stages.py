"""The camera-like generator's physical stages: blur, sensor noise, the codec's gate."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from dsgan.config.base import load_config
from dsgan.config.dsgan import DSGANConfig
from dsgan.config.presets import load_preset
from dsgan.models.codec import JPEGCodec, jpeg_round_trip
from dsgan.models.dsgan import Generator
from dsgan.models.stages import LearnedBlur, SignalNoise
from dsgan.training.dsgan_trainer import build_generator, stage_parameters, stage_values


def test_blur_starts_as_nearly_none_and_keeps_mean_and_size() -> None:
    blur = LearnedBlur(radius=4)
    x = torch.rand(2, 3, 20, 24)
    out = blur(x)
    assert out.shape == x.shape
    assert (out - x).abs().max() < 0.05  # sigma 0.3: neighbour weight 0.4 %
    assert torch.allclose(blur.kernel().sum(), torch.tensor(1.0))
    flat = torch.full((1, 3, 16, 16), 0.3)
    assert torch.allclose(blur(flat), flat, atol=1e-6)  # a normalised kernel keeps levels


def test_blur_width_is_what_it_says() -> None:
    """A wide kernel's 1-D profile has the learned sigma as its standard deviation."""
    blur = LearnedBlur(radius=9, sigma=1.5)
    profile = blur.kernel().detach().sum(0)
    t = torch.arange(-9, 10, dtype=profile.dtype)
    assert float((profile * t**2).sum().sqrt()) == pytest.approx(1.5, rel=0.02)
    with pytest.raises(ValueError, match="sigma"):
        LearnedBlur(radius=2, sigma=1.0)  # the kernel could not hold +-3 sigma


def test_blur_learns_a_width_from_a_target() -> None:
    """Fitting blurred images by MSE recovers the blur's width (gradient reaches sigma)."""
    torch.manual_seed(0)
    x = torch.rand(4, 3, 32, 32)
    target = LearnedBlur(radius=4, sigma=1.0)(x).detach()
    blur = LearnedBlur(radius=4)
    opt = torch.optim.Adam(blur.parameters(), lr=0.05)
    for _ in range(150):
        opt.zero_grad()
        (blur(x) - target).pow(2).mean().backward()
        opt.step()
    assert float(blur.sigma.detach()) == pytest.approx(1.0, abs=0.05)


def test_signal_noise_level_follows_the_signal_and_its_parameters() -> None:
    sensor = SignalNoise(sigma=1.0)
    with torch.no_grad():
        sensor.log_shot.fill_(float(torch.log(torch.tensor(0.01))))
        sensor.log_read.fill_(float(torch.log(torch.tensor(1e-6))))
    torch.manual_seed(0)
    dark, bright = torch.full((1, 3, 64, 64), 0.1), torch.full((1, 3, 64, 64), 0.9)
    n = torch.randn(1, 3, 64, 64)
    std_dark = float((sensor(dark, n) - dark).detach().std())
    std_bright = float((sensor(bright, n) - bright).detach().std())
    assert std_dark == pytest.approx((0.01 * 0.1 + 1e-6) ** 0.5, rel=0.05)
    assert std_bright == pytest.approx((0.01 * 0.9 + 1e-6) ** 0.5, rel=0.05)
    curve = sensor.curve(torch.tensor([0.1, 0.9]))
    assert curve.shape == (3, 2)
    assert torch.allclose(curve[:, 1] / curve[:, 0], torch.full((3,), 3.0), rtol=0.01)


def test_signal_noise_mix_sets_correlation_not_level() -> None:
    sensor = SignalNoise(sigma=4.0)
    torch.manual_seed(0)
    y = torch.full((1, 3, 96, 96), 0.5)
    n = torch.randn(1, 3, 96, 96)
    independent = sensor(y, n) - y
    with torch.no_grad():
        sensor.mix.copy_(torch.ones(3, 3) + 0.01 * torch.eye(3))  # nearly one shared source
    shared = sensor(y, n) - y
    corr = torch.corrcoef(shared.flatten(2)[0])
    assert float(corr[0, 1]) > 0.95
    assert abs(float(torch.corrcoef(independent.flatten(2)[0])[0, 1])) < 0.05
    assert float(shared.std()) == pytest.approx(float(independent.std()), rel=0.05)
    assert torch.allclose(sensor.correlation().diagonal(), torch.ones(3))


def test_codec_gate_blends_between_identity_and_jpeg() -> None:
    torch.manual_seed(0)
    x = torch.rand(1, 3, 32, 32)
    codec = JPEGCodec(30.0, gate=True, gate_init=0.25)
    coded = jpeg_round_trip(x, codec.quality)
    assert torch.allclose(codec(x), x + 0.25 * (coded - x), atol=1e-5)
    assert torch.allclose(JPEGCodec(30.0)(x), coded, atol=1e-6)  # no gate: always fully on
    assert float(JPEGCodec(30.0).gate) == 1.0
    with pytest.raises(ValueError, match="gate"):
        JPEGCodec(30.0, gate=True, gate_init=1.0)


def test_codec_gate_learns_to_switch_off_and_on() -> None:
    """The gate's autograd gradient: toward the identity when the target has no JPEG, toward
    the codec when it is the JPEG."""
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32)
    for target, want_on in ((x, False), (jpeg_round_trip(x, torch.tensor(30.0)), True)):
        codec = JPEGCodec(30.0, gate=True)
        opt = torch.optim.Adam([codec.gate_logit], lr=0.1)  # type: ignore[list-item]
        for _ in range(60):
            opt.zero_grad()
            (codec(x) - target).pow(2).mean().backward()
            opt.step()
        assert (float(codec.gate) > 0.9) if want_on else (float(codec.gate) < 0.1)


@pytest.mark.parametrize("blur", [0, 4])  # the shipped camera preset (0), and with model.blur
def test_camera_generator_starts_near_the_identity_and_orders_its_stages(blur: int) -> None:
    cfg = load_config(DSGANConfig, overrides={"model.blur": blur}, base=load_preset("camera"))
    g = Generator(**{k: v for k, v in cfg.model.model_dump().items() if k != "d_channels"})
    assert g.sensor is not None and g.codec is not None
    assert (g.blur is None) == (blur == 0)
    assert g.receptive_radius == 2 + 2 * 8 + (g.blur.radius if g.blur is not None else 0)
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32)
    out = g(x, codec_offset=None)  # stages before the codec: blur ~ none, noise ~ 1 grey level
    assert float((out - x).std() * 255) < 3.0
    names = {id(p) for p in stage_parameters(g)}
    assert id(g.codec.gate_logit) in names and id(g.sensor.log_shot) in names
    assert g.blur is None or id(g.blur.sigma_param) in names
    assert id(g.codec.quality_logit) not in names  # the finite difference's, not autograd's
    values = stage_values(g)
    want = {"stage/noise_mid", "codec/quality", "codec/gate"} | (
        {"stage/blur_sigma"} if blur else set()
    )
    assert set(values) == want
    assert float(values["codec/gate"]) == pytest.approx(0.5)


def test_signal_noise_uses_the_explicit_noise_input() -> None:
    """The sensor draws from G's noise input, so a fixed draw gives a fixed output (tiling,
    export and reproducible degrading depend on it)."""
    g = Generator(output="residual", noise_channels=3, signal_noise=True)
    x = torch.rand(1, 3, 16, 16)
    n = torch.randn(1, 3, 16, 16)
    assert torch.equal(g(x, n), g(x, n))
    assert not torch.equal(g(x, n), g(x, -n))
    with pytest.raises(ValueError, match="signal_noise"):
        Generator(output="sigmoid", noise_channels=3, signal_noise=True)


@pytest.mark.parametrize("start", [1.0, 0.5])
def test_sensor_starts_at_model_noise_start(start: float) -> None:
    """``model.noise_start`` (grey levels) is the sensor's initial noise std at mid-grey, from the
    config through ``build_generator`` (1.0 by default, as before the key existed)."""
    over = {} if start == 1.0 else {"model.noise_start": start}
    cfg = load_config(DSGANConfig, overrides=over, base=load_preset("camera"))
    assert cfg.model.noise_start == start
    curve = build_generator(cfg).sensor.curve(torch.tensor([0.5]))
    torch.testing.assert_close(curve, torch.full((3, 1), start), rtol=1e-5, atol=0)


def test_camera_training_resumes_exactly(tiny_dsgan: Any) -> None:
    """4 steps straight equal 2 steps, a stop, and 2 resumed steps: the stages' parameters, the
    codec's quality and gate and their optimiser state are saved and restored."""
    camera = {
        "model.output": "residual",
        "model.noise_channels": 3,
        "model.blur": 2,
        "model.signal_noise": True,
        "model.codec": "jpeg",
        "model.codec_gate": True,
        "data.crop": 16,
        "iterations": 4,
        "checkpoint_every": 2,
        "optim.decay_start": 1.0,  # a constant lr: a 2-step run's schedule is a 4-step run's
    }
    straight = tiny_dsgan(camera)
    straight.train()
    first = tiny_dsgan(camera)
    out = first.cfg.out
    first.cfg = first.cfg.model_copy(update={"iterations": 2})
    first.train()
    from dsgan.training.dsgan_trainer import DSGANTrainer

    resumed = DSGANTrainer(first.cfg.model_copy(update={"iterations": 4, "out": out}), resume=True)
    resumed.train()
    a, b = straight.g.state_dict(), resumed.g.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_camera_generator_tiled_equals_untiled() -> None:
    """Blur context, sensor noise from the whole image's noise draw, codec once on the whole
    image: tiles are seamless (tile 7 is no multiple of anything in the model)."""
    from dsgan.inference.degrade import apply_generator

    torch.manual_seed(0)
    g = Generator(2, 8, "residual", 3, blur=2, signal_noise=True, codec="jpeg", codec_gate=True)
    torch.nn.init.normal_(g.block_output.weight, std=0.05)  # not the identity
    with torch.no_grad():
        g.blur.sigma_param.fill_(0.5)  # type: ignore[union-attr]
        g.sensor.log_read.fill_(-8.0)  # type: ignore[union-attr]
        x = torch.rand(1, 3, 29, 35)
        whole = apply_generator(g, x, 0, 5)
        tiled = apply_generator(g, x, 7, 5)
        no_stages = Generator(2, 8, "residual", 3)
        no_stages.load_state_dict(g.state_dict(), strict=False)
        plain = apply_generator(no_stages, x, 0, 5)
    torch.testing.assert_close(tiled, whole, atol=1e-4, rtol=0)
    assert (whole - plain).abs().mean() > 1 / 255  # the stages did act


def test_stages_keep_float32_under_autocast() -> None:
    """bf16 autocast (``--amp auto`` on GPUs and bf16 CPUs) must not round the blurred, noisy
    image G's output is built on: the camera G's output stays float32 and equals fp32's."""
    torch.manual_seed(0)
    g = Generator(1, 8, "residual", 3, blur=4, signal_noise=True).eval()
    x, n = torch.rand(1, 3, 24, 24), torch.randn(1, 3, 24, 24)
    with torch.no_grad():
        ref = g(x, n)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = g(x, n)
    assert low.dtype == torch.float32
    # zero-initialised last conv: the output is the stages' alone, so no bf16 rounding at all
    torch.testing.assert_close(low, ref, atol=1e-6, rtol=0)


def test_blur_width_capped_without_losing_its_gradient() -> None:
    blur = LearnedBlur(radius=4)
    with torch.no_grad():
        blur.sigma_param.fill_(3.0)  # softplus 3.05, past the cap 4 / 3
    assert float(blur.sigma.detach()) == pytest.approx(4 / 3)
    blur.sigma.backward()
    assert blur.sigma_param.grad is not None and float(blur.sigma_param.grad) > 0.9


def test_gradient_norms_are_logged(tiny_dsgan: Any) -> None:
    """diag/grad_g and diag/grad_stages reach metrics.jsonl (to find gradient bursts)."""
    import json

    t = tiny_dsgan(
        {
            "model.output": "residual",
            "model.noise_channels": 3,
            "model.blur": 2,
            "model.signal_noise": True,
            "iterations": 2,
            "log_every": 1,
        }
    )
    t.train()
    rows = [json.loads(x) for x in (t.run.root / "metrics.jsonl").read_text().splitlines()]
    assert all(r["diag/grad_g"] > 0 and r["diag/grad_stages"] > 0 for r in rows)
    assert all(r["diag/grad_stages"] <= r["diag/grad_g"] + 1e-6 for r in rows)  # a part of it
    plain = tiny_dsgan({"iterations": 1, "log_every": 1})
    plain.train()
    row = json.loads((plain.run.root / "metrics.jsonl").read_text().splitlines()[0])
    assert "diag/grad_g" in row and "diag/grad_stages" not in row  # no stages, no entry
