"""Networks: the DSGAN generator/discriminator and the SR stage's RRDBNet."""

from dsgan.models.authors import load_authors_checkpoint
from dsgan.models.dsgan import Discriminator, Generator, ResidualBlock

__all__ = ["Discriminator", "Generator", "ResidualBlock", "load_authors_checkpoint"]
