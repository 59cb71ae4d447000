"""Applying trained models to folders: ``degrade`` (DSGAN) and ``upscale`` (SR)."""
