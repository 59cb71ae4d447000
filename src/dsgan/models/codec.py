"""A JPEG encode-decode stage with a learned quality, for G's output (``model.codec: jpeg``).

A convolutional G cannot make JPEG's artefacts: they are quantised 8x8 block transforms on a grid
fixed to the image's top-left pixel, not a local function of the content (measured: no DSGAN variant
produced a block grid, and SR trained on their pairs did not beat bicubic pairs on JPEG q30; README,
"JPEG q30"). This stage gives G the codec itself and learns only its quality from the adversarial
loss. The round trip is kornia's differentiable JPEG (Reich et al., "Differentiable JPEG: the devil
is in the details", WACV 2024: standard tables, 4:2:0 chroma, polynomial soft rounding; 40.7 dB from
Pillow's JPEG at q30 on real LR), so G's network gets gradients through it. The quality does not:
its pathwise gradient through rounding and the floored table scale points the wrong way (fitting q
to a q30 JPEG by MSE, Adam ends at 99.3-99.7 from every start: ``benchmarks/codec_slope.py``). The
trainer therefore estimates the adversarial loss's slope in q by a central finite difference on the
same batch (:func:`dsgan.training.codec_step.quality_slope`) and steps ``quality_logit`` with its
own Adam.

Only for real LR that is JPEG-compressed: on sensor noise without JPEG the codec removes G's noise,
D wins from the start and training fails (README, "JPEG q30").
"""

from __future__ import annotations

import math
import warnings

import torch
from kornia.enhance import jpeg_codec_differentiable
from torch import nn
from torch.nn import functional as F

#: JPEG's 8x8 luma blocks sit in 16x16 macroblocks (4:2:0 chroma): the grid repeats every 16 px.
MACROBLOCK = 16


class JPEGCodec(nn.Module):
    """Differentiable JPEG round trip; the quality q in (1, 100) is learned, and optionally how much
    of it applies (a gate).

    q = 1 + 99 * sigmoid(``quality_logit``): always a valid quality. ``quality_logit`` is a
    parameter (saved with G, synchronised by DDP at start) without autograd gradient: the trainer
    sets its ``.grad`` from a finite difference (module docstring).

    With ``gate``, g = sigmoid(``gate_logit``) in (0, 1) says how much of the codec applies: the
    codec can switch itself off, including its 4:2:0 chroma subsampling, on real LR without JPEG,
    where a codec that is always on removes G's noise and D wins (README, "JPEG q30"), and on
    again where the real LR is JPEG-compressed. ``gate_mode`` ``blend``: the output is
    ``x + g * (jpeg(x) - x)``, learned by autograd (smooth in g). ``sample``: in training each
    output is either coded or not, coded with probability g (the trainer draws it and sets g's
    gradient, ``dsgan.training.codec_step.gate_delta``), so no output is a blend, whose uncoded
    part leaks G's noise through the codec; here (inference) the codec applies where g >= 0.5.

    Args:
        quality: the initial quality (1 < quality < 100).
        gate: learn the on/off gate (False: always fully on, as before the gate existed).
        gate_init: the gate's initial value in (0, 1).
        gate_mode: ``blend`` or ``sample`` (above).
    """

    def __init__(
        self,
        quality: float = 75.0,
        gate: bool = False,
        gate_init: float = 0.5,
        gate_mode: str = "blend",
    ) -> None:
        super().__init__()
        if gate_mode not in ("blend", "sample"):
            raise ValueError(f"gate_mode must be blend or sample, got {gate_mode!r}")
        self.gate_mode = gate_mode
        if not 1.0 < quality < 100.0:
            raise ValueError(f"initial JPEG quality must lie in (1, 100), got {quality}")
        if not 0.0 < gate_init < 1.0:
            raise ValueError(f"initial codec gate must lie in (0, 1), got {gate_init}")
        p = (quality - 1.0) / 99.0
        logit = torch.tensor(math.log(p / (1.0 - p)))
        self.quality_logit = nn.Parameter(logit, requires_grad=False)
        self.gate_logit = (
            nn.Parameter(torch.tensor(math.log(gate_init / (1.0 - gate_init)))) if gate else None
        )

    #: a snapped gate's logit: sigmoid(30) is 1.0 in float32, sigmoid(-30) about 1e-13
    SNAPPED_LOGIT = 30.0

    @torch.no_grad()
    def snap_gate(self) -> None:
        """Make the learned gate hard: fully on where it is at least 0.5, else off. A physical
        codec is applied or not; a blend passes part of G's uncoded noise through (on an
        unpaired camera mixture a gate of 0.64 left twice the real LR's noise, docs/RESULTS.md).
        Idempotent, no host sync; a no-op without a learned gate."""
        if self.gate_logit is not None:
            hard = torch.where(self.gate_logit >= 0, self.SNAPPED_LOGIT, -self.SNAPPED_LOGIT)
            self.gate_logit.copy_(hard)

    def is_off(self) -> bool:
        """True where the gate was snapped off (:meth:`snap_gate`): the output then equals the
        input to about 1e-13, so a caller may skip the round trip. One host sync."""
        return self.gate_logit is not None and bool(self.gate_logit.detach() <= -self.SNAPPED_LOGIT)

    @property
    def quality(self) -> torch.Tensor:
        """The current quality, a 0-d tensor in (1, 100)."""
        return quality_of(self.quality_logit)

    @property
    def gate(self) -> torch.Tensor:
        """How much of the codec applies, a 0-d tensor in (0, 1] (1 without a learned gate)."""
        if self.gate_logit is None:
            return torch.ones((), device=self.quality_logit.device)
        return torch.sigmoid(self.gate_logit)

    def at(
        self, x: torch.Tensor, quality: torch.Tensor, offset: tuple[int, int] = (0, 0)
    ) -> torch.Tensor:
        """The (gated) round trip of x (N, 3, H, W) at a given ``quality`` (0-d tensor): what
        :meth:`forward` does at :attr:`quality`; the finite difference calls it at q +- delta."""
        coded = jpeg_round_trip(x, quality, offset)
        if self.gate_logit is None:
            return coded
        if self.gate_mode == "sample":  # the more likely of the two, per the learned g
            return torch.where(self.gate_logit >= 0, coded, x)
        return x + torch.sigmoid(self.gate_logit).to(x.dtype) * (coded - x)

    def forward(self, x: torch.Tensor, offset: tuple[int, int] = (0, 0)) -> torch.Tensor:
        """x: (N, 3, H, W), clamped to [0, 1] -> its JPEG round trip at :attr:`quality`,
        (N, 3, H, W) in about [0, 1] (blended with x by the gate, if learned). ``offset``: see
        :func:`jpeg_round_trip`."""
        return self.at(x, self.quality, offset)


def quality_of(logit: torch.Tensor) -> torch.Tensor:
    """JPEG quality in (1, 100) from its logit (any shape)."""
    return 1.0 + 99.0 * torch.sigmoid(logit)


def jpeg_round_trip(
    x: torch.Tensor, quality: torch.Tensor, offset: tuple[int, int] = (0, 0)
) -> torch.Tensor:
    """Differentiable JPEG encode-decode of x (N, 3, H, W), clamped to [0, 1], at ``quality``
    (0-d tensor in (1, 100)) -> (N, 3, H, W) in about [0, 1].

    ``offset`` (oy, ox) in [0, 16): the block grid starts that many pixels above and left of the
    top-left pixel (edge-replicated there, cropped after). (0, 0) is the grid of an image's own
    JPEG; a random offset in training matches real crops, whose grid phase is random. Runs in
    float32 (outside autocast): the soft rounding needs the precision.
    """
    oy, ox = offset
    if not (0 <= oy < MACROBLOCK and 0 <= ox < MACROBLOCK):
        raise ValueError(f"offset must lie in [0, {MACROBLOCK}), got {offset}")
    h, w = x.shape[-2:]
    with torch.autocast(x.device.type, enabled=False):
        t = x.float().clamp(0, 1)
        if oy or ox:
            t = F.pad(t, (ox, 0, oy, 0), mode="replicate")
        with warnings.catch_warnings():  # kornia calls torch.meshgrid without indexing=
            warnings.filterwarnings("ignore", message="torch.meshgrid", category=UserWarning)
            out = jpeg_codec_differentiable(t, quality.float().reshape(1).to(t.device))
    return out[..., oy : oy + h, ox : ox + w].to(x.dtype)
