"""``dsgan export``: a trained model as ONNX, TorchScript or an ESRGAN ``.pth`` (``dsgan.export``)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from dsgan.errors import UserError

NAME = "export"
HELP = (
    "export a DSGAN generator or an SR model as ONNX, TorchScript, or (SR) an ESRGAN .pth that "
    "BasicSR, Real-ESRGAN and spandrel (chaiNNer, ComfyUI) load"
)
log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from dsgan.export.writers import FORMATS, OPSET

    p.add_argument(
        "checkpoint",
        help="`dsgan train` or `dsgan sr-train` run dir, generator .safetensors, the authors' "
        "DSGAN .pth, or a BasicSR/ESRGAN .pth",
    )
    p.add_argument("--format", choices=FORMATS, required=True)
    p.add_argument(
        "--output",
        type=Path,
        help="file to write (default: beside the checkpoint, model.onnx / model.pt / model.pth)",
    )
    p.add_argument("--opset", type=int, default=OPSET, help=f"ONNX opset (default {OPSET})")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")


def run(args: argparse.Namespace) -> int:
    from dsgan.checkpoints.load import load_any_model, resolve_source
    from dsgan.export.graphs import dsgan_graph, sr_graph
    from dsgan.export.writers import SUFFIX, write
    from dsgan.io.outputs import check_output_file

    source = resolve_source(args.checkpoint)
    out = args.output
    if out is None:
        folder = Path(args.checkpoint) if Path(args.checkpoint).is_dir() else source.parent
        out = folder / f"model{SUFFIX[args.format]}"
    out = Path(out)
    check_output_file(out, "--output")
    if out.exists() and not args.overwrite:
        raise UserError(f"--output {out} exists; pass --overwrite to replace it")
    if out.resolve() == source.resolve():
        raise UserError(f"--output {out} is the checkpoint itself; choose another file")
    if args.format == "onnx":
        try:
            import onnx  # noqa: F401
        except ImportError as exc:
            raise UserError(
                "--format onnx needs the onnx package: pip install 'dsgan[export]' (or onnx)"
            ) from exc
    kind, net, info = load_any_model(source)
    graph = (
        sr_graph(net, str(source))  # type: ignore[arg-type]
        if kind == "sr"
        else dsgan_graph(net, str(source), info.get("scale"))  # type: ignore[arg-type]
    )
    write(graph, args.format, out, args.opset)
    what = "SR model" if kind == "sr" else "DSGAN generator"
    print(f"{what} -> {out} ({args.format})")
    if kind == "dsgan" and "codec_quality" in graph.metadata:
        print(
            "note: the learned JPEG stage (quality "
            f"{graph.metadata['codec_quality']}, gate {graph.metadata['codec_gate']}) is not in "
            "the exported graph; its values are in the file's metadata (docs/EXPORT.md)"
        )
    return 0
