"""Would another CPU runtime reach the 1.5x of issue 20 at identical output? One tile of the
ESRGAN RRDBNet (64/23/32, x4, random weights), exported with ``torch.onnx``, timed in interleaved
rounds through eager PyTorch, ONNX Runtime and OpenVINO (static and dynamic input shape), each
with ``--threads`` threads; prints each one's speed against PyTorch and largest difference.

OpenVINO is not a dependency of dsgan: ``pip install openvino`` first.

    python benchmarks/runtime_probe.py --tile 68 --rounds 4 --threads 1
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from dsgan.models.rrdb import RRDBNet


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tile", type=int, default=68, help="input tile with its padding, pixels")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    try:
        import openvino as ov
    except ImportError:
        raise SystemExit("runtime_probe.py needs OpenVINO: pip install openvino") from None
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    model = RRDBNet().eval()
    x = torch.rand(1, 3, args.tile, args.tile)
    xn = x.numpy()
    path = Path(tempfile.mkdtemp()) / "rrdb.onnx"
    dyn = {"lr": {0: "b", 2: "h", 3: "w"}}
    torch.onnx.export(
        model, (x,), path, input_names=["lr"], output_names=["sr"], dynamic_axes=dyn,
        opset_version=17, dynamo=False,
    )  # fmt: skip
    core = ov.Core()
    cfg = {"INFERENCE_NUM_THREADS": args.threads, "INFERENCE_PRECISION_HINT": "f32"}
    static = core.read_model(path)
    static.reshape({"lr": list(x.shape)})
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = args.threads, 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    ov_static = core.compile_model(static, "CPU", cfg)
    ov_dynamic = core.compile_model(path, "CPU", cfg)
    run = {
        "pytorch": lambda: model(x).numpy(),
        "onnxruntime": lambda: sess.run(None, {"lr": xn})[0],
        "openvino static": lambda: ov_static(xn)[0],
        "openvino dynamic": lambda: ov_dynamic(xn)[0],
    }
    with torch.inference_mode():
        ref = run["pytorch"]()
        diff = {k: float(np.abs(f() - ref).max()) for k, f in run.items()}
        times: dict[str, list[float]] = {k: [] for k in run}
        for _ in range(args.rounds):
            for k, f in run.items():
                t = time.perf_counter()
                f()
                times[k].append(time.perf_counter() - t)
    base = float(np.median(times["pytorch"]))
    print(f"openvino {ov.__version__}, onnxruntime {ort.__version__}, torch {torch.__version__}")
    for k in run:
        print(f"{k:18s} {base / float(np.median(times[k])):.2f}x  max diff {diff[k]:.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
