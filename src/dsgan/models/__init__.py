"""Networks: the DSGAN generator/discriminator and the SR stage's RRDBNet."""

from dsgan.models.dsgan import Discriminator, Generator, ResidualBlock

__all__ = ["Discriminator", "Generator", "ResidualBlock"]
