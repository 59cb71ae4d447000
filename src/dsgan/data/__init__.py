"""Training data: decoded-image pools, random crops and augmentation, reproducible step sampling."""

from dsgan.data.pool import ImagePool
from dsgan.data.sampling import StepSampler, augment, random_crop

__all__ = ["ImagePool", "StepSampler", "augment", "random_crop"]
