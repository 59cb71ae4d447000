"""The training loop both trainers share: steps, logging, samples, checkpoints, signals, faults.

A trainer (:class:`~dsgan.training.dsgan_trainer.DSGANTrainer`,
:class:`~dsgan.training.sr_trainer.SRTrainer`) subclasses :class:`TrainLoop` and provides its
data (``_loader``, ``_prepare``), its update (``train_step``: loss terms, or None when the step
was non-finite and skipped), its networks (``_nets``), its optimisers and schedulers
(``_stateful``) and samples. Checkpoints are written once, here, for both: ``save`` (the networks'
weights + the optimisers', schedulers' and random generators' states), ``_load`` (with a clear
error for a checkpoint of another kind, architecture or scale), ``export`` (the generator). The
loop is the same for both:

* a step that returns None counts as a fault; after ``FaultCounter.limit`` in a row the trainer
  rolls back to its latest checkpoint (``rollback_target`` gives up after repeated rollbacks);
* losses become host numbers only on logging steps (``log_every``);
* SIGINT/SIGTERM (:class:`StopFlag`) save a checkpoint and raise ``KeyboardInterrupt``;
* out-of-memory becomes a ``UserError`` with the trainer's advice (``_oom_message``);
* a trainer that sets ``health`` has its logged values watched for a saturated D or colour drift
  (:mod:`dsgan.training.health`), summarised in ``RUN/health.json`` and at the end.

Also generic: :meth:`_wrap` (DDP over the process group under ``torchrun``, then
``torch.compile``) and an exponential moving average of the generator (:meth:`_make_ema`,
BasicSR's convention), updated after every step, saved and resumed as the network ``g_ema`` and
exported instead of G when it exists.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any, Literal

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from dsgan import checkpoints as ckpt
from dsgan.devices import OOM_ERRORS
from dsgan.errors import UserError
from dsgan.io.atomic import remove_stale_temporaries
from dsgan.training.common import FaultCounter, StopFlag, rollback_target
from dsgan.training.health import HealthMonitor
from dsgan.training.rundir import RUN_FILES, RunDir, trim_metrics
from dsgan.training.runlock import RunLock

log = logging.getLogger(__name__)
Outcome = Literal["done", "rollback", "stopped"]


class TrainLoop:
    """Base class of the trainers: ``train()`` runs the loop described in the module docstring."""

    desc = "train"  # progress-bar label
    kind = ""  # checkpoint kind ("dsgan", "sr"); the export is "<kind>-generator"
    kind_name = ""  # for errors: "a DSGAN one", "an SR one"
    cfg: Any
    run: RunDir
    step: int
    rank: int = 0
    world: int = 1
    ema: AveragedModel | None = None  # moving average of G (``_make_ema``)
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

    def _stateful(self) -> dict[str, Any]:
        """Optimisers and schedulers by name (``state_dict`` / ``load_state_dict``), saved in
        and restored from the training state."""
        raise NotImplementedError

    # ``_stateful`` entries a checkpoint may lack (written before they existed, or by a run
    # without the option): they start fresh on resume, with a note in the log
    _fresh_ok: frozenset[str] = frozenset()

    def _extra_state(self) -> dict[str, Any]:
        """More plain values for the training state (e.g. the SR trainer's phase)."""
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore ``_extra_state``; runs before the optimisers are restored (a phase switch
        makes fresh ones)."""

    # ----------------------------------------------------------------- generic machinery
    def _wrap(self, net: torch.nn.Module, compile_: bool = False) -> torch.nn.Module:
        """The module the step calls: DDP with several processes, then ``torch.compile`` if
        asked. The plain module stays what checkpoints, samples and export use."""
        run = net
        if self.world > 1:
            dev = [self.device] if self.device.type == "cuda" else None  # type: ignore[attr-defined]
            run = torch.nn.parallel.DistributedDataParallel(
                net, device_ids=dev, broadcast_buffers=False
            )
        if compile_:
            run = torch.compile(run)
        return run

    def _any_rank(self, flag: bool) -> bool:
        """True on every rank if ``flag`` is on any (one small all-reduce per step under DDP):
        a signal that reached one rank stops all of them at the same step, so they checkpoint
        together instead of one waiting at a barrier for the others."""
        if self.world == 1:
            return flag
        from dsgan.training import distributed

        dev = self.device  # type: ignore[attr-defined]
        return not bool(distributed.all_true(torch.tensor(not flag, device=dev)))

    def _make_ema(self, net: torch.nn.Module, decay: float) -> None:
        """Keep ``ema = decay * ema + (1 - decay) * net`` (weights and buffers) after every
        step, starting from ``net``; ``decay`` 0: none."""
        self.ema = (
            AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
            if decay > 0
            else None
        )

    def _all_nets(self) -> dict[str, torch.nn.Module]:
        """The trainer's networks and, with an EMA, ``g_ema``: what a checkpoint holds."""
        nets = dict(self._nets())
        if self.ema is not None:
            nets["g_ema"] = self.ema.module
        return nets

    def _inference_g(self) -> torch.nn.Module:
        """The generator to validate, sample and export: the EMA's if there is one."""
        return self.ema.module if self.ema is not None else self._nets()["g"]

    # ----------------------------------------------------------------- checkpoints
    def _state(self) -> dict[str, Any]:
        state = {"step": self.step, "rng": ckpt.rng_state(), **self._extra_state()}
        state.update({name: obj.state_dict() for name, obj in self._stateful().items()})
        if self.ema is not None:
            state["ema_updates"] = int(self.ema.n_averaged)
        return state

    def save(self) -> Path | None:
        """Rank 0 writes the checkpoint; all ranks wait for it (so a resume finds it complete)."""
        path = None
        if self.rank == 0:
            path = ckpt.save_checkpoint(
                self.run.checkpoints,
                self.step,
                self._all_nets(),
                self._state(),
                kind=self.kind,
                config_json=self.cfg.model_dump_json(),
            )
        self._barrier()
        return path

    def _barrier(self) -> None:
        """Wait for all ranks (a no-op with one process)."""
        from dsgan.training import distributed

        distributed.barrier()

    def _load(self, weights: Path, state_path: Path) -> None:
        groups, meta = ckpt.read_weights(weights)
        if meta.get("kind") != self.kind:
            raise UserError(f"{weights}: a {meta.get('kind')!r} checkpoint, not {self.kind_name}")
        self._check_compatible(weights, meta)
        try:
            for name, net in self._nets().items():
                ckpt.unwrap(net).load_state_dict(groups[name])
        except (KeyError, RuntimeError) as exc:
            raise UserError(
                f"{weights}: does not match this model configuration ({str(exc)[:300]})"
            ) from exc
        state = ckpt.read_state(state_path)
        if self.ema is not None:
            if "g_ema" in groups:
                self.ema.module.load_state_dict(groups["g_ema"])
                self.ema.n_averaged.fill_(int(state.get("ema_updates", 1)))
            else:  # a run started without an EMA: it starts here, from G
                log.warning("%s holds no EMA of G; the EMA starts from G at this step", weights)
                self.ema.module.load_state_dict(groups["g"])
                self.ema.n_averaged.fill_(1)
        self.step = int(state["step"])
        self._load_extra_state(state)
        for name, obj in self._stateful().items():
            if name not in state and name in self._fresh_ok:
                log.info(
                    "%s holds no %s state: it starts fresh at step %d", state_path, name, self.step
                )
                continue
            obj.load_state_dict(state[name])
        ckpt.set_rng_state(state["rng"])

    def _check_compatible(self, weights: Path, meta: dict[str, str]) -> None:
        """A clear error if the checkpoint was trained with another architecture or scale."""
        stored = ckpt.checkpoint_config(weights, meta)
        current = self.cfg.model_dump(mode="json")
        diffs = [
            f"model.{k}: checkpoint {v!r}, current {current['model'].get(k)!r}"
            for k, v in stored.get("model", {}).items()
            if current["model"].get(k) != v
        ]
        old_scale = stored.get("data", {}).get("scale")
        if old_scale is not None and old_scale != self.cfg.data.scale:
            diffs.append(f"data.scale: checkpoint {old_scale!r}, current {self.cfg.data.scale!r}")
        if diffs:
            raise UserError(
                f"{weights}: checkpoint of another model configuration ({'; '.join(diffs)}); "
                "resume with the run's own config or choose another --out"
            )

    def export(self) -> Path:
        """Write ``RUN/generator.safetensors`` (G only, its EMA if there is one, with metadata:
        what ``dsgan degrade`` / ``dsgan upscale`` load)."""
        path = Path(self.cfg.out) / "generator.safetensors"
        if self.rank == 0:
            g = self._inference_g()
            config = self.cfg.model_dump_json()
            ckpt.save_weights(path, self.step, {"g": g}, f"{self.kind}-generator", config)
        self.run.close()
        return path

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
            remove_stale_temporaries(folder)  # the run's own folders: all of them
            remove_stale_temporaries(out / "images")
            # the run directory itself may be shared (--out .): only the run's files
            remove_stale_temporaries(out, list(RUN_FILES))

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
                if self.ema is not None:
                    self.ema.update_parameters(self._nets()["g"])
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
                stopping = self._any_rank(stop.requested)
                if self.step % c.checkpoint_every == 0 or stopping:
                    self.save()
                if stopping:
                    outcome = "stopped"
                    break
        bar.close()
        return outcome
