"""Bad input for ``dsgan train``, ``degrade`` and ``corrupt``: every case is a clear error (exit 2,
naming the file) or, with ``--on-error skip``, a warning and a summary; never a traceback, never a
half-written output, and the input folder is never modified."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dsgan.errors import UserError


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every entry under ``folder``: content hash (files) and mode."""
    out = {}
    for p in sorted(folder.rglob("*")):
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        out[str(p.relative_to(folder))] = (digest, p.stat().st_mode)
    return out


def files_under(folder: Path) -> list[str]:
    return (
        sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        if folder.exists()
        else []
    )


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` RGB pixels but holds almost nothing."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 8))
        + chunk(b"IEND", b"")
    )


def _good_bytes(fmt: str, size: int = 32) -> bytes:
    rng = np.random.default_rng(5)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


def _unreadable(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulate a file without read permission (chmod 000 does not stop root)."""
    path.write_bytes(_good_bytes("PNG"))
    real_open = Image.open

    def fake_open(fp, *a, **kw):
        if Path(str(fp)) == path:
            raise PermissionError(errno.EACCES, "Permission denied", str(fp))
        return real_open(fp, *a, **kw)

    monkeypatch.setattr(Image, "open", fake_open)


# name -> (file name, writer); every bad file sorts before the good img_*.png ones
BAD: dict[str, tuple[str, Callable[[Path, pytest.MonkeyPatch], object]]] = {
    "zero-byte": ("a.png", lambda p, m: p.write_bytes(b"")),
    "truncated-png": ("a.png", lambda p, m: p.write_bytes(_good_bytes("PNG")[:300])),
    "truncated-jpeg": ("a.jpg", lambda p, m: p.write_bytes(_good_bytes("JPEG")[:200])),
    "not-an-image": ("a.png", lambda p, m: p.write_text("this is not an image\n")),
    "random-bytes": ("a.webp", lambda p, m: p.write_bytes(os.urandom(2000))),
    "bomb": ("a.png", lambda p, m: p.write_bytes(_png_header(40_000, 40_000))),
    "bomb-warning-size": ("a.png", lambda p, m: p.write_bytes(_png_header(10_000, 10_000))),
    "too-small": ("a.png", lambda p, m: Image.new("RGB", (1, 1)).save(p)),
    "unreadable": ("a.png", _unreadable),
}
REASON = {
    "zero-byte": "empty",
    "truncated-png": "a.png",
    "truncated-jpeg": "a.jpg",
    "not-an-image": "not a readable image",
    "random-bytes": "a.webp",
    "bomb": "decompression bomb",
    "bomb-warning-size": "decompression bomb",
    "too-small": "small",
    "unreadable": "permission denied",
}


def command(name: str, src: Path, dst: Path, policy: str) -> list[str]:
    if name == "train":
        return [
            "train",
            "--hr",
            str(src),
            "--out",
            str(dst),
            "--crop",
            "8",
            "--scale",
            "2",
            "--batch-size",
            "2",
            "--perceptual",
            "none",
            "--iterations",
            "1",
            "--device",
            "cpu",
            "--amp",
            "off",
            "--set",
            "model.n_res_blocks=1",
            "--set",
            "model.channels=8",
            "--set",
            "model.d_channels=8",
            "--on-error",
            policy,
        ]
    if name == "degrade":
        return [
            "degrade",
            "--checkpoint",
            "bicubic",
            "--scale",
            "2",
            "--input",
            str(src),
            "--output",
            str(dst),
            "--layout",
            "sdsr",
            "--workers",
            "0",
            "--on-error",
            policy,
        ]
    return [
        "corrupt",
        "--input",
        str(src),
        "--output",
        str(dst),
        "--noise",
        "5",
        "--downscale",
        "2",
        "--on-error",
        policy,
    ]


COMMANDS = ("train", "degrade", "corrupt")


@pytest.mark.parametrize("cmd", COMMANDS)
@pytest.mark.parametrize("kind", list(BAD))
def test_bad_file_skip_and_stop(tmp_path, make_images, monkeypatch, cmd, kind, run_cli):
    src = tmp_path / "in"
    make_images(src, 2, 24)
    name, write = BAD[kind]
    bad = src / name
    write(bad, monkeypatch)
    before = snapshot(src)

    # stop: exit 2, an error naming the file, nothing written for it
    code, _, err = run_cli(command(cmd, src, tmp_path / "stop", "stop"))
    assert code == 2, err
    assert "error:" in err and str(bad) in err and REASON[kind] in err, err
    assert not any("a." in f for f in files_under(tmp_path / "stop"))

    # skip: a warning naming the file, a summary, the good images processed
    code, out, err = run_cli(command(cmd, src, tmp_path / "skip", "skip"))
    assert "skipping" in err and str(bad) in err, err
    written = files_under(tmp_path / "skip")
    if cmd == "train":
        assert code == 0
        assert "1 of 3 images skipped" in err
        assert "generator.safetensors" in written
    else:
        assert code == 1  # partial result
        assert "2 written" in out and ("1 failed" in out or "1 skipped" in out), out
        stems = {Path(f).stem for f in written}
        assert stems == {"img_000", "img_001"}
    assert not any(Path(f).name.startswith(".") for f in written)  # no temporary files
    assert snapshot(src) == before


@pytest.mark.parametrize("cmd", COMMANDS)
def test_empty_folder(tmp_path, cmd, run_cli):
    (tmp_path / "in").mkdir()
    code, _, err = run_cli(command(cmd, tmp_path / "in", tmp_path / "out", "skip"))
    assert code == 2
    assert f"{tmp_path / 'in'}: no images found" in err


@pytest.mark.parametrize("cmd", COMMANDS)
def test_non_image_files_only(tmp_path, cmd, run_cli):
    src = tmp_path / "in"
    src.mkdir()
    (src / "notes.txt").write_text("hello")
    (src / "data.csv").write_text("1,2\n")
    (src / "sub.png").mkdir()  # a folder with an image extension is not an image
    before = snapshot(src)
    code, _, err = run_cli(command(cmd, src, tmp_path / "out", "skip"))
    assert code == 2
    assert "no images found" in err
    assert snapshot(src) == before


@pytest.mark.parametrize("cmd", COMMANDS)
def test_only_bad_files_is_an_error_even_when_skipping(tmp_path, cmd, run_cli):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.png").write_bytes(b"")
    (src / "b.jpg").write_text("not a jpeg")
    code, out, err = run_cli(command(cmd, src, tmp_path / "out", "skip"))
    if cmd == "train":
        assert code == 2 and "no usable images (2 skipped" in err
    else:
        assert code == 1 and "0 written" in out
    assert not files_under(tmp_path / "out") or cmd == "train"


def _odd_formats(folder: Path) -> None:
    """One file per format, each with its own stem (outputs are named by stem)."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8))
    rgb.convert("L").save(folder / "grey.png")
    rgb.convert("LA").save(folder / "grey_alpha.png")
    rgb.convert("RGBA").save(folder / "rgba.png")
    rgb.convert("CMYK").save(folder / "cmyk.jpg")
    rgb.convert("CMYK").save(folder / "cmyk_tiff.tif")
    rgb.convert("1").save(folder / "bilevel.png")
    pal = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.save(folder / "palette.png")
    pal.save(folder / "palette_transparent.png", transparency=0)
    Image.fromarray(rng.integers(0, 65535, (24, 24), dtype=np.uint16)).save(folder / "grey16.png")
    Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(folder / "rgb_bmp.bmp")
    rgb.save(folder / "rgb.webp")


@pytest.mark.parametrize("cmd", COMMANDS)
def test_grey_rgba_cmyk_16bit_palette_images_work(tmp_path, cmd, run_cli):
    src = tmp_path / "in"
    _odd_formats(src)
    before = snapshot(src)
    code, _, err = run_cli(command(cmd, src, tmp_path / "out", "stop"))
    assert code == 0, err
    assert "skipping" not in err
    if cmd != "train":
        stems = {Path(f).stem for f in files_under(tmp_path / "out")}
        assert stems == {p.stem for p in src.iterdir()}
    assert snapshot(src) == before


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="running as root: chmod 000 does not stop root from reading "
    "(covered by the simulated 'unreadable' case)",
)
def test_unreadable_file_chmod(tmp_path, make_images, run_cli):
    src = tmp_path / "in"
    make_images(src, 2, 24)
    bad = src / "a.png"
    bad.write_bytes(_good_bytes("PNG"))
    bad.chmod(0)
    try:
        code, _, err = run_cli(command("corrupt", src, tmp_path / "out", "stop"))
    finally:
        bad.chmod(0o644)
    assert code == 2 and "permission denied" in err and str(bad) in err


@pytest.mark.parametrize("cmd", COMMANDS)
@pytest.mark.parametrize("where", ["inside", "same"])
def test_output_inside_input_is_refused(tmp_path, make_images, cmd, where, run_cli):
    src = tmp_path / "in"
    make_images(src, 2, 24)
    before = snapshot(src)
    dst = src / "out" if where == "inside" else src
    code, _, err = run_cli(command(cmd, src, dst, "skip"))
    assert code == 2
    assert "is inside" in err and "outside it" in err
    assert snapshot(src) == before  # not even an empty folder created


@pytest.mark.parametrize("flag", ["--hr", "--lr"])
def test_sr_train_run_dir_inside_an_input_is_refused(tmp_path, make_images, flag, run_cli):
    make_images(tmp_path / "lr", 2, 12)
    make_images(tmp_path / "hr", 2, 24)
    before = snapshot(tmp_path)
    folder = tmp_path / flag.lstrip("-")
    argv = ["sr-train", "--lr", str(tmp_path / "lr"), "--hr", str(tmp_path / "hr")]
    argv += ["--scale", "2", "--device", "cpu", "--out", str(folder / "run")]
    code, _, err = run_cli(argv)
    assert code == 2
    assert f"inside the {flag} folder" in err and "outside it" in err
    assert snapshot(tmp_path) == before  # no run directory created


def _disk_full_after(n_bytes: int) -> Callable:
    """A replacement for Image.Image.save that writes ``n_bytes`` then fails like a full disk."""

    def save(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG partial"[:n_bytes])
        raise OSError(errno.ENOSPC, "No space left on device")

    return save


@pytest.mark.parametrize("cmd", ["degrade", "corrupt"])
def test_disk_full_while_writing(tmp_path, make_images, monkeypatch, cmd, run_cli):
    src = tmp_path / "in"
    make_images(src, 2, 24)
    before = snapshot(src)
    monkeypatch.setattr(Image.Image, "save", _disk_full_after(6))
    dst = tmp_path / "out"
    code, _, err = run_cli(command(cmd, src, dst, "skip"))
    assert code == 2, err
    assert "disk full" in err and str(dst) in err and "img_00" in err
    assert files_under(dst) == []  # neither partial images nor temporary files
    assert snapshot(src) == before


def test_disk_full_while_training(tmp_path, make_images, monkeypatch, run_cli):
    """Sample grids (save_image) and checkpoints (torch.save) failing with ENOSPC: exit 2."""
    src = tmp_path / "hr"
    make_images(src, 2, 24)
    monkeypatch.setattr(Image.Image, "save", _disk_full_after(3))
    code, _, err = run_cli(command("train", src, tmp_path / "run", "skip"))
    assert code == 2 and "disk full" in err and "images" in err, err
    monkeypatch.undo()

    def full_save(obj, f, *a, **kw):
        f.write(b"PK\x03")  # a file object (write_atomic's temporary file)
        raise OSError(errno.ENOSPC, "No space left on device", f.name)

    monkeypatch.setattr(torch, "save", full_save)
    code, _, err = run_cli(command("train", src, tmp_path / "run2", "skip"))
    assert code == 2 and "disk full" in err and "state.pt" in err, err
    ckpts = tmp_path / "run2" / "checkpoints"
    assert not any(p.name.endswith(".tmp") for p in ckpts.iterdir())
    assert not (ckpts / "latest.json").exists()


def test_disk_full_inside_torch_save_is_a_clear_error(tmp_path, monkeypatch):
    """A full disk under torch.save surfaces as torch's RuntimeError wrapping the OSError; it is
    still exit-2 material naming the checkpoint, and leaves no temporary file."""
    import dsgan.io.atomic as atomic

    real_fdopen = os.fdopen

    class Full:
        def __init__(self, fh):
            self.fh, self.n = fh, 0

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, b):
            self.n += len(b)
            if self.n > 100:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.fh.write(b)

    monkeypatch.setattr(atomic.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    target = tmp_path / "ck" / "step_1.state.pt"
    with pytest.raises(UserError, match=r"step_1\.state\.pt: cannot write the checkpoint: disk"):
        atomic.write_atomic(
            target, lambda fh: torch.save({"w": torch.zeros(1000)}, fh), "checkpoint"
        )
    assert list(target.parent.iterdir()) == []


def test_no_traceback_in_a_real_process(tmp_path, make_images):
    """The whole CLI in a subprocess: a user error prints one line, no traceback."""
    src = tmp_path / "in"
    make_images(src, 1, 24)
    (src / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    proc = subprocess.run(
        [sys.executable, "-m", "dsgan", *command("corrupt", src, tmp_path / "out", "stop")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "dsgan corrupt: error:" in proc.stderr and str(src / "a.png") in proc.stderr
