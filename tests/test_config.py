"""Strict YAML configs: unknown keys, wrong types, dotted overrides, round trips, fuzzing."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsgan.config import DSGANConfig, dump_config, load_config
from dsgan.config.base import parse_set_option, read_yaml, set_by_path
from dsgan.config.presets import DEFAULT_PRESET, load_preset, preset_names
from dsgan.errors import UserError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_and_yaml_values(tmp_path: Path):
    cfg = load_config(DSGANConfig, write(tmp_path, "iterations: 7\noptim:\n  lr: 1.0e-3\n"))
    assert cfg.iterations == 7 and cfg.optim.lr == 1e-3
    assert cfg.optim.beta1 == 0.5 and cfg.data.scale == 4  # untouched defaults
    assert load_config(DSGANConfig, write(tmp_path, "")) == DSGANConfig()


def test_unknown_key_is_named(tmp_path: Path):
    with pytest.raises(UserError, match=r"(?s)optim\.lrr.*unknown key"):
        load_config(DSGANConfig, write(tmp_path, "optim:\n  lrr: 0.1\n"))
    with pytest.raises(UserError, match="itterations"):
        load_config(DSGANConfig, overrides={"itterations": 3})


def test_wrong_type_and_range(tmp_path: Path):
    with pytest.raises(UserError, match=r"(?s)cfg\.yaml.*batch_size"):
        load_config(DSGANConfig, write(tmp_path, "batch_size: many\n"))
    with pytest.raises(UserError, match="scale"):
        load_config(DSGANConfig, overrides={"data.scale": 1})  # ge=2
    with pytest.raises(UserError, match="kernel_size"):
        load_config(DSGANConfig, overrides={"loss.kernel_size": 4})  # must be odd
    with pytest.raises(UserError, match=r"data\.crop \(8\).*loss\.kernel_size \(9\)"):
        load_config(DSGANConfig, overrides={"data.crop": 8, "loss.kernel_size": 9})
    assert load_config(DSGANConfig, overrides={"data.crop": 9, "loss.kernel_size": 9})
    with pytest.raises(UserError, match="gan"):
        load_config(DSGANConfig, overrides={"loss.gan": "lsgan"})


def test_bad_files(tmp_path: Path):
    with pytest.raises(UserError, match="not found"):
        load_config(DSGANConfig, tmp_path / "missing.yaml")
    with pytest.raises(UserError, match="invalid YAML"):
        load_config(DSGANConfig, write(tmp_path, "a: [1, 2\n"))
    with pytest.raises(UserError, match="mapping"):
        load_config(DSGANConfig, write(tmp_path, "- 1\n- 2\n"))
    with pytest.raises(UserError, match=r"cfg\.yaml"):
        read_yaml(write(tmp_path, "when: 2001-13-45\n"))  # YAML date out of range
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(UserError, match=r"bin\.yaml"):
        read_yaml(tmp_path / "bin.yaml")


def test_parse_set_option():
    key, value = parse_set_option("optim.lr=1e-4")  # YAML 1.1 reads "1e-4" as a string ...
    assert key == "optim.lr"
    assert load_config(DSGANConfig, overrides={key: value}).optim.lr == 1e-4  # ... still a float
    assert parse_set_option("iterations=10") == ("iterations", 10)
    assert parse_set_option("data.flips=false") == ("data.flips", False)
    assert parse_set_option("data.lr=") == ("data.lr", None)
    assert parse_set_option("out=a=b") == ("out", "a=b")  # only the first '=' splits
    assert parse_set_option(" seed =3") == ("seed", 3)
    with pytest.raises(UserError, match="KEY=VALUE"):
        parse_set_option("optim.lr")
    with pytest.raises(UserError, match="cannot parse"):
        parse_set_option("x=[1,")
    with pytest.raises(UserError, match="cannot parse"):
        parse_set_option("x=2001-13-45")


def test_set_by_path():
    tree: dict = {"a": {"b": 1}, "c": 2}
    set_by_path(tree, "a.d.e", 5)
    set_by_path(tree, "a.b", 3)
    set_by_path(tree, "f", 4)
    assert tree == {"a": {"b": 3, "d": {"e": 5}}, "c": 2, "f": 4}
    with pytest.raises(UserError, match="not a section"):
        set_by_path(tree, "c.x", 1)


def test_overrides_beat_file_and_base(tmp_path: Path):
    path = write(tmp_path, "iterations: 7\nloss:\n  w_col: 2.0\n  gan: ragan\n")
    base = {"iterations": 1, "loss": {"w_tex": 0.5, "w_col": 9.0}, "seed": 11}
    items = ["optim.lr=1.0e-3", "loss.gan=wgan-gp", "data.hr=/tmp/hr"]
    overrides = dict(parse_set_option(s) for s in items)
    cfg = load_config(DSGANConfig, path, overrides=overrides, base=base)
    assert cfg.iterations == 7  # file beats base
    assert cfg.seed == 11 and cfg.loss.w_tex == 0.5  # base kept where the file is silent
    assert cfg.loss.w_col == 2.0  # deep merge: the file's section does not wipe the base's
    assert cfg.loss.gan == "wgan-gp" and cfg.optim.lr == 1e-3  # overrides beat both
    assert cfg.data.hr == Path("/tmp/hr")


def test_configs_are_frozen():
    cfg = DSGANConfig()
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        cfg.iterations = 3  # type: ignore[misc]


def test_dump_load_round_trip(tmp_path: Path):
    cfg = load_config(
        DSGANConfig,
        overrides={
            "data.hr": "hr/dir",
            "data.lr": "/abs/lr",
            "data.crop": 0,
            "loss.perceptual": "lpips",
            "loss.w_tex": 0.0123,
            "optim.lr": 3e-5,
            "model.output": "residual",
            "out": "runs/x",
        },
    )
    text = dump_config(cfg)
    again = load_config(DSGANConfig, write(tmp_path, text))
    assert again == cfg
    assert dump_config(again) == text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40))
def test_fuzz_set_option_only_user_errors(text):
    try:
        key, value = parse_set_option(text)
        load_config(DSGANConfig, overrides={key: value})
    except UserError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=60),
        st.lists(
            st.sampled_from(
                [
                    "data:",
                    "  hr: x",
                    "  crop: -1",
                    "optim:",
                    "  lr: 0",
                    "iterations: 2001-01-01",
                    "seed: [1]",
                    "loss: 3",
                    "x: !!python/object:os.system",
                    "{",
                    "- a",
                    "  ",
                    "'",
                    "&a [*a]",
                    "model: {n_res_blocks: 1e400}",
                    "when: 2001-99-99",
                ]
            ),
            max_size=6,
        ).map("\n".join),
    )
)
def test_fuzz_yaml_file_only_user_errors(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            cfg = load_config(DSGANConfig, path)
        except UserError:
            return
        assert isinstance(cfg, DSGANConfig)


def test_noise_injection_needs_noise_channels_and_a_residual_output():
    from dsgan.config.dsgan import DSGANConfig

    with pytest.raises(UserError, match="noise_injection needs"):
        load_config(DSGANConfig, overrides={"model.noise_injection": True})
    cfg = load_config(
        DSGANConfig,
        overrides={
            "model.noise_injection": True,
            "model.noise_channels": 3,
            "model.output": "residual",
        },
    )
    assert cfg.model.noise_injection


@pytest.mark.parametrize("name", preset_names())
def test_shipped_presets_load(name: str) -> None:
    """Every preset installed with the package parses with strict keys and is what it says."""
    cfg = load_config(DSGANConfig, base=load_preset(name))
    assert cfg.model.codec == ("jpeg" if name in ("jpeg", "camera") else "none")
    assert cfg.model.codec_gate == (name == "camera")
    assert (cfg.model.output == "sigmoid") == (name == "paper")
    assert cfg.model.signal_noise == (name == "camera")
    assert cfg.model.blur == 0  # the learned blur is an option no preset turns on (measured)


def test_default_preset_is_listed_first_and_unknown_presets_are_refused() -> None:
    assert preset_names()[0] == DEFAULT_PRESET == "camera"
    with pytest.raises(UserError, match=r"unknown preset 'nope'.*camera"):
        load_preset("nope")


def test_paper_preset_is_the_papers_defaults() -> None:
    """`--preset paper` changes none of the paper's networks or losses (the config defaults)."""
    paper = load_config(DSGANConfig, base=load_preset("paper"))
    default = DSGANConfig()
    assert paper.model == default.model
    assert paper.loss == default.loss


def test_stage_options_are_checked() -> None:
    with pytest.raises(UserError, match=r"signal_noise \(on in the default preset, camera\) needs"):
        load_config(DSGANConfig, overrides={"model.signal_noise": True})
    with pytest.raises(UserError, match="preset paper"):
        load_config(DSGANConfig, base=load_preset("camera"), overrides={"model.output": "sigmoid"})
    with pytest.raises(UserError, match="radius"):
        load_config(DSGANConfig, overrides={"model.blur": 1})
    with pytest.raises(UserError, match="network_noise false"):
        load_config(
            DSGANConfig,
            overrides={
                "model.noise_channels": 3,
                "model.output": "residual",
                "model.network_noise": False,
            },
        )
    stages_only = load_config(
        DSGANConfig, base=load_preset("camera"), overrides={"model.network_noise": False}
    )
    assert not stages_only.model.network_noise and stages_only.model.signal_noise
    # no codec, nothing to gate: --codec none works over the camera preset
    cfg = load_config(DSGANConfig, base=load_preset("camera"), overrides={"model.codec": "none"})
    assert cfg.model.codec == "none" and not cfg.model.codec_gate
    with pytest.raises(UserError, match=r"model\.blur"):
        load_config(DSGANConfig, overrides={"model.blur": 12})


def test_codec_options_are_checked() -> None:
    with pytest.raises(UserError, match="codec"):
        load_config(DSGANConfig, overrides={"model.codec": "png"})
    with pytest.raises(UserError, match="codec_quality"):
        load_config(DSGANConfig, overrides={"model.codec_quality": 100})
