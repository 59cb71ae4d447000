"""Configuration of ``dsgan train`` (the degradation model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from dsgan.config.base import LoaderConfig, StrictModel


class DataConfig(LoaderConfig):
    """Where the images come from and how they are cut.

    ``lr`` unset: same-domain mode (the paper): the real sample is a native-resolution crop of the same
    HR image. ``lr`` set: unpaired mode, real samples come from that folder.
    """

    hr: Path | None = None
    lr: Path | None = None
    scale: int = Field(4, ge=2, le=16)
    crop: int = Field(48, ge=0, description="LR crop size in pixels; 0 = whole images")
    match_content: int = Field(
        0,
        ge=0,
        le=64,
        description="draw this many real crops per HR crop and keep the one of the closest"
        " structure (data/content.py), so D sees crops of alike content. Unpaired: crops of the"
        " LR photos (no SR gain measured, docs/RESULTS.md); same-domain: native-scale crops of"
        " random HR photos instead of one of the same HR crop, whose content is scale times"
        " coarser per pixel than G's input (needs crop > 0). 0 or 1 = the paper's crop. Each"
        " candidate may be another image: beyond data.cache_gb, that many decodes per sample",
    )

    @model_validator(mode="after")
    def _matching_needs_crops(self) -> DataConfig:
        if self.lr is None and self.match_content > 1 and self.crop == 0:
            raise ValueError(
                "data.match_content in same-domain mode draws crops of other photos: it needs"
                " --crop N (crop 0, whole images, keeps the paper's real sample)"
            )
        return self


class ModelConfig(StrictModel):
    """G and D sizes and G's variant (``models/dsgan.py``): ``output`` sigmoid (the paper) |
    residual | highpass; ``noise_channels``: N(0, 1) input channels (0 = the paper);
    ``block_period``: block-grid phase input for block-coded degradations such as JPEG (16), 0 = off
    (the paper); ``noise_injection``: white noise added with a learned per-pixel scale (False =
    the paper); ``codec``: ``jpeg`` codes G's output with a JPEG round trip whose quality is
    learned, starting from ``codec_quality`` (``models/codec.py``; none = the paper);
    ``codec_gate``: the codec also learns how much of it applies, so it can switch itself off;
    ``codec_gate_mode``: how training applies a learned gate g: ``blend`` (each output is
    ``x + g * (jpeg(x) - x)``) or ``sample`` (each output is coded with probability g, whole, and
    g follows the difference of G's adversarial loss between coded and uncoded outputs; measured
    in docs/RESULTS.md, "A sampled codec gate"); ``blur``: radius of a learned Gaussian blur of G's
    input (0 = off); ``signal_noise``: learned signal-dependent, channel-correlated noise before G's
    network (``models/stages.py``), starting at ``noise_start`` grey levels; ``network_noise``:
    the residual network also sees the noise channels (True); False leaves them to the physical
    stages, so the network shapes the sensor's noise but cannot make its own."""

    n_res_blocks: int = Field(8, ge=1)
    channels: int = Field(64, ge=8)
    output: Literal["sigmoid", "residual", "highpass"] = "sigmoid"
    noise_channels: int = Field(0, ge=0)
    block_period: int = Field(0, ge=0, le=64)
    noise_injection: bool = False
    codec: Literal["none", "jpeg"] = "none"
    codec_quality: float = Field(75.0, gt=1, lt=100)
    codec_gate: bool = False
    codec_gate_mode: Literal["blend", "sample"] = "blend"
    blur: int = Field(0, ge=0, le=9)
    signal_noise: bool = False
    noise_start: float = Field(1.0, gt=0, le=64)
    network_noise: bool = Field(
        True,
        description="the residual network takes the noise channels as input; false: only the"
        " physical stages (model.signal_noise, model.noise_injection) draw noise, which the network"
        " can shape but not make (measured: docs/RESULTS.md, 'The noise channels to the stages"
        " only')",
    )
    d_channels: int = Field(64, ge=8)

    @model_validator(mode="before")
    @classmethod
    def _no_gate_without_codec(cls, data: Any) -> Any:
        """``codec: none`` also turns the codec's gate off: there is nothing to gate (so
        ``--codec none`` works over the default preset, whose gate is on)."""
        if isinstance(data, dict) and data.get("codec") == "none" and data.get("codec_gate"):
            data = {**data, "codec_gate": False}
        return data

    @model_validator(mode="after")
    def _injection_needs_noise(self) -> ModelConfig:
        if self.noise_injection and (self.noise_channels < 3 or self.output == "sigmoid"):
            raise ValueError(
                "model.noise_injection needs model.noise_channels >= 3 and model.output "
                "residual or highpass"
            )
        if self.signal_noise and (self.noise_channels < 3 or self.output == "sigmoid"):
            raise ValueError(
                "model.signal_noise (on in the default preset, camera) needs "
                "model.noise_channels >= 3 and model.output residual or highpass; for the "
                "paper's networks use --preset paper, or set model.signal_noise false"
            )
        if not self.network_noise and not (self.signal_noise or self.noise_injection):
            raise ValueError(
                "model.network_noise false leaves the noise channels to the physical stages: it "
                "needs model.signal_noise or model.noise_injection"
            )
        if self.blur == 1:
            raise ValueError(
                "model.blur is the blur kernel's radius: 0 (no blur) or 2..9 (at radius 1 the "
                "width could not exceed 0.33 px)"
            )
        return self


class LossConfig(StrictModel):
    filter: Literal["box", "gaussian"] = "box"
    kernel_size: int = Field(5, ge=1)
    w_col: float = Field(1.0, ge=0)
    w_tex: float = Field(0.005, ge=0)
    w_per: float = Field(0.01, ge=0)
    perceptual: Literal["vgg", "lpips", "none"] = "vgg"
    perceptual_weights: Path | None = None
    gan: Literal["bce", "ragan", "wgan-gp"] = "bce"
    gp_weight: float = Field(10.0, ge=0)
    highpass: bool = True
    d_batch: Literal["separate", "joint"] = Field(
        "separate",
        description="D's forward on real and fake high-passes: two batches (the authors'; each"
        " BatchNorm normalises real and fake by their own statistics) or one joint batch",
    )
    w_id: float = Field(
        0.0,
        ge=0,
        description="identity prior: weight of L1 between the high-passes of the noise-averaged"
        " output (mean of G(x, n) and G(x, -n)) and of x, so what G changes deterministically"
        " (blur, sharpening, the codec's gate; its quality only with loss.id_quality) costs and"
        " noise does not; 0 = off (the paper)",
    )
    w_block: float = Field(
        0.0,
        ge=0,
        description="weight of a block-grid term in the learned JPEG quality's update (model.codec"
        " jpeg): the squared difference between the blockiness of G's coded batch and of the real"
        " batch is added to the adversarial loss whose finite-difference slope sets the quality,"
        " so the quality cannot drift where D does not see the blocks; 0 = off (measured on"
        " unpaired noise + JPEG: it slowed the quality's drift, SR gained nothing; docs/RESULTS.md)",
    )
    id_quality: bool = Field(
        False,
        description="the learned JPEG quality (model.codec jpeg) pays the identity prior too: its"
        " finite-difference slope is of w_tex * adversarial + w_id * identity prior (divided by"
        " w_tex), as the network's gradient is, instead of the adversarial loss alone, so the"
        " codec cannot smooth the output for free where the network would pay w_id for it;"
        " needs loss.w_id > 0 and loss.w_tex > 0; off = the adversarial loss alone",
    )
    color_mean: bool = Field(
        False,
        description="colour loss on the mean of G(x, n) and G(x, -n) (needs model.noise_channels):"
        " zero-mean noise then costs nothing, so the loss no longer shapes the noise spectrum",
    )

    @model_validator(mode="after")
    def _odd_kernel(self) -> LossConfig:
        if self.kernel_size % 2 == 0:
            raise ValueError("kernel_size must be odd")
        return self


class OptimConfig(StrictModel):
    lr: float = Field(2e-4, gt=0)
    beta1: float = Field(0.5, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    decay_start: float = Field(
        0.5, ge=0, le=1, description="fraction of iterations after which lr decays linearly to 0"
    )
    warmup_identity: int = Field(
        0, ge=0, description="initial iterations training G for the identity only (L1), no GAN"
    )
    codec_lr: float = Field(
        0.01,
        gt=0,
        description="Adam step size of the learned JPEG quality's logit (model.codec jpeg)",
    )
    codec_delta: float = Field(
        0.1,
        gt=0,
        le=1,
        description="finite-difference step of the quality logit (about 2 quality units at q 30)",
    )
    stage_lr: float = Field(
        0.01,
        gt=0,
        description="Adam step size of the physical stages' few parameters (model.blur, "
        "model.signal_noise, model.codec_gate), which move too slowly at the networks' lr",
    )
    clip_g: float = Field(
        0.0,
        ge=0,
        description="clip the gradient norm of G's network and of its stages, each, to this "
        "multiple of the median of its last optim.clip_window norms (a burst cannot freeze a "
        "stage through Adam's second moment); 0 = off",
    )
    clip_window: int = Field(200, ge=20, description="steps of gradient norms optim.clip_g keeps")
    gate_snap: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="fraction of iterations after which the learned codec gate "
        "(model.codec_gate) is made hard, fully on if it is at least 0.5 and off otherwise, and "
        "no longer trained, so the rest of the run adapts to a real codec (a codec snapped off is "
        "skipped, in training and inference); 0 = never (a blend)",
    )


class DSGANConfig(StrictModel):
    """Everything ``dsgan train`` needs; saved resolved into each run directory and checkpoint."""

    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    loss: LossConfig = LossConfig()
    optim: OptimConfig = OptimConfig()
    ema: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="decay of a moving average of G's weights (stages included) that is exported"
        " and degrades datasets; 0 = none, the last weights (default: not measured to help DSGAN"
        " yet, see docs/SPEED.md)",
    )
    iterations: int = Field(20000, ge=1)
    batch_size: int = Field(16, ge=1)
    seed: int = Field(0, ge=0, lt=2**63)  # torch.Generator seeds are 64-bit
    device: str = "auto"
    amp: Literal["off", "bf16", "fp16", "auto"] = "auto"
    channels_last: bool = True
    compile: bool = False
    out: Path = Path("runs/dsgan")
    log_every: int = Field(20, ge=1)
    image_every: int = Field(500, ge=1)
    checkpoint_every: int = Field(1000, ge=1)

    @model_validator(mode="after")
    def _crop_holds_the_filter(self) -> DSGANConfig:
        if 0 < self.data.crop < self.loss.kernel_size:
            raise ValueError(
                f"data.crop ({self.data.crop}) is smaller than loss.kernel_size "
                f"({self.loss.kernel_size}): the colour loss low-passes each LR crop with a valid "
                "kernel_size x kernel_size filter; raise data.crop or lower loss.kernel_size"
            )
        return self

    @model_validator(mode="after")
    def _id_quality_needs_its_terms(self) -> DSGANConfig:
        if self.loss.id_quality and (
            self.model.codec != "jpeg" or self.loss.w_id <= 0 or self.loss.w_tex <= 0
        ):
            raise ValueError(
                "loss.id_quality adds the identity prior to the learned JPEG quality's slope: it "
                "needs model.codec jpeg, loss.w_id > 0 and loss.w_tex > 0"
            )
        return self

    @model_validator(mode="after")
    def _color_mean_needs_noise(self) -> DSGANConfig:
        if self.loss.color_mean and self.model.noise_channels == 0:
            raise ValueError(
                "loss.color_mean needs model.noise_channels > 0 (a G with noise input)"
            )
        return self
