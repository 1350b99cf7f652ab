"""Next-frame prediction (Géron ch. 17 names it among the uses of generative models): a
forecaster reads ``context`` frames and predicts the ``horizon`` that follow, trained on the
``frames`` derived pairs (:mod:`aegan.data.derive`) of image sequences such as Moving MNIST.

One family, two networks (:mod:`aegan.nets.forecast`): ``net: convlstm``, the ConvLSTM
encoder-forecaster of Shi et al. 2015, and ``net: simvp``, a SimVP-style convolutional
forecaster (Gao et al. 2022). They share everything but the network: the data they learn from,
the loss, the adversarial option, the roll-out and the metrics, so they are one family.

The loss is the mean squared error of the predicted frames (``mse``, per pixel; ``mse_frame``
is the same error summed over a frame's pixels, OpenSTL's "MSE per frame", Tan et al. 2023).
With ``lambda_adv > 0`` a clip discriminator (a PatchGAN, :class:`aegan.nets.translation.PatchGAN`,
on the context and the future stacked on channels) judges (context, true future) against
(context, predicted future), and the forecaster learns on ``lambda_adv * adversarial +
lambda_mse * MSE`` through the frozen discriminator, as pix2pix does for images; ``lambda_adv
0`` is the plain regression model, with no discriminator. ``lambda_ssim > 0`` adds
``lambda_ssim * (1 - SSIM)`` of the predicted frames (:func:`aegan.nets.ssim.ssim_per_image`,
the metric's SSIM) to the regression part.

Roll-out: :meth:`Forecaster.predict_frames` predicts any number of steps. The ConvLSTM keeps
reading its own predictions; SimVP predicts ``horizon`` frames at a time and reads the last
``context`` frames of what it has (context and predictions) for the next.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch

from aegan.config import ConfigError, OptimConfig, is_int, is_number
from aegan.errors import DataError, DataMismatch
from aegan.models.base import Model, Needs, Predictor, evaluating
from aegan.models.gan import frozen
from aegan.models.gan_losses import LOSSES
from aegan.models.registry import register_model
from aegan.nets.forecast import READOUTS, ConvLSTMNet, SimVPNet
from aegan.nets.ssim import SSIM_WINDOW, ssim_per_image
from aegan.nets.translation import PatchGAN, patch_layers
from aegan.optim import make_optimizer

NETS = ("convlstm", "simvp")
FRAMES_REMEDY = ('cut the sequences into context and future with data.derive {"name": '
                 '"frames", "context": C, "horizon": H}')


@dataclass
class ForecasterConfig:
    """A forecaster of ``horizon`` frames from ``context``. ConvLSTM: ``hidden`` (the cells'
    widths), ``kernel``, ``patch`` (the side of the blocks stacked on channels). SimVP:
    ``hid_s`` (the encoder's width), ``hid_t`` (the translator's), ``n_s`` (encoder layers,
    every second from the first halving the side), ``n_t`` (translator blocks).
    ``lambda_adv`` > 0 adds the clip discriminator (``d_channels`` wide, ``loss`` one of the
    GAN losses but wgan-gp). ``scheduled_sampling`` (ConvLSTM): training steps over which the
    probability that a predicted step reads the true previous frame instead of its own
    prediction falls linearly from 1 to 0 (0: always its own, as at prediction time).
    ``readout``: ``sigmoid`` (the frames in [0, 1] by construction) or ``linear`` (SimVP's and
    OpenSTL's; the loss reads the raw output, predictions are clipped to [0, 1]). ``floor``:
    predicted pixels below it are set to 0 (0: off), for data whose background is exactly 0,
    which a sigmoid never reaches and SSIM's small constant counts heavily; choose it on
    validation sequences."""

    family: str = "forecaster"
    net: str = "simvp"
    context: int = 10
    horizon: int = 10
    hidden: list[int] = field(default_factory=lambda: [64, 64])
    kernel: int = 5
    patch: int = 4
    hid_s: int = 16
    hid_t: int = 128
    n_s: int = 4
    n_t: int = 4
    lambda_adv: float = 0.0
    lambda_mse: float = 1.0
    lambda_ssim: float = 0.0  # > 0: + lambda_ssim * (1 - SSIM of the predicted frames)
    loss: str = "bce"
    d_channels: int = 32
    g_lr: float = 1.0  # multipliers of optim.lr for each player
    d_lr: float = 1.0
    scheduled_sampling: int = 0
    readout: str = "sigmoid"
    floor: float = 0.0

    def __post_init__(self) -> None:
        for key, choices in (("net", NETS), ("loss", tuple(k for k in LOSSES if k != "wgan-gp")),
                             ("readout", tuple(READOUTS))):
            if getattr(self, key) not in choices:
                raise ConfigError(f"unknown model.{key} {getattr(self, key)!r}; choose one of "
                                  f"{', '.join(choices)}")
        for key in ("context", "horizon", "kernel", "patch", "hid_s", "hid_t", "n_s",
                    "d_channels"):
            if not is_int(getattr(self, key)) or getattr(self, key) < 1:
                raise ConfigError(f"model.{key} must be a positive whole number, got "
                                  f"{getattr(self, key)!r}")
        if not is_int(self.scheduled_sampling) or self.scheduled_sampling < 0:
            raise ConfigError(f"model.scheduled_sampling is a number of training steps >= 0, "
                              f"got {self.scheduled_sampling!r}")
        if self.scheduled_sampling and self.net != "convlstm":
            raise ConfigError(f"model.scheduled_sampling feeds a recurrent net its true frames; "
                              f"net {self.net!r} predicts the horizon at once: set it to 0")
        if not is_int(self.n_t) or self.n_t < 0:
            raise ConfigError(f"model.n_t must be a whole number >= 0, got {self.n_t!r}")
        if (not isinstance(self.hidden, list) or not self.hidden
                or not all(is_int(h) and h >= 1 for h in self.hidden)):
            raise ConfigError(f"model.hidden must list the ConvLSTM cells' widths, such as "
                              f"[64, 64], got {self.hidden!r}")
        if self.kernel % 2 == 0:
            raise ConfigError(f"model.kernel must be odd (the frames keep their size), got "
                              f"{self.kernel}")
        for key in ("lambda_adv", "lambda_mse", "lambda_ssim"):
            if not is_number(getattr(self, key)) or getattr(self, key) < 0:
                raise ConfigError(f"model.{key} must be a number >= 0, got {getattr(self, key)!r}")
        if self.lambda_mse == 0 and self.lambda_adv == 0 and self.lambda_ssim == 0:
            raise ConfigError("model.lambda_mse, model.lambda_adv and model.lambda_ssim are "
                              "all 0: nothing to learn; set model.lambda_mse 1")
        if not is_number(self.floor) or not 0 <= self.floor < 1:
            raise ConfigError(f"model.floor is the level below which predicted pixels are set "
                              f"to 0, in [0, 1); got {self.floor!r}")
        if not all(is_number(v) and v > 0 for v in (self.g_lr, self.d_lr)):
            raise ConfigError("model.g_lr and model.d_lr multiply optim.lr and must be positive")


@register_model("forecaster", ForecasterConfig)
class Forecaster(Model, Predictor):
    """Context frames to the frames that follow, by a ConvLSTM stack or a SimVP network."""

    family = "forecaster"
    monitor = "mse_frame"

    @classmethod
    def needs(cls, config: ForecasterConfig) -> Needs:
        return Needs(("image-sequences",), (0.0, 1.0),
                     "drop data.scale: frames are in [0, 1] as loaded",
                     roles=("inputs", "targets"),
                     kinds_remedy="a forecaster reads image sequences [T, C, H, W] (a .npy of "
                                  "[N, T, H, W] with data.kind image-sequences, or moving-mnist)")

    @classmethod
    def spec_for(cls, config: ForecasterConfig, shape):
        spec = super().spec_for(config, shape)
        return dataclasses.replace(spec, shapes={**spec.shapes,
                                                 "targets": (config.horizon, *spec.inputs[1:])})

    @classmethod
    def check_data(cls, config: ForecasterConfig, spec) -> None:
        if spec.kind == "image-sequences" and "targets" not in spec.shapes:
            raise DataMismatch(f"a forecaster learns from context frames and the frames that "
                               f"follow, and these data are whole sequences; {FRAMES_REMEDY}")
        super().check_data(config, spec)
        inputs, targets = spec.inputs, spec.shapes["targets"]
        if (inputs[0], targets[0]) != (config.context, config.horizon):
            raise DataMismatch(f"this forecaster reads {config.context} frames and predicts "
                               f"{config.horizon}, and these data pair {inputs[0]} with "
                               f"{targets[0]}; set model.context and model.horizon, or "
                               "data.derive's context and horizon, to agree")
        if inputs[1:] != targets[1:]:
            raise DataMismatch(f"context frames {list(inputs[1:])} and future frames "
                               f"{list(targets[1:])} differ in shape")
        side = config.patch if config.net == "convlstm" else 2 ** ((config.n_s + 1) // 2)
        if inputs[2] % side or inputs[3] % side:
            what = (f"model.patch {side}" if config.net == "convlstm"
                    else f"model.n_s {config.n_s} ({(config.n_s + 1) // 2} halvings)")
            raise DataMismatch(f"frames of {inputs[2]}x{inputs[3]} cannot be cut by {what}; "
                               f"choose one whose side divides the frames'")
        if config.lambda_ssim and min(inputs[2:]) < SSIM_WINDOW:
            raise DataMismatch(f"model.lambda_ssim needs frames of at least {SSIM_WINDOW}x"
                               f"{SSIM_WINDOW} (SSIM's window), and these are {inputs[2]}x"
                               f"{inputs[3]}; set model.lambda_ssim 0")

    def __init__(self, config: ForecasterConfig, spec):
        super().__init__(config, spec)
        c = config
        self.frame_shape = tuple(self.spec.inputs[1:])  # [C, H, W]
        channels = self.frame_shape[0]
        if c.net == "convlstm":
            self.net = ConvLSTMNet(channels, list(c.hidden), c.kernel, c.patch, c.readout)
        else:
            self.net = SimVPNet(channels, c.context, c.horizon, c.hid_s, c.hid_t, c.n_s, c.n_t,
                                c.readout)
        self.discriminator = None
        if c.lambda_adv > 0:
            clip = (c.context + c.horizon) * channels
            self.discriminator = PatchGAN(clip, patch_layers(min(self.frame_shape[1:])),
                                          c.d_channels, 8 * c.d_channels, "batch")
        self.loss_d, self.loss_g = LOSSES[c.loss]
        if c.scheduled_sampling:  # training steps taken, for the schedule (and exact resume)
            self.register_buffer("steps_taken", torch.zeros((), dtype=torch.long))

    # -- forecasting ------------------------------------------------------------------------
    def forecast(self, context: torch.Tensor, steps: int) -> torch.Tensor:
        """``[N, context, C, H, W] -> [N, steps, C, H, W]`` with gradients (training mode
        as it is): the network, rolled out by ``horizon`` frames at a time for SimVP."""
        if self.config.net == "convlstm":
            return self.net(context, steps)
        frames, have = [], context
        while sum(f.shape[1] for f in frames) < steps:
            frames.append(self.net(have[:, -self.config.context:]))
            have = torch.cat([have, self.finish(frames[-1])], dim=1)  # reads what it predicts
        return torch.cat(frames, dim=1)[:, :steps]

    def finish(self, frames: torch.Tensor) -> torch.Tensor:
        """The network's output as the forecaster predicts it: clipped to [0, 1] (readout
        ``linear``) and pixels below ``floor`` set to 0."""
        if self.config.readout != "sigmoid":
            frames = frames.clamp(0.0, 1.0)
        if self.config.floor:
            frames = frames.masked_fill(frames < self.config.floor, 0.0)
        return frames

    def input_problem(self, shape: tuple[int, ...]) -> str | None:
        """None when the model reads context clips of ``shape`` ``[T, C, H, W]``; else why not."""
        t, frame = self.config.context, list(self.frame_shape)
        if len(shape) != 4 or list(shape[1:]) != frame:
            return (f"this forecaster reads frames of shape {frame} [C, H, W], not "
                    f"{list(shape[1:]) if len(shape) == 4 else list(shape)}")
        if shape[0] < t:
            return f"this forecaster reads {t} context frames, and {shape[0]} were given"
        return None

    @torch.no_grad()
    def predict_frames(self, context: torch.Tensor, steps: int) -> torch.Tensor:
        """The ``steps`` frames that follow the last ``context`` frames of ``context``
        ``[N, T >= context, C, H, W]``, in [0, 1], in eval mode."""
        problem = self.input_problem(tuple(context.shape[1:]))
        if problem:
            raise DataError(problem)
        weight = next(self.net.parameters())
        with evaluating(self):
            clip = context[:, -self.config.context:].to(weight.device, weight.dtype)
            return self.finish(self.forecast(clip, int(steps)))

    # -- losses -----------------------------------------------------------------------------
    @staticmethod
    def errors(predicted: torch.Tensor, truth: torch.Tensor) -> dict[str, torch.Tensor]:
        """``mse`` per pixel and ``mse_frame``, the squared error summed over a frame's pixels,
        both averaged over frames and sequences."""
        mse = (predicted - truth).square()
        return {"mse": mse.mean(), "mse_frame": mse.flatten(2).sum(2).mean()}

    def clip(self, context: torch.Tensor, future: torch.Tensor) -> torch.Tensor:
        """The discriminator's input: the frames of both stacked on channels."""
        both = torch.cat([context, future], dim=1)  # [N, T_in + T_out, C, H, W]
        return both.flatten(1, 2)

    def configure_optimizers(self, cfg: OptimConfig) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        optimizers = {"forecaster": make_optimizer(self.net.parameters(),
                                                   dataclasses.replace(cfg, lr=cfg.lr * c.g_lr))}
        if self.discriminator is not None:
            optimizers["discriminator"] = make_optimizer(
                self.discriminator.parameters(), dataclasses.replace(cfg, lr=cfg.lr * c.d_lr))
        return optimizers

    def _pair(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        if batch.targets is None:
            raise DataError(f"a forecaster trains on context frames paired with the frames "
                            f"that follow; {FRAMES_REMEDY}")
        return batch.inputs, batch.targets

    def _discriminator_losses(self, x, y, fake) -> dict[str, torch.Tensor]:
        real = self.discriminator(self.clip(x, y)).flatten(1)
        made = self.discriminator(self.clip(x, fake.detach())).flatten(1)
        return {"d_loss": self.loss_d(real, made, 1.0), "d_real": real.mean().detach(),
                "d_fake": made.mean().detach()}

    def regression_losses(self, fake: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """The errors of :meth:`errors`, with ``ssim`` (the mean over predicted frames, in
        float32) when ``lambda_ssim`` > 0, and ``loss``: ``lambda_mse * mse + lambda_ssim *
        (1 - ssim)``."""
        c = self.config
        out = self.errors(fake, y)
        out["loss"] = c.lambda_mse * out["mse"]
        if c.lambda_ssim:
            out["ssim"] = ssim_per_image(fake.flatten(0, 1).float(), y.flatten(0, 1).float()).mean()
            out["loss"] = out["loss"] + c.lambda_ssim * (1 - out["ssim"])
        return out

    def _forecaster_losses(self, x, y, fake) -> dict[str, torch.Tensor]:
        c = self.config
        out = self.regression_losses(fake, y)
        total = out["loss"]
        if self.discriminator is not None:
            out["g_adv"] = self.loss_g(self.discriminator(self.clip(x, fake)).flatten(1))
            total = total + c.lambda_adv * out["g_adv"]
        out["loss"] = total
        return out

    def training_step(self, batch, optimizers, step):
        """Predict the horizon (reading true frames by the schedule of
        ``scheduled_sampling``); a discriminator step on real and predicted clips (with
        ``lambda_adv``); a forecaster step on ``lambda_mse * MSE (+ lambda_adv * adv)``."""
        x, y = self._pair(batch)
        out = {}
        if self.config.scheduled_sampling:
            p_true = max(0.0, 1.0 - int(self.steps_taken) / self.config.scheduled_sampling)
            fake = self.net(x, y.shape[1], y, p_true)
            self.steps_taken += 1
            out["p_true"] = torch.tensor(p_true)
        else:
            fake = self.forecast(x, y.shape[1])
        if self.discriminator is not None:
            out.update(self.minimize(self._discriminator_losses(x, y, fake),
                                     optimizers["discriminator"], key="d_loss"))
            with frozen(self.discriminator):
                g = self.minimize(self._forecaster_losses(x, y, fake), optimizers["forecaster"])
        else:
            g = self.minimize(self._forecaster_losses(x, y, fake), optimizers["forecaster"])
        return {**g, **out}

    @torch.no_grad()
    def validation_step(self, batch):
        x, y = self._pair(batch)
        # what the forecaster predicts, clipped and floored; no adversarial term
        return self.regression_losses(self.finish(self.forecast(x, y.shape[1])), y)

