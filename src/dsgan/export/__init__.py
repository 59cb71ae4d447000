"""Trained models as files other tools load (``dsgan export``).

* :mod:`dsgan.export.graphs`: what is exported of each model (the module, its inputs, its
  description);
* :mod:`dsgan.export.writers`: ONNX, TorchScript and ESRGAN-layout ``.pth`` files, written
  atomically.
"""
