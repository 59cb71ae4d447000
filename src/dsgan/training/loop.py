"""The training loop both trainers share: steps, logging, samples, checkpoints, signals, faults.

A trainer (:class:`~dsgan.training.dsgan_trainer.DSGANTrainer`,
:class:`~dsgan.training.sr_trainer.SRTrainer`) subclasses :class:`TrainLoop` and provides its
data (``_loader``, ``_prepare``), its update (``train_step``: loss terms, or None when the step
was non-finite and skipped), its schedulers, networks, checkpoints (``save``, ``_load``,
``export``) and samples. The loop is the same for both:

* a step that returns None counts as a fault; after ``FaultCounter.limit`` in a row the trainer
  rolls back to its latest checkpoint (``rollback_target`` gives up after repeated rollbacks);
* losses become host numbers only on logging steps (``log_every``);
* SIGINT/SIGTERM (:class:`StopFlag`) save a checkpoint and raise ``KeyboardInterrupt``;
* out-of-memory becomes a ``UserError`` with the trainer's advice (``_oom_message``);
* a trainer that sets ``health`` has its logged values watched for a saturated D or colour drift
  (:mod:`dsgan.training.health`), summarised in ``RUN/health.json`` and at the end.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any, Literal

import torch
from tqdm import tqdm

from dsgan import checkpoints as ckpt
from dsgan.devices import OOM_ERRORS
from dsgan.errors import UserError
from dsgan.io.atomic import remove_stale_temporaries
from dsgan.training.common import FaultCounter, StopFlag, rollback_target
from dsgan.training.health import HealthMonitor
from dsgan.training.rundir import RunDir, trim_metrics
from dsgan.training.runlock import RunLock

log = logging.getLogger(__name__)
Outcome = Literal["done", "rollback", "stopped"]


class TrainLoop:
    """Base class of the trainers: ``train()`` runs the loop described in the module docstring."""

    desc = "train"  # progress-bar label
    cfg: Any
    run: RunDir
    step: int
    rank: int = 0
    faults: FaultCounter
    rollbacks: dict[str, int]  # checkpoint name -> rollbacks to it
    health: HealthMonitor | None = None  # saturated D / colour drift watch (rank 0)
    _lock: RunLock | None = None  # the run directory's lock (rank 0), held while training

    # ----------------------------------------------------------------- what a trainer provides
    def _nets(self) -> dict[str, torch.nn.Module]:
        raise NotImplementedError

    def _schedulers(self) -> list[Any]:
        raise NotImplementedError

    def _loader(self) -> Any:
        raise NotImplementedError

    def _prepare(self, *batch: torch.Tensor) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def train_step(self, *tensors: torch.Tensor) -> dict[str, Any] | None:
        raise NotImplementedError

    def _save_samples(self, *tensors: torch.Tensor) -> None:
        raise NotImplementedError

    def _load(self, weights: Path, state_path: Path) -> None:
        raise NotImplementedError

    def save(self) -> Path | None:
        raise NotImplementedError

    def export(self) -> Path:
        raise NotImplementedError

    def _total(self) -> int:
        """Steps the run ends at."""
        raise NotImplementedError

    def _oom_message(self) -> str:
        raise NotImplementedError

    def _before_step(self) -> None:
        """Called before each step (e.g. to switch training phases)."""

    def _after_step(self, total: int) -> None:
        """Called after each completed step, before checkpointing (e.g. validation)."""

    # ----------------------------------------------------------------- start, resume, rollback
    def _start(self, resume: bool) -> None:
        """Resume from the latest checkpoint, or refuse to train over an existing run.

        Runs before :class:`RunDir` rewrites ``RUN/config.yaml``, so a refused start leaves the
        run intact. First takes the run directory's lock (:mod:`dsgan.training.runlock`): a second
        training into the same directory is refused.
        """
        if self.rank == 0:
            self._lock = RunLock(self.cfg.out)
        try:
            self._resume_or_refuse(resume)
        except BaseException:
            if self._lock is not None:  # a refused start leaves the directory free at once
                self._lock.release()
            raise

    def _resume_or_refuse(self, resume: bool) -> None:
        out = Path(self.cfg.out)
        folder = out / "checkpoints"
        found = ckpt.latest_checkpoint(folder)
        if resume:
            if found is None and ckpt.checkpoint_files(folder):
                found = ckpt.newest_complete(folder)  # the pointer is lost, the files are not
                if found is not None:
                    log.warning(
                        "%s is missing; resuming from the newest complete checkpoint, %s",
                        folder / ckpt.LATEST,
                        found[0].name,
                    )
            if found is None:
                raise UserError(f"--resume: no checkpoint in {folder}")
            self._load(*found)
            log.info("resumed from step %d (%s)", self.step, found[0].name)
            if self.rank == 0:
                trim_metrics(out / "metrics.jsonl", self.step)
        elif found is not None or ckpt.checkpoint_files(folder):
            raise UserError(
                f"{out} already holds a training run; pass --resume to continue it "
                "or choose another --out"
            )
        if self.rank == 0:  # hidden temporaries of a killed run (we hold the lock)
            for sub in (out, folder, out / "images"):
                remove_stale_temporaries(sub)

    def _rollback(self) -> None:
        self._load(*rollback_target(self.run.checkpoints, self.rollbacks, self.faults.consecutive))
        self.faults.ok()

    # ----------------------------------------------------------------- the loop
    def train(self) -> Path:
        """Run until the last step; returns the path of the exported generator."""
        try:
            return self._train()
        except OOM_ERRORS as exc:
            raise UserError(self._oom_message()) from exc
        finally:
            if self._lock is not None:
                self._lock.release()

    def _train(self) -> Path:
        total = self._total()
        outcome = self._run_steps(total)
        # after a rollback, or when skipped steps used up the loader's batches, a fresh loader
        # continues the step-indexed stream from self.step (faults still count towards rollbacks)
        while outcome == "rollback" or (outcome == "done" and self.step < total):
            outcome = self._run_steps(total)
        if outcome == "stopped":
            self.run.close()
            raise KeyboardInterrupt
        self.save()
        path = self.export()
        line = self.health.summary_line() if self.health is not None else None
        if line:
            print(line, file=sys.stderr)
        return path

    def _run_steps(self, total: int) -> Outcome:
        c = self.cfg
        stop = StopFlag()
        bar = tqdm(
            total=total,
            initial=self.step,
            desc=self.desc,
            unit="it",
            disable=self.rank != 0,
            dynamic_ncols=True,
        )
        for net in self._nets().values():
            net.train()
        outcome: Outcome = "done"
        last, t0 = self.step, time.perf_counter()
        with stop.installed():
            for batch in self._loader():
                self._before_step()
                tensors = self._prepare(*batch)
                losses = self.train_step(*tensors)
                if losses is None:
                    log.warning("step %d: non-finite loss or gradient, step skipped", self.step)
                    if self.faults.fault():
                        self._rollback()
                        outcome = "rollback"
                        break
                    continue
                self.faults.ok()
                for sched in self._schedulers():
                    sched.step()
                self.step += 1
                bar.update(1)
                if self.step % c.log_every == 0 or self.step == total:
                    logged = {k: float(v) for k, v in losses.items()}  # the only loss sync
                    logged["speed/it_per_s"] = (self.step - last) / max(
                        time.perf_counter() - t0, 1e-9
                    )
                    logged["lr"] = self._schedulers()[0].get_last_lr()[0]
                    last, t0 = self.step, time.perf_counter()
                    self.run.log(self.step, logged)
                    if self.health is not None:
                        self.health.update(self.step, logged)
                    bar.set_postfix(
                        {
                            k.split("/")[-1]: f"{v:.3g}"
                            for k, v in logged.items()
                            if k.startswith("loss/")
                        }
                    )
                if self.step % c.image_every == 0 or self.step == total:
                    self._save_samples(*tensors)
                self._after_step(total)
                if self.step % c.checkpoint_every == 0 or stop.requested:
                    self.save()
                if stop.requested:
                    outcome = "stopped"
                    break
        bar.close()
        return outcome
