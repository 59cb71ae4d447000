"""Image-quality and distribution metrics between folders (or lists) of images.

One job per module:

- :mod:`~dsgan.metrics.inception` — the FID Inception-v3 (torch-fidelity) and its features;
- :mod:`~dsgan.metrics.fid` — FID and KID from features;
- :mod:`~dsgan.metrics.noise` — noise level (Immerkaer) and cross-channel residual correlation;
- :mod:`~dsgan.metrics.blocking` — blocking artefacts (steps on a block grid, as JPEG's);
- :mod:`~dsgan.metrics.spectrum` — radially averaged high-frequency power spectra;
- :mod:`~dsgan.metrics.two_sample` — classifier two-sample test on high-passed patches;
- :mod:`~dsgan.metrics.reference` — PSNR, SSIM, colour PSNR, LPIPS against ground truth;
- :mod:`~dsgan.metrics.evaluate` — folders/lists -> one result dict;
- :mod:`~dsgan.metrics.report` — text table and self-contained HTML report.

Images are float32 tensors (3, H, W) in [0, 1] throughout.
"""

from __future__ import annotations
