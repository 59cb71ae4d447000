"""Loading ESRGAN-family generator checkpoints into :class:`~dsgan.models.rrdb.RRDBNet`.

Accepted key layouts (all converted to BasicSR names):

* BasicSR / Real-ESRGAN: ``conv_first``, ``body.N.rdb1.conv1`` ... ``conv_last`` (used as is);
* old ESRGAN (xinntao/ESRGAN, mmsr, the ESRGAN-FS release): ``RRDB_trunk.N.RDB1.conv1``,
  ``trunk_conv``, ``upconv1``, ``upconv2``, ``HRconv``, ``conv_last``;
* the original ESRGAN release (``RRDB_ESRGAN_x4.pth``): ``model.0``, ``model.1.sub.N.RDB1.conv1.0``,
  ``model.3``, ``model.6``, ``model.8``, ``model.10``;

wrapped or not in ``{"params": ...}`` / ``{"params_ema": ...}`` (EMA preferred) or ``state_dict``,
with or without a DataParallel ``module.`` prefix. Files are read with ``weights_only=True`` or
safetensors: a pickle that would run code is refused.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from dsgan.errors import UserError
from dsgan.models.rrdb import RRDBNet
from dsgan.weights import load_state_dict

_OLD = [
    (re.compile(r"^RRDB_trunk\.(\d+)\.RDB(\d)\."), r"body.\1.rdb\2."),
    (re.compile(r"^trunk_conv\."), "conv_body."),
    (re.compile(r"^upconv1\."), "conv_up1."),
    (re.compile(r"^upconv2\."), "conv_up2."),
    (re.compile(r"^HRconv\."), "conv_hr."),
]
_ORIGINAL = [
    (re.compile(r"^model\.0\."), "conv_first."),
    (re.compile(r"^model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\."), r"body.\1.rdb\2.conv\3."),
    (re.compile(r"^model\.3\."), "conv_up1."),
    (re.compile(r"^model\.6\."), "conv_up2."),
    (re.compile(r"^model\.8\."), "conv_hr."),
    (re.compile(r"^model\.10\."), "conv_last."),
]


def unwrap_state(state: dict) -> dict[str, torch.Tensor]:
    """Strip ``params_ema``/``params``/``state_dict`` wrappers and ``module.`` prefixes."""
    for key in ("params_ema", "params", "state_dict"):
        if key in state and isinstance(state[key], dict):
            state = state[key]
            break
    return {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}


def to_basicsr_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename an old-ESRGAN or original-ESRGAN state dict to BasicSR names (others unchanged)."""
    if any(k.startswith("model.1.sub.") for k in state):
        trunk = max(int(k.split(".")[3]) for k in state if k.startswith("model.1.sub."))
        rules = [*_ORIGINAL, (re.compile(rf"^model\.1\.sub\.{trunk}\."), "conv_body.")]
    elif any(k.startswith("RRDB_trunk.") for k in state):
        rules = _OLD
    else:
        return dict(state)
    out = {}
    for key, value in state.items():
        for pattern, repl in rules:
            new, n = pattern.subn(repl, key)
            if n:
                key = new
                break
        out[key] = value
    return out


def infer_arch(state: dict[str, torch.Tensor], scale: int | None = None) -> dict[str, int]:
    """RRDBNet constructor arguments from BasicSR-named weights.

    ``scale`` is inferred from the pixel-unshuffle of the input (12/48 input channels for 3-channel
    x2/x1 models; otherwise x4) unless given.
    """
    try:
        first, last = state["conv_first.weight"], state["conv_last.weight"]
        gc = state["body.0.rdb1.conv1.weight"].shape[0]
    except KeyError as exc:
        raise UserError(f"not an RRDBNet/ESRGAN generator checkpoint (missing {exc})") from exc
    out_ch, in_total = last.shape[0], first.shape[1]
    if scale is None:
        scale = {out_ch * 4: 2, out_ch * 16: 1}.get(in_total, 4)
    in_ch = in_total // (4 // scale) ** 2
    nb = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("body."))
    return {
        "in_ch": in_ch,
        "out_ch": out_ch,
        "nf": first.shape[0],
        "nb": nb,
        "gc": gc,
        "scale": scale,
    }


def load_rrdb_state(path: str | Path) -> dict[str, torch.Tensor]:
    """BasicSR-named generator weights of a ``.pth``/``.safetensors`` file (any layout above)."""
    return to_basicsr_names(unwrap_state(load_state_dict(path)))


def rrdb_from_state(
    state: dict[str, torch.Tensor], scale: int | None = None, source: str = "checkpoint"
) -> RRDBNet:
    """Build an RRDBNet matching ``state`` (BasicSR names) and load it strictly."""
    net = RRDBNet(**infer_arch(state, scale))
    load_into(net, state, source)
    return net


def load_into(net: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Strict load with a short, readable error."""
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise UserError(f"{source}: weights do not fit the network ({str(exc)[:300]})") from exc
