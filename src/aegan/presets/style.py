"""Progressive growing and StyleGAN presets for Fashion-MNIST (Karras et al. 2018, 2019, 2020;
Géron 2nd ed. section 17.9), sized for a 2-core CPU: the 28x28 images are padded to 32x32
inside the networks. ``progan`` grows 4 -> 8 -> 16 -> 32; ``stylegan`` is StyleGAN 2, which
trains its skip generator at 32x32 from the start.

Sized by measured throughput on the project's 2-core machine: widths 64-64-32-16 from 4x4 up;
at one thread on a shared machine 10 epochs took about an hour, widths 128-128-64-32 ran at a
third of the speed (benchmarks/RESULTS.md, issue 22's sections).
"""

from aegan.presets.registry import register_preset

WIDTHS = [64, 64, 32, 16]  # 4x4, 8x8, 16x16, 32x32


def _growing(net: str, data: str = "fashion-mnist", epochs: int = 10, precision: str = "fp32",
             lr: float = 1e-3, **changes) -> dict:
    """By default one epoch of images (60,000) per phase (``progan`` takes 30,000,
    ``progan-cifar10`` 300,000): 4x4 stable, then per resolution a fade-in and a stable phase;
    smaller batches at the larger resolutions (from the Trainer's 128). Adam (0, 0.99) as both
    papers; the non-saturating loss with lazy R1 (gamma 0.01, every 16 D steps, stylegan2-ada's
    CIFAR setting), minibatch std, EMA of G."""
    model = {"family": "gan", "net": net, "z_dim": 64, "value_range": "symmetric",
             "loss": "bce", "g_channels": WIDTHS, "d_channels": WIDTHS,
             "minibatch_std": True, "ema": 0.999, "stable_images": 60000,
             "fade_images": 60000, "batch_sizes": [128, 128, 64, 64], "r1_weight": 0.01,
             "r1_interval": 16, **changes}
    return {"model": model, "data": {"name": data},
            "optim": {"name": "adam", "lr": lr, "betas": [0.0, 0.99]},
            "train": {"epochs": epochs, "batch_size": 128, "precision": precision}}


# Phases of 30,000 images leave most of the images for 32x32 after the growth (210,000 of them
# go to the schedule); with Adam at 2.5e-3 and bf16 this scored Inception FID 21.68 after 10
# epochs, 16.07 after 15 and 13.79 after 20 (10,000 samples against the 10,000 test images;
# about 39 minutes on two threads), where the earlier preset scored 55.0 and 'dcgan', with the
# same 1,100,000 images, 18.72 (benchmarks/RESULTS.md, "`progan` at 2.5e-3").
register_preset(
    "progan",
    "progressive growing of GANs for Fashion-MNIST padded to 32x32 on a CPU: 4 -> 32 with "
    "fade-ins (phases of 30,000 images), equalized learning rates, pixel norm, minibatch std, "
    "widths 64-64-32-16, non-saturating loss with lazy R1, Adam (0, 0.99) at 2.5e-3, EMA, bf16 "
    "autocast where the CPU has it, 20 epochs",
    _growing("progan", epochs=20, precision="auto", lr=2.5e-3, stable_images=30000,
             fade_images=30000))

# StyleGAN 2 drops progressive growing for the skip generator (Karras et al. 2020, section 4.1);
# stylegan2-ada's 'cifar' configuration also keeps the plain discriminator, turns style mixing
# off and trains at a learning rate of 2.5e-3. So does this preset. Measured by Inception FID,
# 10,000 samples against the 10,000 test images (benchmarks/RESULTS.md, "StyleGAN 2 without
# growth" and "at stylegan2-ada's learning rate"): grown, 40.9; without growth, 27.65; at
# 2.5e-3, 13.87 after 10 epochs and 11.48 after 15 (about 45 minutes on two threads).
STYLE2 = {"style": "modulated", "mapping_layers": 2, "style_mixing": 0.0, "fade_images": 0,
          "stable_images": 0, "g_architecture": "skip"}

register_preset(
    "stylegan",
    "StyleGAN 2 for Fashion-MNIST padded to 32x32 on a CPU: mapping network of 2 layers (lr "
    "x0.01), constant input, noise, modulated convolutions with demodulation, the skip "
    "generator at full size from the start (no growth), lazy R1, EMA, bf16 autocast where the "
    "CPU has it, Adam at 2.5e-3, 15 epochs: 'aegan generate RUN --truncation 0.7'",
    _growing("stylegan", epochs=15, precision="auto", lr=2.5e-3, **STYLE2))

# CIFAR-10 (downloaded by name, SHA-256 checked): 32x32 colour, no padding. Wider networks and,
# for progan, longer phases (300,000 images each; ProGAN used 800,000) for a GPU: about 2.1
# million images in the growth schedule, 60 epochs of 45,000 images in all.
CIFAR = {"data": "cifar10", "epochs": 60, "g_channels": [256, 256, 128, 64],
         "d_channels": [256, 256, 128, 64], "z_dim": 128, "stable_images": 300000,
         "fade_images": 300000}

register_preset(
    "progan-cifar10",
    "progressive growing on CIFAR-10 (32x32 colour, downloaded by name), sized for a GPU: "
    "widths 256-256-128-64, phases of 300,000 images, 60 epochs, ProGAN's learning rate 1e-3 "
    "in fp32; otherwise as 'progan'",
    _growing("progan", **CIFAR))

register_preset(
    "stylegan-cifar10",
    "StyleGAN 2 on CIFAR-10 (32x32 colour, downloaded by name), sized for a GPU: widths "
    "256-256-128-64, 128-D codings, 60 epochs; otherwise as 'stylegan' (no growth, 2.5e-3)",
    _growing("stylegan", lr=2.5e-3, **{**CIFAR, **STYLE2}))
