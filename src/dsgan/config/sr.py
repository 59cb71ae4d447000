"""Configuration of ``dsgan sr-train`` (the SR stage, ESRGAN-FS).

Defaults follow ESRGAN-FS (Fritsche et al., ICCVW 2019, the authors' released training options):
RRDBNet 64/23/32 x4, HR patches of 128, batch 16, Adam 1e-4 halved at 5k/10k/20k/30k steps,
loss 0.01 * L1(low-passes, box 9) + 1 * L1(VGG19 conv5_4) + 0.005 * RaGAN(high-passes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from dsgan.config.base import LoaderConfig, StrictModel
from dsgan.models.rrdb import RRDB_PRESETS


class SRDataConfig(LoaderConfig):
    """Training pairs: ``pairs`` (a folder with LR/ and HR/, as ``dsgan degrade --layout sdsr``
    writes) or ``lr`` and ``hr`` separately; files are matched by name (stem). ``val``: a held-out
    pair folder (LR/ and HR/) for PSNR/SSIM."""

    pairs: Path | None = None
    lr: Path | None = None
    hr: Path | None = None
    val: Path | None = None
    scale: Literal[1, 2, 4] = 4
    patch: int = Field(128, ge=4, description="HR patch size in pixels (a multiple of scale)")

    @model_validator(mode="after")
    def _check(self) -> SRDataConfig:
        if self.patch % self.scale:
            raise ValueError(f"patch ({self.patch}) must be a multiple of scale ({self.scale})")
        if self.pairs is not None and (self.lr is not None or self.hr is not None):
            raise ValueError("give either pairs or lr+hr, not both")
        return self

    def folders(self) -> tuple[Path, Path] | None:
        """(lr, hr) training folders, or None if not given."""
        if self.pairs is not None:
            return self.pairs / "LR", self.pairs / "HR"
        if self.lr is not None and self.hr is not None:
            return self.lr, self.hr
        return None


class SRModelConfig(StrictModel):
    """RRDBNet: ``preset`` gives nf/nb/gc (``esrgan`` 64/23/32, ``small`` 32/4/16); any of nf, nb,
    gc set explicitly overrides it. ``d_channels``: width of the VGG-style discriminator."""

    preset: Literal["esrgan", "small"] = "esrgan"
    nf: int | None = Field(None, ge=4)
    nb: int | None = Field(None, ge=1)
    gc: int | None = Field(None, ge=4)
    d_channels: int = Field(64, ge=4)

    def arch(self) -> dict[str, int]:
        """Resolved {nf, nb, gc}."""
        base = dict(RRDB_PRESETS[self.preset])
        for key in ("nf", "nb", "gc"):
            if getattr(self, key) is not None:
                base[key] = getattr(self, key)
        return base


class SRLossConfig(StrictModel):
    """``gan: false`` trains with pixel L1 only (PSNR-oriented, no D, no VGG: the fast path).
    ``fs: false`` gives plain ESRGAN losses (pixel L1 and RaGAN on full images)."""

    gan: bool = True
    fs: bool = True
    filter: Literal["box", "gaussian"] = "box"
    kernel_size: int = Field(9, ge=1)
    w_pix: float = Field(0.01, ge=0)
    w_feat: float = Field(1.0, ge=0)
    w_gan: float = Field(0.005, ge=0)
    perceptual: Literal["vgg", "none"] = "vgg"
    perceptual_weights: Path | None = None
    perceptual_layer: Literal["conv1_2", "conv2_2", "conv3_4", "conv4_4", "conv5_4"] = "conv5_4"

    @model_validator(mode="after")
    def _odd_kernel(self) -> SRLossConfig:
        if self.kernel_size % 2 == 0:
            raise ValueError("kernel_size must be odd")
        return self


class SROptimConfig(StrictModel):
    lr: float = Field(1e-4, gt=0)
    lr_d: float = Field(1e-4, gt=0)
    beta1: float = Field(0.9, ge=0, lt=1)
    beta2: float = Field(0.99, ge=0, lt=1)
    milestones: list[int] = Field(default_factory=lambda: [5000, 10000, 20000, 30000])
    gamma: float = Field(0.5, gt=0, le=1)
    pretrain_lr: float = Field(2e-4, gt=0, description="lr of the L1 pre-training phase")


class SRConfig(StrictModel):
    """Everything ``dsgan sr-train`` needs; saved resolved into each run directory and checkpoint.

    Steps ``0 .. pretrain_iterations-1`` pre-train G with L1 on full images (no GAN, constant
    ``optim.pretrain_lr``); the next ``iterations`` steps train with the configured losses, the lr
    halving at ``optim.milestones`` (counted from the start of this phase).
    """

    data: SRDataConfig = SRDataConfig()
    model: SRModelConfig = SRModelConfig()
    loss: SRLossConfig = SRLossConfig()
    optim: SROptimConfig = SROptimConfig()
    init: Path | None = Field(None, description="initial G weights (ours or BasicSR/ESRGAN .pth)")
    pretrain_iterations: int = Field(0, ge=0)
    ema: float = Field(
        0.999,
        ge=0,
        lt=1,
        description="decay of the moving average of G's weights that is validated and exported"
        " (BasicSR's 0.999; 0 = none, the last weights)",
    )
    iterations: int = Field(51000, ge=1)
    batch_size: int = Field(16, ge=1)
    seed: int = Field(0, ge=0, lt=2**63)  # torch.Generator seeds are 64-bit
    device: str = "auto"
    amp: Literal["off", "bf16", "fp16", "auto"] = "auto"
    channels_last: bool = True
    compile: bool = Field(False, description="torch.compile G's training forward (GPU)")
    out: Path = Path("runs/sr")
    log_every: int = Field(20, ge=1)
    image_every: int = Field(500, ge=1)
    checkpoint_every: int = Field(1000, ge=1)
    val_every: int = Field(5000, ge=1)
    val_metric: Literal["y", "rgb"] = "y"
    val_tile: int = Field(0, ge=0, description="tile size for validation inference (0 = whole)")

    @property
    def total_steps(self) -> int:
        return self.pretrain_iterations + self.iterations
