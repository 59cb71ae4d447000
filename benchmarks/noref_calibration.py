"""Check dsgan's NIQE and BRISQUE against reference implementations and published values.

References (none is a dsgan dependency; the command below names where each comes from):

- NIQE: BasicSR's port of the authors' MATLAB release (``basicsr/metrics/niqe.py``, reported by
  BasicSR to match MATLAB to 1e-4), run from an unpacked BasicSR source tree (``--basicsr-src``)
  on MATLAB ``rgb2gray`` input; and the MATLAB release's published outputs on five TID2013 images
  (IQA-PyTorch's ``ResultsCalibra``: row ``niqe``).
- BRISQUE: OpenCV's ``cv2.quality`` port of the authors' C++ release
  (``opencv-contrib-python-headless``) for the features, with the regressor dsgan ships; and the
  MATLAB release's published outputs on the same TID2013 images (row ``brisque``; that release
  has its own regressor, so only the ranking is comparable).

The images: scikit-image's bundled photos (a dsgan dependency, so the tests can use them) and,
with ``--tid DIR``, the five TID2013 images IQA-PyTorch ships in its wheel (``ResultsCalibra/
dist_dir``). Writes ``benchmarks/results/noref-calibration.{json,md}``::

    pip download --no-deps basicsr==1.4.2 pyiqa==0.1.16 && tar xzf basicsr-1.4.2.tar.gz \\
        && unzip -q pyiqa-0.1.16-py3-none-any.whl 'ResultsCalibra/*'
    pip install --target /tmp/cv opencv-contrib-python-headless
    PYTHONPATH=/tmp/cv python benchmarks/noref_calibration.py --basicsr-src basicsr-1.4.2 \\
        --tid ResultsCalibra/dist_dir
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import types
from pathlib import Path

import numpy as np

from benchlib import write_result
from dsgan.io.images import load_image
from dsgan.metrics import noref

SKIMAGE_PHOTOS = ("astronaut", "camera", "chelsea", "coffee", "rocket")
# Published outputs of the authors' MATLAB releases (IQA-PyTorch ResultsCalibra/
# calibration_summary.csv, rows "niqe" and "brisque").
MATLAB = {
    "I03": {"niqe": 15.7536, "brisque": 94.6421},
    "I04": {"niqe": 3.6549, "brisque": -0.1076},
    "I06": {"niqe": 3.2355, "brisque": 0.9929},
    "I08": {"niqe": 3.1840, "brisque": 5.3583},
    "I19": {"niqe": 8.6352, "brisque": 72.2617},
}


def skimage_photo(name: str) -> Path:
    """Path of one of scikit-image's bundled photos (no download)."""
    import skimage

    folder = Path(skimage.__file__).parent / "data"
    hits = sorted(folder.glob(name + ".*"))
    if not hits:
        raise FileNotFoundError(f"{name} is not bundled with scikit-image {skimage.__version__}")
    return hits[0]


def basicsr_niqe(src: Path):
    """BasicSR's ``niqe(img, mu, cov, window)`` loaded from its source files without importing the
    package (whose ``__init__`` needs an old torchvision)."""
    registry = types.ModuleType("basicsr.utils.registry")
    registry.METRIC_REGISTRY = types.SimpleNamespace(register=lambda: lambda f: f)
    util = types.ModuleType("basicsr.metrics.metric_util")
    util.reorder_image = util.to_y_channel = None
    for name in ("basicsr", "basicsr.utils", "basicsr.metrics"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["basicsr.utils.registry"] = registry
    sys.modules["basicsr.metrics.metric_util"] = util
    for mod, rel in (
        ("basicsr.utils.matlab_functions", "basicsr/utils/matlab_functions.py"),
        ("basicsr.metrics.niqe", "basicsr/metrics/niqe.py"),
    ):
        spec = importlib.util.spec_from_file_location(mod, src / rel)
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod] = module
        spec.loader.exec_module(module)
    params = np.load(src / "basicsr/metrics/niqe_pris_params.npz")
    fn = sys.modules["basicsr.metrics.niqe"].niqe
    return lambda gray: fn(
        gray, params["mu_pris_param"], params["cov_pris_param"], params["gaussian_window"]
    )


def opencv_brisque(path: Path) -> float:
    """OpenCV's port of the C++ release's features, scored with the regressor dsgan ships."""
    import cv2

    feats = np.asarray(cv2.quality.QualityBRISQUE_computeFeatures(cv2.imread(str(path))))
    m = noref._brisque_model()
    x = -1 + 2 * (feats.ravel() - m.feature_min) / (m.feature_max - m.feature_min)
    return float(m.dual_coef @ np.exp(-m.gamma * ((m.support_vectors - x) ** 2).sum(1)) - m.rho)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--basicsr-src", type=Path, help="unpacked BasicSR 1.4.2 source tree")
    p.add_argument("--tid", type=Path, help="folder with IQA-PyTorch's TID2013 I03..I19.bmp")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = p.parse_args(argv)

    ref_niqe = basicsr_niqe(args.basicsr_src) if args.basicsr_src else None
    images = [(n, skimage_photo(n)) for n in SKIMAGE_PHOTOS]
    if args.tid:
        images += [(n, args.tid / f"{n}.bmp") for n in MATLAB]
    rows = []
    for name, path in images:
        image = load_image(path)
        row = {
            "image": name,
            "size": list(image.shape[1:]),
            "niqe": noref.niqe(image),
            "brisque": noref.brisque(image),
            "niqe_basicsr": ref_niqe(noref.to_gray(image)) if ref_niqe else None,
            "brisque_opencv": opencv_brisque(path),
            "niqe_matlab": MATLAB.get(name, {}).get("niqe"),
            "brisque_matlab": MATLAB.get(name, {}).get("brisque"),
        }
        rows.append(row)
        print(row)

    lines = [
        "# NIQE / BRISQUE against reference implementations",
        "",
        "| image | size | NIQE (dsgan) | NIQE (BasicSR port) | NIQE (MATLAB, published) "
        "| BRISQUE (dsgan) | BRISQUE (OpenCV port, same regressor) | BRISQUE (MATLAB, published) |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def f(v: float | None) -> str:
        return "–" if v is None else f"{v:.4f}"

    for r in rows:
        lines.append(
            f"| {r['image']} | {r['size'][1]}x{r['size'][0]} | {f(r['niqe'])} | "
            f"{f(r['niqe_basicsr'])} | {f(r['niqe_matlab'])} | {f(r['brisque'])} | "
            f"{f(r['brisque_opencv'])} | {f(r['brisque_matlab'])} |"
        )
    write_result(
        args.out / "noref-calibration",
        {"rows": rows},
        "\n".join(lines) + "\n",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
