"""Training health: a saturated D, colour drift or a frozen stage, detected while a run trains.

A DSGAN run that goes wrong looks fine from its progress bar (FINDINGS, "camera-like mixture"):
D wins from the start (mean logits about +1 to +2.5 on reals, -3 to -5 on fakes) and G escapes
sideways into colour drift (``diag/rgb_shift`` of 1-7 grey levels). On a healthy run D's mean
logits stay near +-0.3 and the shift below half a grey level. :class:`HealthMonitor` watches the
logged values for such states held over a stretch of training, logs a warning when one starts,
and keeps ``RUN/health.json`` up to date::

    {"ok": false, "checks": {...thresholds...},
     "episodes": [{"kind": "d_saturated", "start": 120, "end": 2400, "peak": 6.1, "mean": 4.8}]}

The thresholds are documented defaults, not tuned per data set: a logit gap (mean real logit minus
mean fake logit) of 3 means D puts about 82% on each side; a colour shift of 1.5 grey levels is
five times a healthy run's.

A learned stage can also be **frozen** (``stage_frozen``): ``diag/stage_freeze``
(training/freeze.py) is the largest ratio, over the stages' parameters, of the root of Adam's
second moment to the root of their recent squared gradients — about 1 while a stage learns, 20-100
after a burst shrank its steps. Above 10 for the minimum duration, it is an episode.

One check is instantaneous: a **gradient burst**, a logged norm of G's gradient
(``diag/grad_g``) ten times the median of the run's earlier logged values. One such step can move
the learned stages' parameters far and then leave them nearly frozen while Adam's second moment
decays (docs/RESULTS.md: a clean run's codec gate stayed at 0.14 for 2,000 steps after one);
``optim.clip_g`` clips such steps (training/clip.py).
"""

from __future__ import annotations

import json
import logging
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dsgan.io.atomic import write_text_atomic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HealthChecks:
    """What counts as unhealthy, and for how long (in training steps)."""

    logit_gap: float = 3.0  # mean D logit on reals minus on fakes
    rgb_shift: float = 1.5  # mean absolute colour shift of G's output, grey levels (0..255)
    min_steps: int = 100  # a state must hold this long to count (and 5% of the run)
    min_fraction: float = 0.05
    stage_frozen: float = 10.0  # diag/stage_freeze: Adam's sqrt(v) / recent gradients' RMS
    grad_burst: float = 10.0  # G's gradient norm / median of the earlier logged ones; 0 = off
    burst_history: int = 5  # logged values needed before bursts are judged


@dataclass
class Episode:
    """One stretch of logged steps over a threshold."""

    kind: str  # d_saturated | colour_drift | stage_frozen (gradient_burst: a one-step record)
    start: int
    end: int
    peak: float
    total: float = 0.0
    count: int = 0

    def add(self, step: int, value: float) -> None:
        self.end = step
        self.peak = max(self.peak, value)
        self.total += value
        self.count += 1

    def summary(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "peak": round(self.peak, 3),
            "mean": round(self.total / max(self.count, 1), 3),
        }


@dataclass
class HealthMonitor:
    """Feed it every logged record (:meth:`update`); it writes ``path`` (JSON) as it goes.

    Args:
        path: ``RUN/health.json``.
        total_steps: the run's length (sets the minimum duration with ``min_fraction``).
        watch_d: check D's logits (False for losses whose logits are no probabilities: WGAN).
        start_step: the step training starts from: 0 for a new run (an old file is ignored), the
            checkpoint's step for a resumed one (the file's episodes up to it are kept; one still
            open there goes on).
        checks: the thresholds.
    """

    path: Path | None
    total_steps: int
    watch_d: bool = True
    start_step: int = 0
    checks: HealthChecks = field(default_factory=HealthChecks)
    episodes: list[dict[str, Any]] = field(default_factory=list)
    _open: dict[str, Episode] = field(default_factory=dict)
    _warned: set[tuple[str, int]] = field(default_factory=set)
    _last: int = 0
    _written: str = ""  # the text last written to ``path``
    _grads: list[float] = field(default_factory=list)  # logged diag/grad_g, in step order

    def __post_init__(self) -> None:
        if self.start_step > 0 and self.path is not None and self.path.is_file():
            try:
                saved = list(json.loads(self.path.read_text("utf-8"))["episodes"])
            except (OSError, ValueError, KeyError, TypeError):
                saved = []  # unreadable: start afresh (the file is only a report)
            self.episodes = saved
            self._rewind(self.start_step)
        self._last = self.start_step

    def _rewind(self, step: int) -> None:
        """Forget what happened after ``step`` (a resume or a rollback retrains those steps); an
        episode still going at ``step`` is reopened (its mean then counts as one record)."""
        candidates = [(e, bool(e.get("open"))) for e in self.episodes]
        candidates += [(e.summary(), True) for e in self._open.values()]
        self.episodes, self._open = [], {}
        for ep, was_open in candidates:
            if ep["start"] > step:
                continue
            if ep["kind"] == "gradient_burst":
                self.episodes.append(ep)
            elif was_open or ep["end"] >= step:
                live = Episode(ep["kind"], ep["start"], min(ep["end"], step), ep["peak"])
                live.total, live.count = ep["mean"], 1
                self._open[ep["kind"]] = live
            else:
                self.episodes.append({k: v for k, v in ep.items() if k != "open"})

    @property
    def min_steps(self) -> int:
        c = self.checks
        return max(c.min_steps, int(c.min_fraction * self.total_steps))

    def update(self, step: int, values: dict[str, float]) -> None:
        """One logged record (floats; keys ``d/real``, ``d/fake``, ``diag/rgb_shift``)."""
        if 0 < step <= self._last:  # a rollback: those steps are trained again
            self._rewind(step - 1)
        self._last = step
        states: dict[str, float | None] = {
            "colour_drift": values.get("diag/rgb_shift"),
            "stage_frozen": values.get("diag/stage_freeze"),
        }
        if self.watch_d and "d/real" in values and "d/fake" in values:
            states["d_saturated"] = values["d/real"] - values["d/fake"]
        self._check_burst(step, values.get("diag/grad_g"))
        c = self.checks
        limits = {
            "colour_drift": c.rgb_shift,
            "d_saturated": c.logit_gap,
            "stage_frozen": c.stage_frozen,
        }
        for kind, value in states.items():
            if value is None:
                continue
            if value >= limits[kind]:
                ep = self._open.setdefault(kind, Episode(kind, step, step, value))
                ep.add(step, value)
                if ep.end - ep.start >= self.min_steps and (kind, ep.start) not in self._warned:
                    self._warned.add((kind, ep.start))
                    log.warning("training health: %s since step %d", _WORDS[kind], ep.start)
            elif kind in self._open:
                self._close(kind)
        self._write()

    def _check_burst(self, step: int, grad: float | None) -> None:
        """Record a gradient burst: ``grad`` >= ``grad_burst`` x the median of earlier ones."""
        c = self.checks
        if grad is None or c.grad_burst <= 0:
            return
        if len(self._grads) >= c.burst_history:
            median = statistics.median(self._grads[-200:])
            if median > 0 and grad >= c.grad_burst * median:
                ratio = grad / median
                self.episodes.append(
                    {
                        "kind": "gradient_burst",
                        "start": step,
                        "end": step,
                        "peak": round(ratio, 1),
                        "mean": round(grad, 6),
                    }
                )
                log.warning(
                    "training health: gradient burst at step %d (G's gradient norm %.3g, %.0fx "
                    "the run's median)",
                    step,
                    grad,
                    ratio,
                )
        self._grads.append(grad)

    def _close(self, kind: str) -> None:
        ep = self._open.pop(kind)
        if ep.end - ep.start >= self.min_steps:
            self.episodes.append(ep.summary())

    def report(self) -> dict[str, Any]:
        """The health summary: closed episodes plus those still open (held long enough)."""
        live = [
            {**e.summary(), "open": True}
            for e in self._open.values()
            if e.end - e.start >= self.min_steps
        ]
        episodes = sorted(self.episodes + live, key=lambda e: (e["start"], e["kind"]))
        return {
            "ok": not episodes,
            "checks": {**asdict(self.checks), "min_steps_effective": self.min_steps},
            "episodes": episodes,
        }

    def _write(self) -> None:
        """Rewrite the file when the report changed (not on every logged step)."""
        if self.path is None:
            return
        text = json.dumps(self.report(), indent=2)
        if text != self._written:
            write_text_atomic(self.path, text)
            self._written = text

    def summary_line(self) -> str | None:
        """One line for the end of training, or None if the run was healthy."""
        rep = self.report()
        if rep["ok"]:
            return None
        parts = [
            f"{_WORDS[e['kind']]} at step {e['start']} ({e['peak']:g}x the median)"
            if e["kind"] == "gradient_burst"
            else f"{_WORDS[e['kind']]} at steps {e['start']}-{e['end']} (mean {e['mean']:g})"
            for e in rep["episodes"]
        ]
        where = f" (details: {self.path})" if self.path is not None else ""
        return (
            "warning: this run may have gone wrong: "
            + "; ".join(parts)
            + where
            + ". Check the sample grids before degrading a dataset with it."
        )


_WORDS = {
    "d_saturated": "discriminator saturated (mean logit gap real - fake above the limit)",
    "colour_drift": "colour drift (G's output shifts colours from its input)",
    "gradient_burst": "gradient burst (G's gradient norm far above the run's median)",
    "stage_frozen": "a learned stage frozen (Adam's memory of an old gradient burst shrinks its "
    "steps; optim.clip_g prevents it)",
}
