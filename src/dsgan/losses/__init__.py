"""Losses: colour (low-pass L1), perceptual (VGG19 / LPIPS), adversarial (BCE, RaGAN, WGAN-GP)."""

from dsgan.losses.adversarial import AdversarialLoss
from dsgan.losses.color import ColorLoss
from dsgan.losses.perceptual import build_perceptual_loss

__all__ = ["AdversarialLoss", "ColorLoss", "build_perceptual_loss"]
