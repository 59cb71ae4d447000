"""Writers of ``dsgan export``'s formats, each atomic (a failed export leaves no file).

* ONNX (:func:`write_onnx`): PyTorch's TorchScript-based exporter, opset :data:`OPSET` by
  default, batch, height and width dynamic, the graph's description in ``metadata_props``;
* TorchScript (:func:`write_torchscript`): a traced module (height and width stay dynamic), loads
  with ``torch.jit.load`` alone, without ``dsgan`` installed; the description as the extra file
  ``dsgan.json``;
* ``.pth`` (:func:`write_pth`, SR models only): ``{"params_ema": state_dict}`` in BasicSR /
  Real-ESRGAN names, which BasicSR, Real-ESRGAN's scripts and ``spandrel`` (chaiNNer, ComfyUI)
  load as an ESRGAN RRDBNet.
"""

from __future__ import annotations

import io
import json
import logging
import warnings
from pathlib import Path

import torch

from dsgan.errors import UserError
from dsgan.export.graphs import ExportGraph
from dsgan.io.atomic import write_atomic

log = logging.getLogger(__name__)

#: ONNX opset of exported graphs (ONNX Runtime >= 1.12 runs it).
OPSET = 17
FORMATS = ("onnx", "torchscript", "pth")
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt", "pth": ".pth"}


def write_onnx(graph: ExportGraph, path: Path, opset: int = OPSET) -> None:
    """Export ``graph`` to ONNX at ``path``; batch, height and width are dynamic axes."""
    import onnx  # optional dependency: pip install "dsgan[export]"

    names = list(graph.inputs)
    dims = {0: "batch", 2: "height", 3: "width"}
    out_dims = {0: "batch", 2: "out_height", 3: "out_width"}
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # the TorchScript-based exporter: dynamic sizes without a shape-guard specification
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=UserWarning)
        torch.onnx.export(
            graph.module,
            tuple(graph.inputs.values()),
            buf,
            input_names=names,
            output_names=[graph.output],
            dynamic_axes={**{n: dims for n in names}, graph.output: out_dims},
            opset_version=opset,
            dynamo=False,
        )
    model = onnx.load_from_string(buf.getvalue())
    for key, value in {**graph.metadata, "opset": str(opset)}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    write_atomic(path, lambda fh: fh.write(data), "ONNX model")


def write_torchscript(graph: ExportGraph, path: Path) -> None:
    """Trace ``graph`` and save it for ``torch.jit.load``."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)  # PyTorch deprecates jit
        traced = torch.jit.trace(graph.module, tuple(graph.inputs.values()), check_trace=False)
    extra = {"dsgan.json": json.dumps(graph.metadata, indent=1)}

    def save(fh: io.BufferedWriter) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning)
            torch.jit.save(traced, fh, _extra_files=extra)

    write_atomic(path, save, "TorchScript module")


def write_pth(graph: ExportGraph, path: Path) -> None:
    """An SR model's weights as ``{"params_ema": state_dict}`` (BasicSR names)."""
    if graph.kind != "sr":
        raise UserError(
            "--format pth is for SR models (an ESRGAN state dict); a DSGAN generator exports as "
            "onnx or torchscript"
        )
    state = {k: v.detach().cpu().contiguous() for k, v in graph.module.state_dict().items()}
    gc = graph.metadata.get("arch.gc")
    if gc is not None and gc != "32":
        log.warning(
            "this model has %s growth channels; BasicSR loads it (num_grow_ch=%s), but spandrel "
            "(chaiNNer, ComfyUI) assumes ESRGAN's 32 and will refuse it",
            gc,
            gc,
        )
    write_atomic(path, lambda fh: torch.save({"params_ema": state}, fh), "weights file")


def write(graph: ExportGraph, fmt: str, path: Path, opset: int = OPSET) -> None:
    """Write ``graph`` in ``fmt`` (one of :data:`FORMATS`) to ``path``."""
    if fmt == "onnx":
        write_onnx(graph, path, opset)
    elif fmt == "torchscript":
        write_torchscript(graph, path)
    elif fmt == "pth":
        write_pth(graph, path)
    else:
        raise UserError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
