"""Pure tensor operations: resizing, frequency separation, corruptions, tiled inference."""
