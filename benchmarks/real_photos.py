"""Gather the real-world track's photos: real photos shipped inside PyPI packages, nobody here
degraded them (camera processing and web JPEG as published), with a MANIFEST of source and licence.

    pip download --no-deps scikit-learn matplotlib -d wheels/    # or have them installed
    python benchmarks/real_photos.py --out runs/real-photos --wheels wheels/
    python benchmarks/quality.py --corruptions --real-world runs/real-photos --variants camera

Each photo is copied byte for byte (a JPEG stays the same JPEG file). A package that is neither
installed nor among ``--wheels`` is reported and skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import zipfile
from pathlib import Path

# (file name here, package, path inside the package, origin, licence) — licences as the packages
# document them (scikit-image: skimage.data docstrings; scikit-learn: datasets/images/README.txt;
# matplotlib: sample_data README / the image's public-domain origin).
PHOTOS = [
    ("astronaut.png", "skimage", "data/astronaut.png",
     "NASA Great Images (Eileen Collins)", "public domain"),
    ("coffee.png", "skimage", "data/coffee.png",
     "Rachel Michetti, courtesy of Pikolo Espresso Bar", "CC0"),
    ("chelsea.png", "skimage", "data/chelsea.png", "Stefan van der Walt", "CC0"),
    ("rocket.jpg", "skimage", "data/rocket.jpg",
     "SpaceX (DSCOVR launch on Falcon 9)", "public domain"),
    ("china.jpg", "sklearn", "datasets/images/china.jpg",
     "danielbuechele, flickr.com/photos/danielbuechele/6061409035", "CC BY 2.0"),
    ("flower.jpg", "sklearn", "datasets/images/flower.jpg",
     "vultilion, flickr.com/photos/vultilion/6056698931", "CC BY 2.0"),
    ("grace_hopper.jpg", "matplotlib", "mpl-data/sample_data/grace_hopper.jpg",
     "US Navy photograph of Grace Hopper", "public domain"),
]  # fmt: skip
WHEEL_NAMES = {"skimage": "scikit_image", "sklearn": "scikit_learn", "matplotlib": "matplotlib"}


def read_member(package: str, inner: str, wheels: Path | None) -> tuple[bytes, str] | None:
    """The file's bytes and where they came from: an installed package, else a wheel."""
    spec = importlib.util.find_spec(package)  # locates without importing
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / inner
        if path.is_file():
            return path.read_bytes(), f"installed {package}"
    for wheel in sorted(wheels.glob(f"{WHEEL_NAMES[package]}-*.whl")) if wheels else []:
        with zipfile.ZipFile(wheel) as z:
            name = f"{package}/{inner}"
            if name in z.namelist():
                return z.read(name), wheel.name
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="folder to write (created)")
    p.add_argument("--wheels", type=Path, help="folder of downloaded wheels to read from")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = ["file\tpackage\tfrom\torigin\tlicence"]
    for name, package, inner, origin, licence in PHOTOS:
        found = read_member(package, inner, args.wheels)
        if found is None:
            print(f"skipped {name}: {package} is not installed and no wheel of it in --wheels")
            continue
        data, where = found
        (args.out / name).write_bytes(data)
        rows.append(f"{name}\t{package}/{inner}\t{where}\t{origin}\t{licence}")
        print(f"{name}: {len(data)} bytes from {where}")
    (args.out / "MANIFEST.tsv").write_text("\n".join(rows) + "\n")
    print(f"{len(rows) - 1} photos in {args.out}")
    return 0 if len(rows) > 2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
