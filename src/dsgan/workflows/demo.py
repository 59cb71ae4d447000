"""The demo workflow (``dsgan demo``): the whole idea in a few CPU minutes, offline, on photos
that ship with a dependency.

It takes the colour photos bundled with scikit-image (public-domain / CC0, see the README), makes a
"real-world" domain by adding Gaussian sensor noise (sigma 8) at native resolution (the paper's
synthetic protocol), trains DSGAN in same-domain mode on the noisy training photos, degrades the
held-out *clean* photos with it, and writes ``OUT/comparison.png``: bicubic | DSGAN | real (the true
corruption of the same image), so one can see whether the learned degradation looks real.
"""

from __future__ import annotations

from pathlib import Path

import torch

from dsgan.errors import UserError

TRAIN = ("astronaut.png", "motorcycle_left.png", "motorcycle_right.png", "ihc.png")
HELD_OUT = ("chelsea.png", "coffee.png")
NOISE_SIGMA = 8.0
RECIPE = "noise"  # the shipped preset for Gaussian sensor noise (src/dsgan/presets/noise.yaml)


def bundled_photos() -> Path:
    """scikit-image's bundled sample-data folder (no download)."""
    try:
        import skimage
    except ImportError as exc:  # a dependency of dsgan; only missing in broken installs
        raise UserError("dsgan demo needs scikit-image (pip install scikit-image)") from exc
    folder = Path(skimage.__file__).parent / "data"
    missing = [n for n in TRAIN + HELD_OUT if not (folder / n).is_file()]
    if missing:
        raise UserError(f"{folder}: bundled photos missing ({', '.join(missing)})")
    return folder


def prepare(out: Path) -> tuple[Path, Path, Path]:
    """Write train (noisy), held-out clean HR and held-out real LR folders; returns them."""
    from dsgan.io.images import load_image, save_image
    from dsgan.ops.corrupt import apply_corruptions
    from dsgan.ops.resize import crop_to_multiple, imresize

    src = bundled_photos()
    train, clean, real = (
        out / "data/train_noisy",
        out / "data/heldout_hr",
        out / "data/heldout_real_lr",
    )
    for i, name in enumerate(TRAIN + HELD_OUT):
        img = crop_to_multiple(load_image(src / name), 4)
        g = torch.Generator().manual_seed(1000 + i)
        stem = Path(name).stem
        if name in TRAIN:
            save_image(apply_corruptions(img, NOISE_SIGMA, generator=g), train / f"{stem}.png")
        else:
            save_image(img, clean / f"{stem}.png")
            lr = imresize(img, 0.25).clamp(0, 1)
            save_image(apply_corruptions(lr, NOISE_SIGMA, generator=g), real / f"{stem}.png")
    return train, clean, real


def comparison(clean: Path, degraded: Path, real: Path, path: Path) -> None:
    """Rows per held-out photo: bicubic | DSGAN | real, each the same centre crop, x2 nearest."""
    import torch.nn.functional as F

    from dsgan.io.images import list_images, load_image, save_image
    from dsgan.ops.resize import imresize

    rows = []
    for hr_path in list_images(clean):
        panels = [
            imresize(load_image(hr_path), 0.25).clamp(0, 1),
            load_image(degraded / hr_path.name),
            load_image(real / hr_path.name),
        ]
        h, w = panels[0].shape[-2:]
        c = 64  # every held-out LR image is at least 64 pixels on each side
        y, x = (h - c) // 2, (w - c) // 2
        tiles = [
            F.pad(
                F.interpolate(t[None, :, y : y + c, x : x + c], scale_factor=3, mode="nearest")[0],
                (3, 3, 3, 3),
                value=1.0,
            )
            for t in panels
        ]
        rows.append(torch.cat(tiles, dim=2))
    save_image(torch.cat(rows, dim=1), path)


def run_demo(
    out: Path, iterations: int, batch_size: int, crop: int, device: str, seed: int
) -> tuple[Path, Path]:
    """Prepare the data, train (or resume, or reuse) the DSGAN run in ``out/run``, degrade the
    held-out photos with it and write ``out/comparison.png``; returns (run directory, picture)."""
    from dsgan.checkpoints.load import load_generator
    from dsgan.config.base import load_config
    from dsgan.config.dsgan import DSGANConfig
    from dsgan.config.presets import load_preset
    from dsgan.devices import resolve_device
    from dsgan.inference.degrade import DegradeOptions, degrade_folder
    from dsgan.training.dsgan_trainer import DSGANTrainer
    from dsgan.workflows.runs import train_or_resume

    train, clean, real = prepare(out)
    run_dir = out / "run"
    cfg = load_config(
        DSGANConfig,
        overrides={
            "data.hr": str(train),
            "data.scale": 4,
            "data.crop": crop,
            "loss.perceptual": "none",
            "iterations": iterations,
            "batch_size": batch_size,
            "device": device,
            "seed": seed,
            "out": str(run_dir),
            "log_every": 10,
            "image_every": max(50, iterations // 3),
            "checkpoint_every": max(50, iterations // 3),
        },
        base=load_preset(RECIPE),
    )
    generator_path = train_or_resume(
        "demo",
        run_dir,
        lambda resume: DSGANTrainer(cfg, resume=resume).train(),
        iterations=iterations,  # a rerun with more --iterations trains on
        quiet=True,
    )
    g, _ = load_generator(generator_path)
    degraded = out / "heldout_dsgan_lr"
    degrade_folder(
        g,
        clean,
        degraded,
        DegradeOptions(scale=4, layout="lr", workers=0, overwrite=True),
        resolve_device(device),
    )
    picture = out / "comparison.png"
    comparison(clean, degraded, real, picture)
    return run_dir, picture
