"""Image-to-image presets: super-resolution, sketch to image and colorization on derived pairs
(:mod:`aegan.data.derive`), and pix2pix's recipe for any folder of image pairs.

Each is sized to train in under an hour on two CPU cores (benchmarks/RESULTS.md,
"Image-to-image translation"). Every one has an L1-only twin: the same config with
``model.lambda_adv`` 0, the regression baseline its GAN is measured against
(``benchmarks/translation.py`` trains both).
"""

from aegan.presets.registry import register_preset

# pix2pix's optimizer (Isola et al. 2017, section 3.3): Adam, lr 2e-4, beta1 0.5
PIX2PIX_ADAM = {"name": "adam", "lr": 2e-4, "betas": [0.5, 0.999]}


def _run(model: dict, data: dict, epochs: int, batch_size: int) -> dict:
    return {"model": {"family": "translator", **model}, "data": data, "optim": PIX2PIX_ADAM,
            "train": {"epochs": epochs, "batch_size": batch_size}}


def _sr(factor: int, epochs: int) -> dict:
    data = {"name": "fashion-mnist",
            "derive": {"name": "downscale", "factor": factor, "method": "bicubic"}}
    model = {"generator": "srresnet", "g_channels": 32, "blocks": 4, "d_channels": 32}
    return _run(model, data, epochs=epochs, batch_size=64)


register_preset(
    "sr4-fashion",
    "super-resolution x4: Fashion-MNIST 7x7 -> 28x28 (bicubic downscale), SRGAN's residual "
    "generator (32 wide, 4 blocks), PatchGAN, adversarial + 100 L1",
    _sr(4, epochs=8))

register_preset(
    "sr2-fashion",
    "super-resolution x2: Fashion-MNIST 14x14 -> 28x28, SRGAN's residual generator (32 wide, 4 "
    "blocks), PatchGAN, adversarial + 100 L1",
    _sr(2, epochs=5))  # its trunk works at 14x14: an epoch costs about twice sr4's

register_preset(
    "edges2fashion",
    "sketch to image: Canny edges of Fashion-MNIST -> the item (edges2shoes on data that ships "
    "here), U-Net, PatchGAN, adversarial + 100 L1",
    _run({"generator": "unet", "g_channels": 64, "g_max_channels": 256, "d_channels": 32},
         {"name": "fashion-mnist", "derive": {"name": "edges", "sigma": 1.0}},
         epochs=12, batch_size=64))

register_preset(
    "colorize",
    "colorization in Lab: the L channel -> the a and b channels (Zhang et al. 2016, pix2pix), "
    "U-Net on random 64x64 crops of the photographs that ship with scikit-image and "
    "scikit-learn, two held out whole",
    _run({"generator": "unet", "g_channels": 32, "g_max_channels": 256, "d_channels": 32},
         {"name": "photos", "derive": {"name": "grayscale", "mode": "lab"}},
         epochs=60, batch_size=16))

register_preset(
    "pix2pix",
    "pix2pix's recipe (Isola et al. 2017) for any folder of image pairs: U-Net 64-512, 70x70 "
    "PatchGAN at 256 px, adversarial + 100 L1, Adam 2e-4 (0.5), batch 1, 200 epochs; --data DIR "
    "with data.pairs, or facades",
    _run({"generator": "unet"}, {"name": "facades"}, epochs=200, batch_size=1))
