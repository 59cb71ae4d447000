"""Networks: the DSGAN generator/discriminator and the SR stage's RRDBNet."""

from dsgan.models.dsgan import Discriminator, Generator, ResidualBlock
from dsgan.models.rrdb import RRDB_PRESETS, RRDBNet
from dsgan.models.vgg_discriminator import VGGDiscriminator

__all__ = [
    "RRDB_PRESETS",
    "Discriminator",
    "Generator",
    "RRDBNet",
    "ResidualBlock",
    "VGGDiscriminator",
]
