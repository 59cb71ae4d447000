"""The SR training loop (``dsgan sr-train``): ESRGAN-FS on LR/HR pairs.

One GAN step, as ESRGAN: G maps LR patches to SR; G minimises
``w_pix * L1(low(SR), low(HR)) + w_feat * L1(VGG(SR), VGG(HR)) + w_gan * RaGAN_G(D(high(SR)))``;
then D minimises ``RaGAN_D(D(high(HR)), D(high(SR)))``. Pre-training steps and ``gan: false`` runs
use L1 on full images only (no D, no VGG). Runs, checkpoints, logging and resuming work as in
``dsgan train`` (:mod:`dsgan.training.dsgan_trainer`), on the same core
(:class:`~dsgan.training.loop.TrainLoop`): under ``torchrun`` G is wrapped in DDP and D's
gradients are averaged over the ranks (its BatchNorms synchronised), each rank takes its slice of the global batch and of the validation
set, rank 0 writes; an EMA of G (``ema``, BasicSR's 0.999) is validated and exported.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from dsgan import checkpoints as ckpt
from dsgan.checkpoints.esrgan import load_into
from dsgan.checkpoints.load import sr_init_state
from dsgan.config.sr import SRConfig
from dsgan.data.cache import Budget, cache_budget
from dsgan.data.decoded import disk_cache
from dsgan.data.pairs import PairDataset, load_pair, match_pairs
from dsgan.data.sampling import StepSampler, step_loader
from dsgan.devices import resolve_device
from dsgan.errors import UserError
from dsgan.losses.sr import SRLoss
from dsgan.metrics.reference import sr_quality
from dsgan.models.rrdb import RRDBNet
from dsgan.models.vgg_discriminator import VGGDiscriminator
from dsgan.ops.tiling import tiled_apply
from dsgan.training import distributed as distrib
from dsgan.training.common import (
    FaultCounter,
    autocast,
    autocast_dtype,
    grads_finite,
    seed_everything,
    tune_backends,
)
from dsgan.training.loop import TrainLoop
from dsgan.training.rundir import RunDir

log = logging.getLogger(__name__)
VAL_OVERLAP = 32


def build_sr_generator(cfg: SRConfig) -> RRDBNet:
    return RRDBNet(scale=cfg.data.scale, **cfg.model.arch())


class SRTrainer(TrainLoop):
    """Trains RRDBNet (and the VGG-style D) per ``cfg``; ``resume`` continues the run."""

    desc = "dsgan sr-train"
    kind = "sr"
    kind_name = "an SR one"

    def __init__(
        self,
        cfg: SRConfig,
        resume: bool = False,
        on_error: str = "skip",
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.cfg = cfg
        self.rank, self.world = rank, world_size
        self.device = distrib.local_device(resolve_device(cfg.device))
        seed_everything(cfg.seed + rank)
        tune_backends(self.device)
        self.amp = autocast_dtype(cfg.amp, self.device)
        folders = cfg.data.folders()
        if folders is None:
            raise UserError(
                "no training pairs; pass --pairs DIR (with LR/ and HR/ inside) or --lr DIR --hr DIR"
            )
        d = cfg.data
        budget = Budget(cache_budget(d.cache_images, d.cache_gb))
        disk = disk_cache(d.disk_cache)
        self.data = PairDataset(
            *folders, d.scale, d.patch, d.flips, d.rotations, budget, on_error, disk
        )
        self.val = self._load_val() if d.val is not None else []
        # channels_last helps on GPUs; on CPU it makes the discriminator several times slower.
        cl = cfg.channels_last and self.device.type == "cuda"
        self.mem = torch.channels_last if cl else torch.contiguous_format
        self.g = build_sr_generator(cfg).to(self.device, memory_format=self.mem)
        self.use_gan = cfg.loss.gan
        self.d: VGGDiscriminator | None = None
        if self.use_gan:
            net = VGGDiscriminator(nf=cfg.model.d_channels)
            if world_size > 1:  # BatchNorm statistics over the global batch
                net = distrib.convert_sync_batchnorm(net, self.device)
            self.d = net.to(self.device, memory_format=self.mem)
            distrib.broadcast_from_main(self.d)  # outside DDP: same initial weights on every rank
        if self.use_gan and d.patch and d.patch < VGGDiscriminator.MIN_SIZE:
            raise UserError(
                f"data.patch {d.patch} is too small for the discriminator "
                f"(>= {VGGDiscriminator.MIN_SIZE}); use a larger patch or --psnr-only"
            )
        # G: one forward per step, DDP. D: two forwards per update (reals, fakes: separate
        # BatchNorm statistics, as ESRGAN), which DDP's reducer does not follow: its gradients
        # are averaged explicitly after the backward (_update)
        self.g_run = self._wrap(self.g, cfg.compile)
        # RaGAN's batch means over every rank's batch: one process's objective (AdversarialLoss)
        mean = distrib.global_mean if world_size > 1 else None
        self.loss = SRLoss(cfg.loss, mean).to(self.device) if self.use_gan else None
        self._make_ema(self.g, cfg.ema)
        self.step = 0
        self.faults = FaultCounter()
        self.rollbacks: dict[str, int] = {}
        self.phase = ""
        self._set_phase(self._phase_of(0))
        self._start(resume)
        if not resume and cfg.init is not None:
            load_into(ckpt.unwrap(self.g), sr_init_state(Path(cfg.init)), f"--init {cfg.init}")
            self._make_ema(self.g, cfg.ema)  # the average starts from the initial weights
            log.info("initialised G from %s", cfg.init)
        self.run = RunDir(cfg.out, cfg, active=rank == 0)

    # ----------------------------------------------------------------- phases and optimisers
    def _phase_of(self, step: int) -> str:
        """``pretrain`` (L1 only, constant lr), ``l1`` (gan: false) or ``gan``."""
        if step < self.cfg.pretrain_iterations:
            return "pretrain"
        return "gan" if self.use_gan else "l1"

    def _set_phase(self, phase: str) -> None:
        """Fresh optimisers for ``phase`` (as ESRGAN starts its GAN stage from a PSNR model)."""
        o = self.cfg.optim
        kw: dict[str, Any] = {"betas": (o.beta1, o.beta2)}
        kw["fused" if self.device.type == "cuda" else "foreach"] = True
        lr = o.pretrain_lr if phase == "pretrain" else o.lr
        milestones = [] if phase == "pretrain" else o.milestones
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=lr, **kw)
        self.sched_g = torch.optim.lr_scheduler.MultiStepLR(self.opt_g, milestones, o.gamma)
        self.opt_d = self.sched_d = None
        if phase == "gan":
            assert self.d is not None
            self.opt_d = torch.optim.Adam(self.d.parameters(), lr=o.lr_d, **kw)
            self.sched_d = torch.optim.lr_scheduler.MultiStepLR(self.opt_d, milestones, o.gamma)
        self.phase = phase

    # ----------------------------------------------------------------- checkpoints
    def _nets(self) -> dict[str, torch.nn.Module]:
        return {"g": self.g, "d": self.d} if self.d is not None else {"g": self.g}

    def _stateful(self) -> dict[str, Any]:
        out: dict[str, Any] = {"opt_g": self.opt_g, "sched_g": self.sched_g}
        if self.opt_d is not None and self.sched_d is not None:  # the gan phase only
            out.update(opt_d=self.opt_d, sched_d=self.sched_d)
        return out

    def _extra_state(self) -> dict[str, Any]:
        return {"phase": self.phase}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self._set_phase(str(state["phase"]))  # fresh optimisers of that phase, then restored

    # ----------------------------------------------------------------- the step
    def _prepare(self, lr_u8: torch.Tensor, hr_u8: torch.Tensor) -> tuple[torch.Tensor, ...]:
        dev = self.device
        lr = lr_u8.to(dev, non_blocking=True).float().div_(255)
        hr = hr_u8.to(dev, non_blocking=True).float().div_(255)
        return lr.contiguous(memory_format=self.mem), hr.contiguous(memory_format=self.mem)

    def train_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, float] | None:
        """One update of G (and D in the GAN phase); loss terms, or None if skipped.

        lr: (N, 3, p/s, p/s), hr: (N, 3, p, p), both in [0, 1] on the device. Under DDP, G's and
        D's updates go through their DDP wrappers (gradients averaged over ranks); G's adversarial
        term calls the plain D with its weights frozen, so only G's gradients flow.
        """
        with autocast(self.device, self.amp):
            sr = self.g_run(lr)
        if self.phase != "gan":
            loss = (sr.float() - hr).abs().mean()
            if not self._update(self.opt_g, loss, self.g):
                return None
            return {"loss/l1": float(loss.detach()), "loss/g": float(loss.detach())}
        assert self.d is not None
        assert self.loss is not None and self.opt_d is not None
        hp = self.loss.gan_input
        self.d.requires_grad_(False)
        with autocast(self.device, self.amp):
            d_real = self.d(hp(hr)).detach().float()
            d_fake = self.d(hp(sr)).float()
        terms = self.loss.generator_terms(sr.float(), hr, d_fake, d_real)
        if not self._update(self.opt_g, terms["loss/g"], self.g):
            return None
        self.d.requires_grad_(True)
        with autocast(self.device, self.amp):
            d_real = self.d(hp(hr)).float()
            d_fake = self.d(hp(sr.detach())).float()
        loss_d = self.loss.discriminator(d_real, d_fake)
        if not self._update(self.opt_d, loss_d, self.d, average=self.world > 1):
            return None
        out = {k: float(v.detach()) for k, v in terms.items()}
        out.update(
            {
                "loss/d": float(loss_d.detach()),
                "d/real": float(d_real.detach().mean()),
                "d/fake": float(d_fake.detach().mean()),
            }
        )
        return out

    @staticmethod
    def _update(
        opt: torch.optim.Optimizer, loss: torch.Tensor, net: torch.nn.Module, average: bool = False
    ) -> bool:
        """Backward and step, unless the loss or a gradient is non-finite on any rank (then
        every rank skips, so the ranks' weights stay equal). ``average``: average the gradients
        over the ranks here (a network outside DDP)."""
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if average:
            distrib.average_gradients(list(net.parameters()))
        ok = bool(torch.isfinite(loss.detach())) and grads_finite(list(net.parameters()))
        if not bool(distrib.all_true(torch.tensor(ok, device=loss.device))):
            return False
        opt.step()
        return True

    # ----------------------------------------------------------------- the loop
    def _loader(self) -> torch.utils.data.DataLoader:
        c = self.cfg
        sampler = StepSampler(
            len(self.data), c.batch_size, c.seed, self.step, c.total_steps, self.rank, self.world
        )
        return step_loader(self.data, sampler, c.data.workers, self.device.type == "cuda")

    def _schedulers(self) -> list[Any]:
        return [self.sched_g] + ([self.sched_d] if self.sched_d is not None else [])

    def _total(self) -> int:
        return self.cfg.total_steps

    def _before_step(self) -> None:
        phase = self._phase_of(self.step)
        if phase != self.phase:
            log.info("step %d: pre-training done, starting the %s phase", self.step, phase)
            self._set_phase(phase)

    def _after_step(self, total: int) -> None:
        if self.val and (self.step % self.cfg.val_every == 0 or self.step == total):
            self.validate()

    def _oom_message(self) -> str:
        c = self.cfg
        return (
            f"out of memory on {self.device} with --batch-size {c.batch_size} and --patch "
            f"{c.data.patch} (HR pixels); use a smaller --patch or --batch-size, the small "
            "model (--model small) or --amp bf16"
        )

    # ----------------------------------------------------------------- validation, samples
    def _load_val(self) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        folder = Path(self.cfg.data.val)  # type: ignore[arg-type]
        pairs = match_pairs(folder / "LR", folder / "HR")
        return [(p.stem, *load_pair(p, q, self.cfg.data.scale)) for p, q in pairs]

    @torch.inference_mode()
    def validate(self) -> dict[str, float]:
        """Mean PSNR/SSIM over the validation pairs (border crop = scale), logged as ``val/*``;
        of the EMA's G if there is one. Under DDP each rank scores every ``world``-th pair and
        the sums are reduced."""
        c = self.cfg
        g = self._inference_g()
        g.eval()
        sums = torch.zeros(3, dtype=torch.float64)
        for _, lr, hr in self.val[self.rank :: self.world]:
            x = lr.unsqueeze(0).to(self.device)
            sr = tiled_apply(g, x, c.val_tile, VAL_OVERLAP, c.data.scale).float().cpu()
            psnr, ssim = sr_quality(sr, hr.unsqueeze(0), c.data.scale, c.val_metric)
            sums += torch.tensor([psnr, ssim, 1.0], dtype=torch.float64)
        g.train()
        sums = (distrib.all_mean(sums.to(self.device)) * self.world).cpu()
        result = {"val/psnr": float(sums[0] / sums[2]), "val/ssim": float(sums[1] / sums[2])}
        self.run.log(self.step, result)
        if self.rank == 0 and all(math.isfinite(v) for v in result.values()):
            log.info(
                "step %d: val PSNR %.2f dB, SSIM %.4f (%s)",
                self.step,
                result["val/psnr"],
                result["val/ssim"],
                c.val_metric,
            )
        return result

    @torch.no_grad()
    def _save_samples(self, lr: torch.Tensor, hr: torch.Tensor) -> None:
        if self.rank != 0:
            return
        g = self._inference_g()
        g.eval()
        sr = g(lr[:4]).float().clamp(0, 1)
        g.train()
        up = F.interpolate(lr[:4].float(), scale_factor=self.cfg.data.scale, mode="nearest")
        self.run.save_grid(self.step, [[up[i], sr[i], hr[i]] for i in range(sr.shape[0])])


def train(
    cfg: SRConfig, resume: bool = False, on_error: str = "skip", rank: int = 0, world_size: int = 1
) -> Path:
    """Train the SR model per ``cfg``; returns the exported generator file."""
    return SRTrainer(cfg, resume, on_error, rank, world_size).train()
