"""What runs an SR model in ``dsgan upscale``: PyTorch (the default) or ONNX Runtime.

Both are called the same way, ``model(x)``: (N, 3, h, w) float32 in [0, 1] -> (N, 3, h*s, w*s),
unclamped, with ``scale`` and ``unshuffle`` attributes as :class:`~dsgan.models.rrdb.RRDBNet`
has, so the tiling and batching of :mod:`dsgan.inference.upscale` serve both.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import torch

from dsgan.errors import UserError

BACKENDS = ("torch", "onnxruntime")


class OnnxSR:
    """An SR graph exported by ``dsgan export --format onnx``, run by ONNX Runtime.

    Args:
        path: the ``.onnx`` file (its metadata must say ``dsgan.kind`` sr).
        device: ``cuda`` uses ONNX Runtime's CUDA provider when it is installed; else the CPU.
    """

    def __init__(self, path: Path, device: torch.device) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise UserError(
                "--backend onnxruntime needs ONNX Runtime: pip install 'dsgan[export]' "
                "(or onnxruntime / onnxruntime-gpu)"
            ) from exc
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = torch.get_num_threads()
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise UserError(f"{path}: not a loadable ONNX model ({exc})") from exc
        meta = self.session.get_modelmeta().custom_metadata_map
        if meta.get("dsgan.kind") != "sr":
            raise UserError(
                f"{path}: not an SR model exported by `dsgan export` (metadata dsgan.kind "
                f"{meta.get('dsgan.kind')!r}); export one with `dsgan export RUN --format onnx`"
            )
        self.scale = int(meta["scale"])
        self.unshuffle = int(meta.get("unshuffle", "1"))
        self.input = self.session.get_inputs()[0].name
        self.path = path

    def to(self, device: torch.device) -> OnnxSR:  # the session chose its device
        return self

    def eval(self) -> OnnxSR:
        return self

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        arr = x.detach().float().cpu().contiguous().numpy()
        (out,) = self.session.run(None, {self.input: arr})
        return torch.from_numpy(out).to(x.device)


def load_sr_backend(checkpoint: str | Path, backend: str, device: torch.device) -> tuple[Any, int]:
    """(model, scale) for ``dsgan upscale``: ``torch``: any SR checkpoint
    (:func:`~dsgan.checkpoints.load.load_sr_model`); ``onnxruntime``: an exported ``.onnx``, or
    any SR checkpoint, exported to a temporary ONNX file first."""
    from dsgan.checkpoints.load import load_sr_model

    path = Path(checkpoint)
    if backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if path.suffix == ".onnx":
        if backend != "onnxruntime":
            raise UserError(f"{path} is an ONNX model: run it with --backend onnxruntime")
        if not path.is_file():
            raise UserError(f"{path}: checkpoint not found")
        model = OnnxSR(path, device)
        return model, model.scale
    net, info = load_sr_model(path)
    if backend == "torch":
        return net, info["scale"]
    from dsgan.export.graphs import sr_graph
    from dsgan.export.writers import write_onnx

    with tempfile.TemporaryDirectory(prefix="dsgan-onnx-") as tmp:
        onnx_path = Path(tmp) / "model.onnx"
        write_onnx(sr_graph(net, info["source"]), onnx_path)
        model = OnnxSR(onnx_path, device)  # the session holds the graph; the file can go
    return model, model.scale
