"""Property-based fuzzing (hypothesis) of the three places untrusted input enters: image files,
config files / ``--set`` overrides, and the command line."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from dsgan.cli.main import main
from dsgan.config.base import load_config, parse_set_option
from dsgan.config.dsgan import DSGANConfig
from dsgan.errors import ImageError, UserError
from dsgan.io.images import load_image, save_image

FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

HEADERS = [
    b"",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    b"II*\x00",
    b"MM\x00*",
    b"BM",
    b"GIF89a",
]
EXTS = [".png", ".jpg", ".webp", ".tif", ".bmp"]


def _valid_prefix(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


VALID = {fmt: _valid_prefix(fmt) for fmt in ("PNG", "JPEG", "BMP", "TIFF")}


@FAST
@given(header=st.sampled_from(HEADERS), body=st.binary(max_size=300), ext=st.sampled_from(EXTS))
def test_random_bytes_only_raise_image_error(header, body, ext):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"x{ext}"
        path.write_bytes(header + body)
        try:
            img = load_image(path)
        except ImageError as exc:
            assert str(path) in str(exc)
        else:
            assert img.dtype == torch.float32 and img.ndim == 3 and img.shape[0] == 3
            assert float(img.min()) >= 0 and float(img.max()) <= 1


@FAST
@given(
    fmt=st.sampled_from(sorted(VALID)),
    cut=st.floats(0, 1),
    flips=st.lists(st.integers(0, 10_000), max_size=4),
)
def test_damaged_valid_files_only_raise_image_error(fmt, cut, flips):
    """Truncated and bit-flipped versions of real files: decoded or refused, nothing else."""
    data = bytearray(VALID[fmt][: max(1, int(len(VALID[fmt]) * cut))])
    for pos in flips:
        data[pos % len(data)] ^= 0xFF
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"x.{fmt.lower()}"
        path.write_bytes(bytes(data))
        try:
            img = load_image(path)
        except ImageError:
            return
        assert img.shape[0] == 3 and torch.isfinite(img).all()


@FAST
@given(
    shape=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    seed=st.integers(0, 2**32 - 1),
    ext=st.sampled_from([".png", ".bmp", ".tif"]),
)
def test_lossless_round_trip(shape, seed, ext):
    arr = np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"img{ext}"
        save_image(torch.from_numpy(arr).permute(2, 0, 1).float() / 255, path)
        back = load_image(path)
        assert [p.name for p in Path(d).iterdir()] == [path.name]  # no temporary file left
    assert torch.equal((back * 255).round().to(torch.uint8).permute(1, 2, 0), torch.from_numpy(arr))


# ---------------------------------------------------------------- config
KEYS = [
    "data.scale",
    "data.crop",
    "data.hr",
    "data.flips",
    "model.n_res_blocks",
    "model.output",
    "model.channels",
    "loss.kernel_size",
    "loss.gan",
    "loss.w_col",
    "optim.lr",
    "optim.beta1",
    "iterations",
    "batch_size",
    "seed",
    "amp",
    "data",
    "model",
    "nope",
    "data.nope",
    "model.output.x",
    "",
    ".",
    "data..scale",
    "iterations.x",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
    max_leaves=6,
)


def _is_valid_or_user_error(make) -> None:
    try:
        cfg = make()
    except UserError:
        return
    assert isinstance(cfg, DSGANConfig)
    DSGANConfig.model_validate(cfg.model_dump())  # what was accepted is valid


@FAST
@given(items=st.lists(st.tuples(st.sampled_from(KEYS), st.text(max_size=20)), max_size=5))
def test_set_overrides(items):
    def make():
        return load_config(
            DSGANConfig, overrides=dict(parse_set_option(f"{k}={v}") for k, v in items)
        )

    _is_valid_or_user_error(make)


@FAST
@given(
    tree=st.dictionaries(
        st.sampled_from(["data", "model", "loss", "optim", "iterations", "seed", "x"]),
        values,
        max_size=4,
    ),
    text=st.text(max_size=60),
    use_text=st.booleans(),
)
def test_config_files(tree, text, use_text):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.yaml"
        path.write_text(text if use_text else yaml.safe_dump(tree), encoding="utf-8")
        _is_valid_or_user_error(lambda: load_config(DSGANConfig, path))


# ---------------------------------------------------------------- command line
@pytest.fixture(scope="module")
def places(tmp_path_factory) -> dict[str, str]:
    """Paths the fuzzer may pass: none holds a usable image, so every command ends quickly."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "empty").mkdir()
    (root / "broken").mkdir()
    (root / "broken" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    (root / "file.png").write_bytes(b"")
    (root / "cfg.yaml").write_text("iterations: [1, 2\n")
    return {k: str(root / k) for k in ("empty", "broken", "file.png", "cfg.yaml", "missing")}


FLAGS = [
    "--hr",
    "--lr",
    "--input",
    "--output",
    "--out",
    "--checkpoint",
    "--scale",
    "--crop",
    "--iterations",
    "--batch-size",
    "--set",
    "--config",
    "--on-error",
    "--noise",
    "--jpeg",
    "--blur",
    "--downscale",
    "--layout",
    "--tile",
    "--seed",
    "--device",
    "--resume",
    "--dry-run",
    "--overwrite",
    "--perceptual",
    "--gan",
    "--amp",
    "-v",
    "--bogus",
    "-h",
]
VALUES = [
    "0",
    "1",
    "-1",
    "2",
    "3",
    "1e9",
    "nan",
    "x",
    "",
    "skip",
    "stop",
    "cpu",
    "cuda:7",
    "bicubic",
    "lr",
    "tdsr",
    "none",
    "vgg",
    "ragan",
    "off",
    "data.scale=3",
    "a=b=c",
    "=",
    "model.output=[1]",
    "iterations=0",
]


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_cli_never_crashes(places, data):
    command = data.draw(
        st.sampled_from(["train", "degrade", "corrupt", "nope", "--version", "--help", ""])
    )
    tokens = st.one_of(
        st.sampled_from(FLAGS), st.sampled_from(VALUES), st.sampled_from(sorted(places.values()))
    )
    argv = [command, *data.draw(st.lists(tokens, max_size=8))] if command else []
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: --help/--version (0) or a usage error (2)
            assert exc.code in (0, 2), (argv, sink.getvalue())
            return
    assert isinstance(code, int) and code in (0, 1, 2), (argv, code, sink.getvalue())
    assert "Traceback" not in sink.getvalue()
