"""The DSGAN training loop (``dsgan train``).

One step, as the authors do it: G maps the bicubic-downscaled HR crop ``xb`` to ``xd``; D learns to
tell high-passes of real LR samples from those of ``xd``; G minimises
``w_col * L1(low(xd), low(xb)) + w_tex * adversarial(D(high(xd))) + w_per * perceptual(xd, xb)``.

Like the authors' loop, D sees the fakes once per step: the logits ``D(high(xd))`` computed before the
D update serve both D's loss and G's texture loss (simultaneous gradients, the clean form of the
authors' ``fake_tex`` reuse). Each loss back-propagates only into its own network (``inputs=``), so
no gradient is computed twice or thrown away; the D update is applied after G's backward pass.
Losses stay on the device; they are converted to numbers only on logging steps (see docs/SPEED.md).

Distributed (``torchrun``): G and D are wrapped in DDP, D's BatchNorms become SyncBatchNorm, each rank
takes its slice of the global batch (``batch_size`` is per rank), rank 0 alone writes files.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from dsgan.config.dsgan import DSGANConfig
from dsgan.data.dsgan_data import DSGANDataset
from dsgan.data.sampling import StepSampler, step_loader
from dsgan.devices import resolve_device
from dsgan.losses.dsgan import DSGANLoss
from dsgan.metrics.blocking import batch_blockiness, min_side
from dsgan.models.codec import MACROBLOCK, jpeg_round_trip
from dsgan.models.dsgan import Discriminator, Generator, block_phase, generator_from_config
from dsgan.ops.resize import imresize
from dsgan.training import distributed as distrib
from dsgan.training.clip import AdaptiveClip
from dsgan.training.codec_step import frozen_batchnorm_stats, gate_delta, quality_slope
from dsgan.training.common import (
    FaultCounter,
    autocast,
    autocast_dtype,
    d_pair_logits,
    linear_decay,
    seed_everything,
    tune_backends,
)
from dsgan.training.freeze import FreezeMeter
from dsgan.training.health import HealthMonitor
from dsgan.training.loop import TrainLoop
from dsgan.training.rundir import RunDir

log = logging.getLogger(__name__)


def build_generator(cfg: DSGANConfig) -> Generator:
    return generator_from_config(cfg.model.model_dump())


def stage_parameters(g: Generator) -> list[torch.nn.Parameter]:
    """The physical stages' parameters (blur, sensor noise, codec gate), trained at
    ``optim.stage_lr``; the codec's quality is not among them (no autograd gradient)."""
    params: list[torch.nn.Parameter] = []
    for stage in (g.blur, g.sensor):
        if stage is not None:
            params += list(stage.parameters())
    if g.codec is not None and g.codec.gate_logit is not None:
        params.append(g.codec.gate_logit)
    return params


@torch.no_grad()
def stage_values(g: Generator) -> dict[str, torch.Tensor]:
    """What the stages learned, as 0-d tensors for the log: blur width (px), noise std at
    mid-grey (0..255, mean over channels), the codec's quality and gate."""
    out: dict[str, torch.Tensor] = {}
    if g.blur is not None:
        out["stage/blur_sigma"] = g.blur.sigma.detach()
    if g.sensor is not None:
        mid = torch.full((1, 3, 1, 1), 0.5, device=g.sensor.log_shot.device)
        out["stage/noise_mid"] = g.sensor.std(mid).mean() * 255
    if g.codec is not None:
        out["codec/quality"] = g.codec.quality.detach()
        if g.codec.gate_logit is not None:
            out["codec/gate"] = g.codec.gate.detach()
    return out


class DSGANTrainer(TrainLoop):
    """Trains G and D per ``cfg``; ``resume`` continues from the run's latest checkpoint."""

    desc = "dsgan train"
    kind = "dsgan"
    kind_name = "a DSGAN one"
    _fresh_ok = frozenset({"clip_g", "stage_freeze"})  # checkpoints of earlier versions lack them

    def __init__(
        self,
        cfg: DSGANConfig,
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
        self.data = DSGANDataset(cfg.data, on_error=on_error)
        mem = torch.channels_last if cfg.channels_last else torch.contiguous_format
        self.g = build_generator(cfg).to(self.device, memory_format=mem)
        d = Discriminator(channels=cfg.model.d_channels)
        if world_size > 1:  # BatchNorm statistics over the global batch, as with one process
            d = distrib.convert_sync_batchnorm(d, self.device)
        self.d = d.to(self.device, memory_format=mem)
        self.mem = mem
        self.g_run = self._wrap(self.g, cfg.compile)
        self.d_run = self._wrap(self.d, cfg.compile)
        lc = cfg.loss
        mean = distrib.global_mean if world_size > 1 else None  # RaGAN's, over all ranks
        self.loss = DSGANLoss(lc, mean).to(self.device)  # the objective (losses/dsgan.py)
        self.stage_params = stage_parameters(self.g)  # optim.stage_lr's group
        self.opt_g, self.opt_d, self.sched_g, self.sched_d = self._optimizers()
        self.clip = self._clipper()
        self._make_ema(self.g, cfg.ema)  # cfg.ema 0: none (training/loop.py)
        # diag/stage_freeze: is a stage's step shrunk by an old burst in Adam's second moment?
        self.freeze = FreezeMeter(self.stage_params, self.opt_g) if self.stage_params else None
        self.step = 0
        self._codec_off: bool | None = None  # a snapped gate's decision (_snap_gate)
        self.faults = FaultCounter()
        self.rollbacks: dict[str, int] = {}  # checkpoint name -> rollbacks to it
        self._start(resume)
        self.run = RunDir(cfg.out, cfg, active=rank == 0)
        self.health = (
            HealthMonitor(
                Path(cfg.out) / "health.json",
                cfg.iterations,
                watch_d=cfg.loss.gan != "wgan-gp",
                start_step=self.step,
            )
            if rank == 0
            else None
        )

    def _optimizers(self) -> tuple[Any, Any, Any, Any]:
        o = self.cfg.optim
        fused = self.device.type == "cuda"
        kw: dict[str, Any] = {"lr": o.lr, "betas": (o.beta1, o.beta2)}
        kw["fused" if fused else "foreach"] = True
        # the codec's quality logit has no autograd gradient: its own group, whose .grad the
        # step sets from a finite difference (training/codec_step.py)
        stages = self.stage_params
        staged = {id(p) for p in stages}
        body = [p for p in self.g.parameters() if p.requires_grad and id(p) not in staged]
        groups: list[dict[str, Any]] = [{"params": body}]
        if stages:  # the physical stages' few parameters: a larger step (optim.stage_lr)
            groups.append({"params": stages, "lr": o.stage_lr})
        if self.g.codec is not None:
            groups.append({"params": [self.g.codec.quality_logit], "lr": o.codec_lr})
        opt_g = torch.optim.Adam(groups, **kw)
        opt_d = torch.optim.Adam(self.d.parameters(), **kw)
        rule = linear_decay(self.cfg.iterations, o.decay_start)
        return (
            opt_g,
            opt_d,
            torch.optim.lr_scheduler.LambdaLR(opt_g, rule),
            torch.optim.lr_scheduler.LambdaLR(opt_d, rule),
        )

    def _clipper(self) -> AdaptiveClip | None:
        """``optim.clip_g``: G's network and its stages clipped apart (their gradients differ by
        orders of magnitude); the codec's quality follows its finite difference, unclipped."""
        o = self.cfg.optim
        if o.clip_g == 0:
            return None
        staged = {id(p) for p in self.stage_params}
        body = [p for p in self.g.parameters() if p.requires_grad and id(p) not in staged]
        return AdaptiveClip([body, self.stage_params], o.clip_g, o.clip_window)

    # ----------------------------------------------------------------- checkpoints
    def _stateful(self) -> dict[str, Any]:
        objs: dict[str, Any] = {
            "opt_g": self.opt_g,
            "opt_d": self.opt_d,
            "sched_g": self.sched_g,
            "sched_d": self.sched_d,
        }
        if self.clip is not None:
            objs["clip_g"] = self.clip
        if self.freeze is not None:
            objs["stage_freeze"] = self.freeze
        return objs

    # ----------------------------------------------------------------- the step
    def _prepare(self, hr_u8: torch.Tensor, real_u8: torch.Tensor) -> tuple[torch.Tensor, ...]:
        dev = self.device
        hr = hr_u8.to(dev, non_blocking=True).float().div_(255)
        real = real_u8.to(dev, non_blocking=True).float().div_(255)
        xb = imresize(hr, 1.0 / self.cfg.data.scale).clamp_(0, 1)
        return (xb.contiguous(memory_format=self.mem), real.contiguous(memory_format=self.mem))

    def _snap_gate(self) -> bool:
        """From ``optim.gate_snap`` of the run on, the codec's learned gate is hard
        (:meth:`~dsgan.models.codec.JPEGCodec.snap_gate`; in the EMA too) and no longer trained:
        True then. Reapplied every step, so a resumed run stays snapped."""
        frac = self.cfg.optim.gate_snap
        codec = self.g.codec
        if not frac or codec is None or codec.gate_logit is None:
            return False
        at = int(frac * self.cfg.iterations)
        if self.step < at:
            self._codec_off = None  # decided at the snap (again after a rollback before it)
            return False
        if self.step == at and self.rank == 0:
            log.info(
                "step %d: codec gate %.3f made hard (optim.gate_snap)",
                at,
                float(codec.gate.detach()),
            )
        codec.snap_gate()
        if self.ema is not None:
            self.ema.module.codec.snap_gate()
        if self._codec_off is None:  # once per process (one host sync), after a resume too
            self._codec_off = codec.is_off()
        return True

    @staticmethod
    def _grad_norms(params: list[torch.nn.Parameter]) -> torch.Tensor | None:
        """The L2 norm of each parameter's gradient, (P,), or None without gradients."""
        grads = [p.grad for p in params if p.grad is not None]
        return torch.stack(torch._foreach_norm(grads)) if grads else None

    def _finite(self, loss: torch.Tensor, norms: torch.Tensor | None) -> bool:
        """Loss and gradients (their ``_grad_norms``) finite on every rank: one host sync per
        network update."""
        ok = torch.isfinite(loss.detach())
        if norms is not None:
            ok = ok & torch.isfinite(norms).all()
        return bool(distrib.all_true(ok))

    def d_logits(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """D's float32 logits (N, 1, h, w) on real and fake high-passes (N, 3, h, w), in one
        batch or two per ``loss.d_batch`` (:func:`~dsgan.training.common.d_pair_logits`)."""
        return d_pair_logits(self.d_run, real, fake, self.cfg.loss.d_batch == "joint")

    def train_step(self, xb: torch.Tensor, real: torch.Tensor) -> dict[str, torch.Tensor] | None:
        """One D and one G update; returns the loss terms as detached 0-d tensors (no host sync;
        ``float()`` them when logging), or None if the step was skipped (non-finite)."""
        lc, dev = self.cfg.loss, self.device
        g, d = self.g_run, self.d_run
        hp = self.loss.d_input
        warm = self.step < self.cfg.optim.warmup_identity
        g_params = [p for p in self.g.parameters() if p.requires_grad]  # not the codec quality
        d_params = list(self.d.parameters())
        phase = None
        if self.cfg.model.block_period:  # a random grid offset per image: G must follow it
            p = self.cfg.model.block_period
            offsets = torch.randint(p, (xb.shape[0], 2))
            phase = block_phase(xb.shape[0], *xb.shape[2:], p, offsets, dev)
        snapped = self._snap_gate()
        # a codec snapped off changes G's output by about 1e-13: skipped, with its finite
        # difference (the codec costs 1.4-1.5x the step time on the CPU, docs/SPEED.md)
        skipped = snapped and bool(self._codec_off)
        codec = None if skipped else self.g.codec
        # the codec runs outside G's (DDP) call, so the finite difference can reuse G's output
        offset = (0, 0)
        if self.g.codec is not None:  # a random grid phase, as real crops have (drawn even
            # when the codec is skipped, so the random stream is the same as without the skip)
            oy, ox = torch.randint(MACROBLOCK, (2,)).tolist()
            offset = (oy, ox)
        xd_mean = pre_pair = None
        # gate_mode sample: each output coded (or not) whole, with probability the gate
        sampled = codec is not None and codec.gate_logit is not None and codec.gate_mode == "sample"
        draw = flip = None
        with autocast(dev, self.amp):
            pair = (lc.color_mean or lc.w_id > 0) and self.cfg.model.noise_channels > 0
            if pair and not warm:  # antithetic pair in one batch: G(x, n), G(x, -n)
                n = torch.randn(
                    xb.shape[0], self.cfg.model.noise_channels, *xb.shape[2:], device=dev
                )
                both = g(
                    torch.cat([xb, xb]),
                    torch.cat([n, -n]),
                    None if phase is None else torch.cat([phase, phase]),
                    codec_offset=None,
                )
                pre = both[: xb.shape[0]]
                pre_pair = both
                if sampled:  # one draw per image, shared by its antithetic twin
                    draw, coded = self._gate_draw(xb.shape[0]), self._coded(both, offset)
                    xd, xd_anti = torch.where(torch.cat([draw, draw]), coded, both).chunk(2)
                    flip = torch.where(draw, pre, coded[: xb.shape[0]])
                else:
                    xd, xd_anti = (both if codec is None else codec(both, offset)).chunk(2)
                xd_mean = 0.5 * (xd.float() + xd_anti.float())
            else:
                pre = g(xb, None, phase, codec_offset=None)
                if sampled:
                    draw, coded = self._gate_draw(xb.shape[0]), self._coded(pre, offset)
                    xd, flip = torch.where(draw, coded, pre), torch.where(draw, pre, coded)
                else:
                    xd = pre if codec is None else codec(pre, offset)
        if skipped:  # the gate stays in the graph with a zero gradient: DDP reduces one for
            # every parameter of G, and a rank without it would leave the others' unreduced
            xd = xd + 0.0 * self.g.codec.gate_logit.to(xd.dtype)  # type: ignore[union-attr]
        xd32 = xd.float()
        slope = gate_slope = block_real = None
        if self.g.codec is not None and min(real.shape[-2:]) >= min_side(8):
            with torch.no_grad():  # the real LR's block grid: logged, and loss.w_block's target
                block_real = batch_blockiness(real)
        out: dict[str, torch.Tensor] = {}
        if warm:
            loss_g = (xd32 - xb).abs().mean()
            out["loss/identity"] = loss_g
        else:
            with autocast(dev, self.amp):  # once: D's loss and G's texture loss
                real_hp = hp(real)  # also the codec's finite difference's
                d_real, d_fake = self.d_logits(real_hp, hp(xd))
            out.update(self.loss.discriminator(d_real, d_fake, lambda t: d(hp(t)), real, xd))
            loss_d = out["loss/d"]
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward(inputs=d_params, retain_graph=True)
            if not self._finite(loss_d, self._grad_norms(d_params)):
                return None
            out.update({"d/real": d_real.mean(), "d/fake": d_fake.mean()})
            if codec is not None:  # before D's update: the slope of the same loss
                # float32: under bf16 autocast, coded outputs two quality units apart would
                # differ by little more than bf16's rounding
                slope = self._quality_slope(
                    (pre_pair if lc.id_quality and pre_pair is not None else pre).detach().float(),
                    real_hp,
                    hp,
                    offset,
                    sampled,
                    block_real,
                    xb if lc.id_quality else None,
                )
                out["codec/slope"] = slope
            if draw is not None and flip is not None:  # also by the D before its update
                gate_slope = self._gate_slope(real_hp, hp, xd, flip, draw)
                out["codec/gate_slope"] = gate_slope
            # with color_mean, the colour of the noise-averaged output: the noise's own low-pass
            # leakage is not penalised (measured: it pushed G's noise to high frequencies)
            colour_of = xd32 if xd_mean is None or not lc.color_mean else xd_mean
            out.update(
                self.loss.generator(
                    xd,
                    colour_of,
                    xb,
                    d_fake,
                    d_real,
                    lambda: autocast(dev, self.amp),
                    xd32 if xd_mean is None else xd_mean,
                )
            )
            loss_g = out["loss/g"]
        if sampled:  # a sampled gate's gradient: its slope (none in the identity warm-up), the
            # value unchanged; in the graph either way, as DDP reduces every parameter of G
            gate = self.g.codec.gate  # type: ignore[union-attr]
            loss_g = loss_g + (gate - gate.detach()) * (0.0 if gate_slope is None else gate_slope)
        out["loss/g"] = loss_g
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward(inputs=g_params)
        if not warm:
            self.opt_d.step()  # after G's backward, which still needs D's current weights
        g_norms = self._grad_norms(g_params)
        if not self._finite(loss_g, g_norms):
            return None
        if slope is not None and codec is not None:
            codec.quality_logit.grad = torch.where(torch.isfinite(slope), slope, 0.0).reshape(())
        if snapped:  # a hard gate stays as it is (Adam skips a parameter without .grad)
            self.g.codec.gate_logit.grad = None  # type: ignore[union-attr]
        # diagnostics (docs/RESULTS.md, "Camera mixtures": bursts of large gradients would make
        # the stage parameters jump); G's from the norms the finiteness check computed
        if g_norms is not None:
            out["diag/grad_g"] = g_norms.norm()
        stage_norms = self._grad_norms(self.stage_params)
        if stage_norms is not None:
            out["diag/grad_stages"] = stage_norms.norm()
        if self.clip is not None and not warm:  # the logged norms above are the raw ones
            scale = self.clip.clip()
            if scale is not None:
                out["diag/clip_scale"] = scale.min()  # 1: nothing clipped this step
                out["diag/clipped_steps"] = self.clip.clipped.sum()  # so far, any group
        self.opt_g.step()
        if self.freeze is not None and not warm:
            frozen = self.freeze.ratio()
            if frozen is not None:
                out["diag/stage_freeze"] = frozen
        out.update(stage_values(self.g))
        with torch.no_grad():
            out["diag/rgb_shift"] = (xd32.mean((2, 3)) - xb.mean((2, 3))).abs().mean() * 255
            # how much G changes its input before any codec (noise included), grey levels: the
            # unpaired runs whose codec was fully on made twice a blend run's change and drove
            # the quality low to code it away (docs/RESULTS.md, "A sampled codec gate")
            out["diag/change"] = (pre.detach().float() - xb).abs().mean() * 255
            if block_real is not None:  # the block grid D should see: G's against the real
                out["diag/block_fake"] = batch_blockiness(xd32)
                out["diag/block_real"] = block_real
        return {k: v.detach() for k, v in out.items()}

    def _gate_draw(self, n: int) -> torch.Tensor:
        """(n, 1, 1, 1) bool: which of n outputs the sampled gate codes (each with probability
        g; drawn on the device, no host sync)."""
        gate = self.g.codec.gate.detach()  # type: ignore[union-attr]
        return torch.rand(n, 1, 1, 1, device=self.device) < gate

    def _coded(self, x: torch.Tensor, offset: tuple[int, int]) -> torch.Tensor:
        """x's ungated JPEG round trip at the codec's quality (gate_mode sample)."""
        return jpeg_round_trip(x, self.g.codec.quality, offset)  # type: ignore[union-attr]

    def _gate_slope(
        self,
        real_hp: torch.Tensor,
        hp: Any,
        xd: torch.Tensor,
        flip: torch.Tensor,
        draw: torch.Tensor,
    ) -> torch.Tensor:
        """Slope of G's expected adversarial loss in a sampled gate (``codec_step.gate_delta``),
        by the current D (BatchNorm running statistics untouched) on the outputs as drawn
        (``xd``) and with the draw flipped (``flip``), in one batch so that both are normalised
        alike; averaged over ranks."""
        with torch.no_grad(), frozen_batchnorm_stats(self.d), autocast(self.device, self.amp):
            fakes = hp(torch.cat([xd.detach(), flip.detach()]))
            d_real, d_fakes = self.d_logits(real_hp, fakes)
        d_mixed, d_flip = d_fakes.chunk(2)
        delta = gate_delta(
            lambda logits: self.loss.adv.generator(logits, d_real),
            d_mixed,
            d_flip,
            draw.flatten(),
        )
        return distrib.all_mean(delta)

    def _quality_slope(
        self,
        pre: torch.Tensor,
        real_hp: torch.Tensor,
        hp: Any,
        offset: tuple[int, int],
        ungated: bool = False,
        block_target: torch.Tensor | None = None,
        clean: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Slope of G's adversarial loss in the codec's quality logit (``codec_step``), by the
        current D (BatchNorm running statistics untouched), averaged over ranks. ``real_hp``: the
        step's real samples, already high-passed; ``pre``: G's output before the codec, (N, 3,
        h, w), or (2N, 3, h, w) for an antithetic pair G(x, n), G(x, -n) (D judges the first
        N); ``ungated``: the slope of the fully coded outputs (a sampled gate's coded ones); with
        ``loss.w_block``, plus that weight times the squared difference between the coded
        batch's blockiness and ``block_target`` (the real batch's, 0-d; None: no term); with
        ``clean`` (G's input x, (N, 3, h, w), ``loss.id_quality``), plus w_id / w_tex times the
        identity prior of the coded outputs (their pair mean's high-pass against x's)."""
        lc = self.cfg.loss
        target = block_target if lc.w_block > 0 else None
        n = pre.shape[0] if clean is None else clean.shape[0]

        def loss_of(coded: torch.Tensor) -> torch.Tensor:
            fake = coded[:n]
            with autocast(self.device, self.amp):
                d_real, d_fake = self.d_logits(real_hp, hp(fake))
            loss = self.loss.adv.generator(d_fake, d_real)
            if target is not None:
                loss = loss + lc.w_block * (batch_blockiness(fake) - target) ** 2
            if clean is not None:  # in units of the adversarial loss, as in G's loss
                mean = fake if coded.shape[0] == n else 0.5 * (fake + coded[n:])
                prior = (self.loss.highpass(mean) - self.loss.highpass(clean.float())).abs()
                loss = loss + lc.w_id / lc.w_tex * prior.mean()
            return loss

        assert self.g.codec is not None
        with frozen_batchnorm_stats(self.d):
            codec = self.g.codec
            code = jpeg_round_trip if ungated else codec.at
            slope = quality_slope(
                loss_of, pre, codec.quality_logit, self.cfg.optim.codec_delta, offset, code
            )
        return distrib.all_mean(slope)

    # ----------------------------------------------------------------- the loop
    def _loader(self) -> torch.utils.data.DataLoader:
        c = self.cfg
        sampler = StepSampler(
            len(self.data), c.batch_size, c.seed, self.step, c.iterations, self.rank, self.world
        )
        return step_loader(self.data, sampler, c.data.workers, self.device.type == "cuda")

    def _nets(self) -> dict[str, torch.nn.Module]:
        return {"g": self.g, "d": self.d}

    def _schedulers(self) -> list[Any]:
        return [self.sched_g, self.sched_d]

    def _total(self) -> int:
        return self.cfg.iterations

    def _oom_message(self) -> str:
        c = self.cfg
        return (
            f"out of memory on {self.device} with --batch-size {c.batch_size} and --crop "
            f"{c.data.crop} (LR pixels; x{c.data.scale} HR crops); use a smaller --crop or "
            "--batch-size (or --amp bf16) — see docs/SPEED.md for the memory each needs"
        )

    @torch.no_grad()
    def _save_samples(self, xb: torch.Tensor, real: torch.Tensor) -> None:
        if self.rank != 0:
            return
        g = self._inference_g()  # what the run exports: G's moving average if there is one
        g.eval()
        # on a forked RNG: drawing G's noise for the samples must not change the training stream
        # (a run extended with --resume then equals one trained straight through)
        cuda = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            xd = g(xb[:4]).float().clamp(0, 1)
        self.g.train()
        rows = []
        for i in range(xd.shape[0]):
            j = i % real.shape[0]
            rows.append(
                [
                    xb[i],
                    xd[i],
                    real[j],
                    self.loss.lowpass(xd[i : i + 1])[0],
                    (self.loss.highpass(xd[i : i + 1])[0] * 4 + 0.5),
                    (self.loss.highpass(real[j : j + 1])[0] * 4 + 0.5),
                ]
            )
        self.run.save_grid(self.step, rows)


def train(cfg: DSGANConfig, resume: bool = False, on_error: str = "skip") -> Path:
    """Train DSGAN per ``cfg``; returns the exported generator file."""
    return DSGANTrainer(cfg, resume=resume, on_error=on_error).train()
