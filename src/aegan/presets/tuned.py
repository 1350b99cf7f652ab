"""aegan's own presets: the same models with settings chosen by measurement."""

from aegan.presets.registry import register_preset

# Full-batch Adam with a cosine decay: the 60 points make the loss a smooth quadratic-like
# surface, and the decay removes the last of Adam's jitter around the optimum.
register_preset(
    "linear-pca", "the book's linear autoencoder with settings that reach PCA's optimum",
    {"model": {"family": "autoencoder", "encoder": [2], "activation": "linear",
               "output": "linear", "loss": "mse"},
     "data": {"name": "book-3d"}, "optim": {"name": "adam", "lr": 0.02, "schedule": "cosine"},
     "train": {"epochs": 1000, "batch_size": 60}})

register_preset(
    "stacked-digits",
    "a small stacked autoencoder (64-32-8) for scikit-learn's digits: the demo's",
    {"model": {"family": "autoencoder", "encoder": [32, 8], "activation": "selu",
               "output": "sigmoid", "loss": "bce"},
     "data": {"name": "digits"}, "optim": {"name": "adam", "lr": 3e-3, "schedule": "cosine"},
     "train": {"epochs": 60, "batch_size": 32}})

register_preset(
    "vae-digits",
    "a small VAE (64-32 SELU, 4-D codings) for scikit-learn's digits: samples in seconds",
    {"model": {"family": "vae", "encoder": [64, 32], "z_dim": 4, "activation": "selu"},
     "data": {"name": "digits"}, "optim": {"name": "adam", "lr": 3e-3, "schedule": "cosine"},
     "train": {"epochs": 60, "batch_size": 32}})

# Chosen by pilot runs on a 2-core CPU at equal wall time, against the IWAE paper's 200-200
# tanh net and importance-weighted training; 200 epochs rather than 100 (the numbers:
# benchmarks/RESULTS.md, "VAE").
register_preset(
    "vae-binarized-mnist",
    "a VAE for likelihoods in nats on binarized MNIST: 784-512-512 ELU -> 50-D codings, "
    "dynamic binarization, Adam with a cosine decay, 200 epochs",
    {"model": {"family": "vae", "encoder": [512, 512], "z_dim": 50, "activation": "elu",
               "binarize": True},
     "data": {"name": "binarized-mnist"},
     "optim": {"name": "adam", "lr": 1e-3, "schedule": "cosine"},
     "train": {"epochs": 200, "batch_size": 100}})


def _dcgan(g_channels: list[int], d_channels: list[int], epochs: int,
           betas: tuple[float, float] = (0.5, 0.999), **changes) -> dict:
    """A DCGAN for Fashion-MNIST in [-1, 1] sized for a CPU: G ``g_channels`` maps (7x7 ->
    14x14 -> 28x28), D ``d_channels``, 4x4 stride-2 kernels; Adam 2e-4 (Radford et al. 2016),
    generator EMA 0.999, batch 64."""
    model = {"family": "gan", "net": "dcgan", "z_dim": 64, "value_range": "symmetric",
             "loss": "bce", "g_channels": g_channels, "d_channels": d_channels, "ema": 0.999}
    return {"model": {**model, **changes}, "data": {"name": "fashion-mnist"},
            "optim": {"name": "adam", "lr": 2e-4, "betas": list(betas)},
            "train": {"epochs": epochs, "batch_size": 64}}


def _small_dcgan(**changes) -> dict:
    """G 64 -> 32, D 32 -> 64, 25 epochs: half the maps of the dcgan preset's networks."""
    return _dcgan([64, 32], [32, 64], 25, **changes)


# Chosen by measurement (benchmarks/RESULTS.md, GANs): these widths for 20 epochs beat
# G 64-32 / D 32-64 for 25 on Inception FID, and BCE beat the hinge loss with spectral
# normalisation on classifier FID.
register_preset(
    "dcgan", "a DCGAN for Fashion-MNIST on a CPU: G 128-64, D 64-128 maps, non-saturating BCE, "
    "Adam 2e-4 (0.5, 0.999), EMA 0.999 of G, 20 epochs",
    _dcgan([128, 64], [64, 128], 20))

register_preset(
    "wgan-gp", "a small DCGAN (G 64-32, D 32-64) as a Wasserstein GAN with gradient penalty "
    "(weight 10, no BN in the critic, 2 critic steps), Adam 2e-4 (0.5, 0.9), EMA, 25 epochs",
    _small_dcgan(betas=(0.5, 0.9), loss="wgan-gp", gp_weight=10.0, n_critic=2))

register_preset(
    "cgan", "a conditional small DCGAN (G 64-32, D 32-64) for Fashion-MNIST (one-hot label "
    "into G, projection in D), BCE, Adam 2e-4 (0.5, 0.999), EMA, 25 epochs: 'aegan generate "
    "RUN --label L', 'aegan augment'",
    _small_dcgan(num_classes=10))
