"""The sampling side of :class:`~aegan.models.diffusion.Diffusion`, a mixin: the options of one
sampling run, the network at sampling time (its moving average, its precision), and the
capabilities that sample (``sample``, ``trajectory``), move between codings (the initial noise:
``sample_codings``, ``interpolate``) and map images to codings and back (``encode``, ``decode``).
The loops themselves are the functions of :mod:`aegan.models.diffusion_sampling`. It reads what
the model's ``__init__`` sets: ``config``, ``net``, ``net_ema``, ``ab``, ``alphas_cumprod``,
``num_timesteps``, ``num_classes``, ``z_dim`` and ``sample_shape``."""

from __future__ import annotations

import contextlib

import torch

from aegan.config import ConfigError
from aegan.models import diffusion_sampling as ds
from aegan.models.base import evaluating

RANGE = (-1.0, 1.0)
# Images per sampling pass on a CPU: larger batches fall out of the cache (the ddpm preset's
# U-Net, one thread: 1.8 ms per image and pass at 64-128, 3.9 at 1024; benchmarks/RESULTS.md).
CPU_CHUNK = 128


class DiffusionGeneration:
    """Sampling, trajectories, codings and their inversion for a diffusion model."""

    # -- sampling options and the network at sampling time ----------------------------------
    def sampling_options(self, steps=None, sampler=None, eta=None, variance=None,
                         guidance=None, precision=None) -> ds.SamplingOptions:
        """The options of one sampling run: those given, else the config's; checked."""
        c = self.config
        precision = self._precision(precision)
        if sampler is not None and sampler not in ds.SAMPLERS:
            raise ConfigError(f"unknown --sampler {sampler!r}; choose one of {', '.join(ds.SAMPLERS)}")
        if variance is not None and variance not in ds.VARIANCES:
            raise ConfigError(f"unknown --variance {variance!r}; choose one of {', '.join(ds.VARIANCES)}")
        ds.check_options(c.timesteps, c.num_classes > 0, steps, eta, guidance)
        sampler = sampler or c.sampler
        if eta not in (None, 0, 0.0) and sampler != "ddim":
            raise ConfigError("--eta sets DDIM's noise; the ddpm sampler's is --variance")
        if variance is not None and sampler != "ddpm":
            raise ConfigError("--variance sets the ddpm sampler's noise; DDIM's is --eta")
        return ds.SamplingOptions(sampler, steps or c.sampling_steps or c.timesteps,
                               c.eta if eta is None else float(eta), variance or c.variance,
                               c.guidance if guidance is None else float(guidance), precision)

    def _precision(self, given: str | None) -> str:
        """The passes' precision, ``given`` or the config's: 'auto' is bf16 where the device
        computes it natively (as the Trainer's ``precision: auto``), else fp32; the samples of
        bf16 passes match fp32's in FID at 1.9x the speed on a CPU with AVX-512 BF16
        (benchmarks/RESULTS.md, "The ddpm preset's full run")."""
        from aegan.train.fast import native_bf16  # here: aegan.train imports the models

        if given is not None and given not in ds.PRECISIONS:
            raise ConfigError(f"unknown --precision {given!r}; choose one of "
                              f"{', '.join(ds.PRECISIONS)}")
        precision, device = given or self.config.sampling_precision, self._device()
        if precision == "auto":
            return "bf16" if native_bf16(device) else "fp32"
        if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ConfigError("this GPU does not compute bf16; sample with --precision fp32")
        return precision

    def _device(self) -> torch.device:
        return self.alphas_cumprod.device

    @contextlib.contextmanager
    def _sampling_net(self):
        """The network that samples (the moving average when there is one), in eval mode."""
        with evaluating(self.net_ema if self.net_ema is not None else self.net) as net:
            yield net

    @torch.no_grad()
    def denoise(self, x: torch.Tensor, t: torch.Tensor, labels=None) -> torch.Tensor:
        """The sampling network's raw output for noisy images ``x`` at timesteps ``t`` ``[N]``
        (what :meth:`schedule` says it predicts); ``labels`` ``[N]`` of a conditional model,
        ``num_classes`` meaning "no class". One network pass: what a sampler calls every step."""
        net = self.net_ema if self.net_ema is not None else self.net
        return net(x, t, labels)

    def schedule(self) -> dict:
        """What a sampler outside aegan needs beside :meth:`denoise`: the prediction's kind,
        T, the cumulative products of the alphas, whether x0 is clipped, the value range."""
        c = self.config
        return {"prediction": c.prediction, "timesteps": c.timesteps, "schedule": c.schedule,
                "alphas_cumprod": [float(a) for a in self.ab], "clip_x0": c.clip_x0,
                "value_range": list(RANGE), "num_classes": c.num_classes,
                "no_class_label": c.num_classes if c.num_classes else None}

    def _labels(self, n: int, labels) -> torch.Tensor | None:
        """``[n]`` classes of a conditional model (default: in turn); None when unconditional."""
        if not self.num_classes:
            return None
        if labels is None:
            return torch.arange(n, device=self._device()) % self.num_classes
        labels = torch.as_tensor(labels, dtype=torch.long, device=self._device())
        return labels.expand(n) if labels.dim() == 0 else labels

    def _no_class(self, n: int) -> torch.Tensor | None:
        return (torch.full((n,), self.num_classes, dtype=torch.long, device=self._device())
                if self.num_classes else None)

    def _predictor(self, net, labels: torch.Tensor | None, w: float,
                   precision: str = "fp32") -> ds.Predict:
        """``(x_t, t) -> (x0_hat, eps_hat)`` of ``net``, guided with scale ``w``, its passes in
        ``precision``."""
        clip = RANGE if self.config.clip_x0 else None
        bf16 = precision == "bf16"

        def run(x, steps, classes):
            with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
                return net(x, steps, classes).float()

        def predict(x: torch.Tensor, t: int):
            steps = torch.full((len(x),), t, dtype=torch.long, device=x.device)
            if labels is None or w == 1:
                out = run(x, steps, labels)
            elif w == 0:
                out = run(x, steps, self._no_class(len(x)))
            else:  # both in one batch: [conditional; unconditional]
                both = run(torch.cat([x, x]), torch.cat([steps, steps]),
                           torch.cat([labels, self._no_class(len(x))]))
                cond, uncond = both.chunk(2)
                out = uncond + w * (cond - uncond)
            return ds.x0_and_eps(self.config.prediction, out, x, float(self.ab[t]), clip)

        return predict

    @torch.no_grad()
    def _run(self, z: torch.Tensor, labels, o: ds.SamplingOptions, generator=None,
             on_step=None) -> torch.Tensor:
        x = z.reshape(len(z), *self.sample_shape).to(self._device())
        with self._sampling_net() as net:
            x = ds.sample_loop(self._predictor(net, labels, o.guidance, o.precision), x, self.ab,
                               ds.timesteps(self.num_timesteps, o.steps), o.sampler, o.eta,
                               o.variance, generator, on_step)
        return x.clamp(*RANGE)

    # -- the capabilities -------------------------------------------------------------------
    def sample_codings(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` initial noises ``x_T`` from ``N(0, I)``, flattened: ``[n, z_dim]``."""
        return torch.randn((n, self.z_dim), generator=generator)

    def traversal_base(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """One draw of the noise (its mean, 0, is no image the model was trained to denoise)."""
        return self.sample_codings(1, generator)[0]

    def interpolate(self, z_a: torch.Tensor, z_b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Noise between ``z_a`` and ``z_b`` along the great circle (:func:`~diffusion_sampling.slerp`)."""
        return ds.slerp(z_a, z_b, t)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, labels=None, *,
               steps=None, sampler=None, eta=None, variance=None, guidance=None,
               precision=None) -> torch.Tensor:
        """``n`` new images ``[n, *sample_shape]`` in [-1, 1] (see :class:`IterativeSampler`)."""
        o = self.sampling_options(steps, sampler, eta, variance, guidance, precision)
        z, labels = self.sample_codings(n, generator), self._labels(n, labels)
        # on a CPU in chunks of CPU_CHUNK images; all the noise is drawn first, so the chunks
        # change nothing in deterministic DDIM
        size = CPU_CHUNK if self._device().type == "cpu" else n
        return torch.cat([self._run(z[i:i + size], None if labels is None else labels[i:i + size],
                                    o, generator) for i in range(0, n, size)])

    @torch.no_grad()
    def trajectory(self, n: int, generator: torch.Generator | None = None, frames: int = 8,
                   labels=None, **options):
        """One sampling run at ``frames`` of its steps: the papers' ``t`` of each frame (T: the
        noise, 0: the samples) and the images ``[frames, n, *sample_shape]``."""
        o = self.sampling_options(**options)
        steps = ds.timesteps(self.num_timesteps, o.steps)
        z = self.sample_codings(n, generator)
        keep = {round(i * len(steps) / (frames - 1)) for i in range(1, frames)}
        seen, shown = [0], [(self.num_timesteps, z.reshape(n, *self.sample_shape))]

        def on_step(t: int, x: torch.Tensor) -> None:
            seen[0] += 1
            if seen[0] in keep:
                s = steps[seen[0]] + 1 if seen[0] < len(steps) else 0
                shown.append((s, x.clamp(*RANGE).cpu()))

        self._run(z, self._labels(n, labels), o, generator, on_step)
        return [s for s, _ in shown], torch.stack([x for _, x in shown])

    def _codings_options(self) -> ds.SamplingOptions:
        return ds.SamplingOptions("ddim", self.config.sampling_steps or self.num_timesteps, 0.0,
                               "small", 1.0, self._precision(None))

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        """Deterministic DDIM (eta 0, the config's steps) from the noise ``z`` ``[N, z_dim]``:
        ``[N, *sample_shape]`` in [-1, 1]; a conditional model without ``labels``: unguided,
        with no class."""
        labels = self._no_class(len(z)) if labels is None else self._labels(len(z), labels)
        return self._run(z, labels, self._codings_options())

    @torch.no_grad()
    def encode(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        """DDIM inversion (the config's steps): the noise ``[N, z_dim]`` that :meth:`decode`
        turns back into about ``x`` ``[N, *sample_shape]``."""
        labels = self._no_class(len(x)) if labels is None else self._labels(len(x), labels)
        o = self._codings_options()
        with self._sampling_net() as net:
            z = ds.invert_loop(self._predictor(net, labels, 1.0, o.precision),
                               x.to(self._device()), self.ab,
                               ds.timesteps(self.num_timesteps, o.steps))
        return z.flatten(1)
