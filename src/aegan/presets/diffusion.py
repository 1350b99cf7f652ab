"""Diffusion presets: the third edition's (``book/diffusion``) and aegan's own, sized for a
CPU (``ddpm``, ``ddpm-cond``); the choices are measured in benchmarks/RESULTS.md, "Diffusion"."""

from aegan.presets.registry import register_preset

# Validation batches of 128, not 1024: a U-Net's activations for 1024 images fall out of a CPU's
# cache, and the pass costs 2.3x more per image (benchmarks/RESULTS.md, "Diffusion").
VALID_BATCH = 128

# The notebook: X scaled to [-1, 1]; t uniform over the T steps; the noise predicted with Keras'
# Huber loss (delta 1); Nadam at Keras' defaults (lr 1e-3, eps 1e-7); no moving average; samples
# by the DDPM update with sigma^2 = beta_t (the "large" variance) and the predicted image not
# clipped. Its sampling loop starts at its t = T - 1 (1-based) and so skips the first of the T
# steps; aegan's starts at the first (0-based T - 1).
register_preset(
    "book/diffusion",
    "3rd ed. chapter 17: the small U-Net (separable convolutions, batch norm, residual skips, "
    "64-D time encoding), cosine schedule T = 4000, Huber loss, Nadam, batch 32, 100 epochs, "
    "ancestral sampling",
    {"model": {"family": "diffusion", "net": "book-unet", "time_dim": 64, "schedule": "cosine",
               "timesteps": 4000, "prediction": "eps", "loss": "huber", "huber_delta": 1.0,
               "ema": 0.0, "clip_x0": False, "sampler": "ddpm", "variance": "large",
               "sampling_steps": None},
     "data": {"name": "fashion-mnist"},
     "optim": {"name": "nadam", "lr": 1e-3, "eps": 1e-7},
     "train": {"epochs": 100, "batch_size": 32, "valid_batch_size": VALID_BATCH}})


def _ddpm(**changes) -> dict:
    """Ho et al.'s recipe (MSE, Adam, EMA) with a U-Net and a schedule sized for a CPU, predicting
    v (Salimans & Ho 2022) rather than the noise; DDIM at 50 steps samples by default. Chosen by
    pilots and full runs (benchmarks/RESULTS.md, "Diffusion"): v took the 20-epoch run's FID from
    25.68 (noise prediction) to 13.94, 40 epochs took it to 10.76 (2.8 hours on two threads;
    with min-SNR-5 loss weights, ``snr_gamma`` 5, 11.22, so they stay off),
    Adam at 1e-3 learns far faster than Ho et al.'s 2e-4 on this small network, bf16 autocast
    trains 1.7x faster on this machine's CPU (AVX-512 BF16) at the same loss (so precision auto:
    bf16 where the device computes it natively, else fp32), and NCHW convolutions are faster
    than channels-last for this U-Net on the CPU."""
    model = {"family": "diffusion", "net": "unet", "channels": [32, 64, 64], "blocks": 1,
             "attention": [7], "dropout": 0.1, "schedule": "cosine", "timesteps": 1000,
             "prediction": "v", "loss": "mse", "ema": 0.999, "sampler": "ddim",
             "sampling_steps": 50, "eta": 0.0}
    return {"model": {**model, **changes}, "data": {"name": "fashion-mnist"},
            "optim": {"name": "adam", "lr": 1e-3, "schedule": "cosine"},
            "train": {"epochs": 40, "batch_size": 128, "precision": "auto",
                      "channels_last": "off", "valid_batch_size": VALID_BATCH}}


register_preset(
    "ddpm",
    "a DDPM for Fashion-MNIST on a CPU: U-Net 32-64-64 with attention at 7x7, cosine schedule "
    "T = 1000, v prediction, MSE, Adam 1e-3 with a cosine decay, EMA, bf16 autocast, 40 "
    "epochs; DDIM at 50 steps",
    _ddpm())

register_preset(
    "ddpm-cond",
    "the ddpm preset conditioned on the class (label dropout 0.1 for classifier-free guidance, "
    "guidance 2 by default): 'aegan generate RUN --label L', 'aegan augment'",
    _ddpm(num_classes=10, label_dropout=0.1, guidance=2.0))
