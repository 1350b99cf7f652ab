"""What every model family provides: the step contract, the data it needs, and the
capabilities it declares.

**The step contract.** ``configure_optimizers(cfg) -> dict[name, Optimizer]``;
``training_step(batch, optimizers, step) -> dict[str, Tensor]``: the model computes its losses
on a :class:`~aegan.data.examples.Batch` (named roles: ``batch.inputs``, ``batch.targets``,
``batch.labels``, ``batch.conditions``), calls ``backward`` and steps its own optimizers, so one
Trainer drives an autoencoder, a VAE's two terms and a GAN's two players alike. It returns
detached scalar tensors, each the mean over the batch's examples, one per quantity it wants
logged; the Trainer averages them over the epoch (weighted by batch size) into
``train_<key>`` and the history. ``validation_step(batch)`` returns means of the same kind
without gradients (``valid_<key>``). The model names the one key the Trainer shows while it
trains, :attr:`Model.monitor` (``loss`` unless the family says otherwise: a GAN's is
``g_loss``). Families register themselves in :mod:`aegan.models` with their config dataclass.

**Data a model refuses.** :meth:`Model.needs` declares, from the config alone, what data the
family can learn from (kinds, value range, labels, roles); :meth:`Model.check_data` compares it
with an :class:`~aegan.data.examples.ExampleSpec` and raises :class:`~aegan.errors.DataMismatch`
naming the problem and the way out. :func:`aegan.models.build_model` calls it before building,
so every way of training (the command line, the library, scikit-learn) refuses the same data
the same way.

**Capabilities.** What a model can do besides training is one of the runtime-checkable
protocols below, each with its shapes and ranges. A family declares a capability by deriving
from the protocol (so a method of the same name never makes an accidental capability), and may
drop one its config turns off (:meth:`Model.capabilities`). Figures, metrics, tasks, the
command line and the fast paths ask :func:`can`; none probes for a method.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from aegan.config import OptimConfig
from aegan.data.examples import KINDS, Batch, ExampleSpec, kind_of
from aegan.errors import DataMismatch
from aegan.optim import make_optimizer

Step = Callable[[Batch, int], dict[str, torch.Tensor]]


# -- capabilities ----------------------------------------------------------------------------
@runtime_checkable
class Encoder(Protocol):
    """``encode(x [N, *sample_shape]) -> codings [N, z_dim]`` (a convolutional encoder's
    codings may be a feature map ``[N, C, h, w]``; flattened they have ``z_dim`` values)."""

    z_dim: int

    def encode(self, x: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Decoder(Protocol):
    """``decode(z [N, z_dim]) -> x [N, *sample_shape]``, in the model's ``value_range``."""

    z_dim: int

    def decode(self, z: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Reconstructor(Protocol):
    """``reconstruct(x [N, *sample_shape]) -> [N, *sample_shape]``: the model's rendering of
    its input (for an autoencoder trained on targets, its estimate of the targets)."""

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Denoiser(Protocol):
    """``corrupt(x) -> x~`` of the same shape: the noise the model learned to undo, as it is
    applied while training (random: seed the global generator to repeat it)."""

    def corrupt(self, x: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Sampler(Protocol):
    """``sample(n, generator=None) -> [n, *sample_shape]``: new examples in ``value_range``,
    drawn with ``generator`` (a CPU ``torch.Generator``) when one is given."""

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor: ...


@runtime_checkable
class LatentSampler(Decoder, Sampler, Protocol):
    """A sampler whose samples are decoded codings: ``sample_codings(n, generator) -> [n,
    z_dim]`` from its prior, ``decode`` them; ``traversal_base(generator) -> [z_dim]``: the
    coding a traversal holds the other dimensions at (the prior's mean unless the family says
    otherwise)."""

    def sample_codings(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor: ...

    def traversal_base(self, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.zeros(self.z_dim)

    def interpolate(self, z_a: torch.Tensor, z_b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Codings between ``z_a`` and ``z_b`` ``[..., z_dim]`` at fractions ``t`` ``[..., 1]``
        (0 gives ``z_a``, 1 ``z_b``): the straight line ``(1 - t) z_a + t z_b`` unless the
        family says otherwise (a diffusion model's noise: the great circle)."""
        return (1 - t) * z_a + t * z_b


@runtime_checkable
class ConditionalSampler(Sampler, Protocol):
    """``sample(n, generator, labels)``: examples of the classes ``labels`` (one label or
    ``[n]``, of ``0 .. num_classes - 1``); without labels, the classes in turn. One that is
    also a :class:`Decoder` decodes codings as examples of chosen classes:
    ``decode(z [N, z_dim], labels)`` (``labels`` as for ``sample``)."""

    num_classes: int

    def sample(self, n: int, generator: torch.Generator | None = None,
               labels: torch.Tensor | int | None = None) -> torch.Tensor: ...


@runtime_checkable
class TruncatedSampler(Sampler, Protocol):
    """The truncation trick (Karras et al. 2019, section 5.4 after Brock et al. 2019):
    ``sample(n, generator, truncation=psi)`` and ``decode(z, truncation=psi)`` draw w closer to
    the tracked mean of w, ``w_avg + psi (w - w_avg)``: 1 leaves w as it is, 0 gives the mean
    image for every coding."""

    def sample(self, n: int, generator: torch.Generator | None = None,
               truncation: float = 1.0) -> torch.Tensor: ...


@runtime_checkable
class StyleMixer(Protocol):
    """StyleGAN's intermediate space W (Karras et al. 2019): ``styles(z, truncation)`` maps
    codings to w ``[N, w_dim]`` and ``synthesize(w)`` draws their images, so lines and grids
    can be drawn in W; style mixing (section 3.1): ``mix_styles(z_a, z_b, layers,
    truncation)`` gives ``z_a``'s images with the styles of ``layers`` taken from ``z_b``,
    ``style_bands()`` names the layers of the coarse, middle and fine styles; ``vary_noise(z,
    generator, truncation)``: the images of ``z`` with other per-layer noise (section 3.2)."""

    def style_bands(self) -> dict[str, list[int]]: ...

    def mix_styles(self, z_a: torch.Tensor, z_b: torch.Tensor, layers: list[int],
                   truncation: float = 1.0) -> torch.Tensor: ...

    def styles(self, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor: ...

    def synthesize(self, w: torch.Tensor) -> torch.Tensor: ...

    def vary_noise(self, z: torch.Tensor, generator: torch.Generator,
                   truncation: float = 1.0) -> torch.Tensor: ...


@runtime_checkable
class Grower(Protocol):
    """A generator grown resolution by resolution (Karras et al. 2018): ``growth_timeline()``
    gives the samples of fixed codings recorded at the end of every resolution trained so far,
    and the current ones: ``(row labels, images [rows * n, *sample_shape])``."""

    def growth_timeline(self) -> tuple[list[str], torch.Tensor]: ...


@runtime_checkable
class IterativeSampler(Sampler, Protocol):
    """A sampler that turns noise into examples over steps (a diffusion model), with options
    chosen at sampling time. ``num_timesteps``: T, the steps of its noising process.

    ``sample(n, generator=None, labels=None, *, steps=None, sampler=None, eta=None,
    variance=None, guidance=None, precision=None) -> [n, *sample_shape]`` in ``value_range``:
    ``steps`` S, how many of the T timesteps the sampler visits (1 to T, from T - 1 down);
    ``sampler``
    ``"ddim"`` (``eta`` from 0, deterministic, to 1) or ``"ddpm"`` (ancestral, ``variance``
    ``"small"``, the posterior's, or ``"large"``, beta); ``guidance`` w, the scale of
    classifier-free guidance of a conditional model (0: unconditional, 1: conditional, more:
    stronger; an unconditional model refuses it); ``precision`` of the network's passes,
    ``"fp32"``, ``"bf16"`` (autocast) or ``"auto"`` (bf16 where the device computes it
    natively). ``labels`` as for a
    :class:`ConditionalSampler` (an unconditional model takes none). None keeps the model's
    default; a bad option raises :class:`~aegan.errors.ConfigError` before any work.

    ``trajectory(n, generator=None, frames=8, labels=None, **options) -> (timesteps, x)``:
    one sampling run seen at ``frames`` of its steps spread evenly, the last the samples:
    ``timesteps`` (the step each frame follows) and ``x`` ``[frames, n, *sample_shape]``.

    ``denoise(x_t, t, labels=None)``: one pass of the network that samples (what ``aegan
    export`` writes), and ``schedule() -> dict``: what it predicts and the noise schedule."""

    num_timesteps: int

    def sample(self, n: int, generator: torch.Generator | None = None, labels=None, *,
               steps: int | None = None, sampler: str | None = None, eta: float | None = None,
               variance: str | None = None, guidance: float | None = None) -> torch.Tensor: ...

    def trajectory(self, n: int, generator: torch.Generator | None = None, frames: int = 8,
                   labels=None, **options): ...

    def denoise(self, x: torch.Tensor, t: torch.Tensor, labels=None) -> torch.Tensor: ...

    def schedule(self) -> dict: ...


@runtime_checkable
class Likelihood(Protocol):
    """A latent-variable model's likelihood terms, in nats per example:
    ``elbo_terms(x, generator) -> (-log p(x|z) [N], KL(q(z|x) || p(z)) [N])`` and
    ``log_weights(x, k, generator) -> [k, N]``, ``log p(x, z_i) - log q(z_i | x)`` for ``k``
    draws of ``q(z|x)`` (importance sampling)."""

    def elbo_terms(self, x: torch.Tensor, generator: torch.Generator | None = None): ...

    def log_weights(self, x: torch.Tensor, k: int,
                    generator: torch.Generator | None = None) -> torch.Tensor: ...


@runtime_checkable
class Labeller(Protocol):
    """``predict(x [N, *sample_shape]) -> labels [N]`` (int64), the most probable class."""

    def predict(self, x: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Translator(Protocol):
    """``translate(x [N, *input_shape]) -> [N, *target_shape]``: an image-to-image model's
    output for its input (super-resolution, colorization, sketch to image), in
    ``value_range``."""

    def translate(self, x: torch.Tensor) -> torch.Tensor: ...

    def input_problem(self, shape: tuple[int, ...]) -> str | None:
        """None when the model takes inputs of ``shape`` ``[C, H, W]``, else a sentence that
        says why not and names the shapes it takes (default: it takes any)."""
        return None


@runtime_checkable
class Predictor(Protocol):
    """``predict_frames(context [N, T_in, *frame], steps) -> [N, steps, *frame]``: the frames
    that follow the context, in ``value_range`` (rolled out beyond the trained horizon by
    feeding predictions back)."""

    def predict_frames(self, context: torch.Tensor, steps: int) -> torch.Tensor: ...


# capability -> its name in `aegan presets --json` ("can") and in messages
CAPABILITIES: dict[type, str] = {
    Encoder: "encode", Decoder: "decode", Reconstructor: "reconstruct", Denoiser: "denoise",
    Sampler: "sample", LatentSampler: "sample-codings", ConditionalSampler: "sample-class",
    IterativeSampler: "sample-steps", TruncatedSampler: "truncate", StyleMixer: "mix-styles",
    Grower: "grow", Likelihood: "likelihood",
    Labeller: "classify", Translator: "translate", Predictor: "predict",
}


@contextlib.contextmanager
def evaluating(module: nn.Module):
    """Within the block ``module`` is in evaluation mode; its mode is restored after."""
    was = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was)


def can(model, capability: type) -> bool:
    """Whether ``model`` (an instance) declares ``capability`` and its config leaves it on."""
    return capability in model.capabilities(model.config)


# -- the data a family needs ------------------------------------------------------------------
@dataclass(frozen=True)
class Needs:
    """What data a model can learn from. ``value_range``: the range its inputs and targets must
    lie in (image data are scaled into it when loaded; None: any values); ``remedy``: what to
    change for data outside it. ``labels``: it trains on labels (and, when ``num_classes`` >
    0, on labels below it); ``labels_remedy``: what to do without them, ``kinds_remedy``
    with data of another kind. ``roles``: the roles it cannot learn without; ``optional``: those
    it uses when the data have them. Data with targets it would not use are refused rather
    than silently ignored (labels and conditions may go unused)."""

    kinds: tuple[str, ...] = tuple(KINDS)
    value_range: tuple[float, float] | None = None
    remedy: str = ""
    labels: bool = False
    labels_remedy: str = "give labelled data"
    kinds_remedy: str = ""
    num_classes: int = 0
    roles: tuple[str, ...] = ("inputs",)
    optional: tuple[str, ...] = ()


class Model(nn.Module):
    """Base class of the model families. ``config`` is the family's config dataclass, ``spec``
    the data it is built for (:class:`~aegan.data.examples.ExampleSpec`, or a shape of the
    inputs as a shorthand)."""

    family: str = ""
    monitor: str = "loss"  # the training_step key the Trainer shows while it trains
    # True when training_step may be captured in a CUDA graph and replayed (aegan.train.fast):
    # the same kernels every step (shapes, control flow and Python scalars such as ``step``
    # do not change it), random numbers from the default generator only.
    step_capturable: bool = False

    def __init__(self, config, spec: ExampleSpec | tuple[int, ...]):
        super().__init__()
        self.config = config
        self.spec = spec if isinstance(spec, ExampleSpec) else self.spec_for(config, spec)
        self.sample_shape = self.spec.inputs
        self.value_range = self.spec.value_range  # of its inputs and outputs; None: unbounded

    # -- what the family can do and learn from -------------------------------------------
    @classmethod
    def capabilities(cls, config) -> tuple[type, ...]:
        """The capabilities the family declares (the protocols it derives from); a family
        whose config can turn one off overrides this."""
        return tuple(c for c in CAPABILITIES if c in cls.__mro__)

    @classmethod
    def needs(cls, config) -> Needs:
        """What data the family can learn from, given its config (default: anything)."""
        return Needs()

    @classmethod
    def spec_for(cls, config, shape: tuple[int, ...]) -> ExampleSpec:
        """The spec of data of inputs of ``shape`` as the family needs them (its value range,
        labels when it learns from them): a shorthand for building a model by shape."""
        needs = cls.needs(config)
        shape = tuple(int(n) for n in shape)
        shapes = {"inputs": shape, **({"labels": ()} if needs.labels else {})}
        return ExampleSpec(kind_of(len(shape)), shapes, needs.value_range or (0.0, 1.0),
                           needs.num_classes if needs.labels else 0)

    @classmethod
    def check_data(cls, config, spec: ExampleSpec) -> None:
        """Refuse data this model cannot learn from: a :class:`DataMismatch` that names the
        problem and the way out. Families with further demands extend it."""
        needs, shape = cls.needs(config), list(spec.inputs)
        if spec.kind not in needs.kinds:
            raise DataMismatch(f"this {cls.family} model learns from {' or '.join(needs.kinds)}"
                               f", and these data hold {spec.kind} of shape {shape}"
                               + (f"; {needs.kinds_remedy}" if needs.kinds_remedy else ""))
        missing = [r for r in needs.roles if r not in spec.shapes]
        if missing:
            raise DataMismatch(f"a {cls.family} model learns from {missing[0]}, and these data "
                               "have none; pair inputs with targets (data.pairs, data.derive "
                               "or an .npz with a 'targets' array)")
        if "targets" in spec.shapes and "targets" not in needs.roles + needs.optional:
            raise DataMismatch(f"a {cls.family} model learns from its inputs alone, and these "
                               "data pair inputs with targets; use an autoencoder (which "
                               "learns to output the targets) or drop the targets")
        if needs.value_range is not None and spec.value_range != needs.value_range:
            lo, hi = needs.value_range
            have = ("unbounded values" if spec.value_range is None
                    else f"values in {list(spec.value_range)}")
            raise DataMismatch(f"this {cls.family} model needs values in [{lo:g}, {hi:g}], and "
                               f"these data have {have}; {needs.remedy}")
        if needs.labels and not spec.num_classes:
            raise DataMismatch(f"this {cls.family} model trains on labelled data, and these "
                               f"data have no labels; {needs.labels_remedy}")
        if needs.labels and needs.num_classes and spec.num_classes > needs.num_classes:
            raise DataMismatch(f"these data have labels up to {spec.num_classes - 1}, outside "
                               f"the model's {needs.num_classes} classes; set "
                               f"model.num_classes to {spec.num_classes}")

    # -- the step contract ----------------------------------------------------------------
    def configure_optimizers(self, cfg: OptimConfig) -> dict[str, torch.optim.Optimizer]:
        return {"model": make_optimizer(self.parameters(), cfg)}

    def training_step(self, batch: Batch, optimizers: dict[str, torch.optim.Optimizer],
                      step: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    @torch.no_grad()
    def validation_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    @staticmethod
    def minimize(losses: dict[str, torch.Tensor], optimizer: torch.optim.Optimizer,
                 key: str = "loss") -> dict[str, torch.Tensor]:
        """One optimizer step on ``losses[key]``; returns every loss detached, for the log."""
        optimizer.zero_grad(set_to_none=True)
        losses[key].backward()
        optimizer.step()
        return {k: v.detach() for k, v in losses.items()}

    def external_networks(self) -> tuple[str, ...]:
        """Trained networks the model's training reads but does not own, by name, which the
        caller builds and hands in with :meth:`attach_network` before training (the library's
        ``train`` and ``resume`` do): ``"classifier"`` is the data set's classifier, trained
        on its labels (a perceptual loss on its features). They are not part of the model's
        weights. None by default."""
        return ()

    def attach_network(self, name: str, network: nn.Module) -> None:
        """Hand in the network ``name`` of :meth:`external_networks` (frozen, in eval mode)."""
        raise KeyError(f"a {self.family} model reads no external network {name!r}")

    def pretraining_stages(self) -> list[Any]:
        """Trainings that run before the model's own, each a Trainer run (greedy layer-wise
        pretraining, :mod:`aegan.models.greedy`); none by default."""
        return []

    def closed_form_step(self, optimizers: dict[str, torch.optim.Optimizer],
                         fold_sgd: bool) -> Step | None:
        """The speed path of ``train.closed_form`` (:mod:`aegan.models.closed_form`): a
        callable ``(batch, step) -> losses`` that does what ``training_step`` does with the
        gradients computed in closed form, or None (the default: autograd). ``fold_sgd``:
        plain SGD's update may be folded into the gradient products (no optimizer hooks
        run). A subclass that changes ``training_step`` must override this too."""
        return None
