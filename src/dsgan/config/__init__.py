"""Typed, frozen configs with strict keys, loaded from YAML and overridden from the command line."""

from dsgan.config.base import StrictModel, dump_config, load_config, set_by_path
from dsgan.config.dsgan import (
    DataConfig,
    DSGANConfig,
    LossConfig,
    ModelConfig,
    OptimConfig,
)
from dsgan.config.sr import SRConfig

__all__ = [
    "DSGANConfig",
    "DataConfig",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "SRConfig",
    "StrictModel",
    "dump_config",
    "load_config",
    "set_by_path",
]
