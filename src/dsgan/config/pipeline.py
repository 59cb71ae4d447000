"""Configuration of ``dsgan pipeline``: unpaired folders -> DSGAN -> LR/HR pairs -> SR model.

``dsgan`` and ``sr`` are complete ``dsgan train`` / ``dsgan sr-train`` configs (strict keys); the
pipeline sets their ``out`` (stage folders under ``out``), ``device`` and the SR training pairs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from dsgan.config.base import StrictModel
from dsgan.config.dsgan import DSGANConfig
from dsgan.config.presets import DEFAULT_PRESET, DESCRIPTIONS, preset_names
from dsgan.config.sr import SRConfig


class DegradeStage(StrictModel):
    """Stage 2: degrade HR images with the trained DSGAN generator into LR/HR pairs."""

    input: Path | None = Field(None, description="HR images to degrade (default: dsgan.data.hr)")
    layout: Literal["sdsr", "tdsr"] = "sdsr"
    tile: int = Field(0, ge=0)
    cleanup: int = Field(2, ge=1)
    seed: int = Field(0, ge=0, lt=2**63)  # torch.Generator seeds are 64-bit
    workers: int = Field(2, ge=0)


class UpscaleStage(StrictModel):
    """Stage 4 (optional): super-resolve a test folder with the trained SR model."""

    input: Path | None = None
    tile: int = Field(0, ge=0)
    overlap: int = Field(32, ge=0)
    batch_size: int = Field(1, ge=1)


class PipelineConfig(StrictModel):
    out: Path = Path("runs/pipeline")
    device: str = "auto"
    preset: str = Field(
        DEFAULT_PRESET,
        description="DSGAN recipe the dsgan section starts from (dsgan train --preset)",
    )
    dsgan: DSGANConfig = DSGANConfig()
    degrade: DegradeStage = DegradeStage()
    sr: SRConfig = SRConfig()
    upscale: UpscaleStage = UpscaleStage()

    @model_validator(mode="after")
    def _check(self) -> PipelineConfig:
        if self.preset not in DESCRIPTIONS:
            raise ValueError(f"unknown preset {self.preset!r}; choose one of {preset_names()}")
        if self.dsgan.data.hr is None:
            raise ValueError("dsgan.data.hr (the HR/clean image folder) is required")
        if self.sr.data.scale != self.dsgan.data.scale:
            raise ValueError(
                f"sr.data.scale ({self.sr.data.scale}) must equal dsgan.data.scale "
                f"({self.dsgan.data.scale}): the SR model inverts the learned degradation"
            )
        return self
