"""Next-frame prediction presets: Moving MNIST, 10 frames in, 10 out (OpenSTL's benchmark,
Tan et al. 2023), sized for a two-core CPU (benchmarks/RESULTS.md, "Next-frame prediction").

``simvp``: the SimVP-style forecaster, narrower than OpenSTL's (a 16-wide encoder, a 64-wide
translator of 4 ConvNeXt blocks); ``convlstm``: two ConvLSTM cells of 32 on 4x4 blocks (OpenSTL
runs four of 128), trained with scheduled sampling over its first 3,000 of 6,250 steps (OpenSTL's
ConvLSTM samples over its first 50,000 iterations). Both with Adam 1e-3 decayed to 0 by a
cosine schedule, batch 16. The SimVP presets train with ``precision`` auto: bf16 autocast where
the device computes it natively (their pilot: the same MSE per frame, 1.34x faster on an AVX-512
BF16 CPU); the ConvLSTM, whose cell state runs through 20 steps, stays in fp32.
``simvp-adversarial`` adds the clip discriminator (loss adversarial + MSE, lambda_adv 0.01).
``simvp-wide``: the best CPU recipe measured, ``simvp`` with a 256-wide translator (OpenSTL's are
256-512 wide) for 42 epochs, sized to train in under three hours on two CPU threads, predicting
pixels below 0.1 as 0 (``model.floor``, chosen on the validation sequences after the full run:
the sigmoid never outputs the empty background's exact 0, which SSIM punishes; the floor does
not enter the loss).
"""

from aegan.presets.registry import register_preset

FRAMES_10_10 = {"name": "moving-mnist", "derive": {"name": "frames", "context": 10, "horizon": 10}}


def _run(model: dict, epochs: int, precision: str = "fp32") -> dict:
    return {"model": {"family": "forecaster", "context": 10, "horizon": 10, **model},
            "data": dict(FRAMES_10_10), "optim": {"name": "adam", "lr": 1e-3, "schedule": "cosine"},
            # validation in batches of 32: 1,024 clips of 20 frames at once take ~9 GB
            "train": {"epochs": epochs, "batch_size": 16, "valid_batch_size": 32,
                      "precision": precision}}


SIMVP = {"net": "simvp", "hid_s": 16, "hid_t": 64, "n_s": 4, "n_t": 4}

register_preset(
    "simvp",
    "next-frame prediction, Moving MNIST 10 -> 10: a SimVP-style convolutional forecaster "
    "(encoder, ConvNeXt translator over stacked frames, decoder), MSE",
    _run(SIMVP, epochs=10, precision="auto"))

register_preset(
    "convlstm",
    "next-frame prediction, Moving MNIST 10 -> 10: ConvLSTM encoder-forecaster (Shi et al. "
    "2015), two cells of 32 on 4x4 blocks, MSE, scheduled sampling over 3,000 steps",
    _run({"net": "convlstm", "hidden": [32, 32], "kernel": 5, "patch": 4,
          "scheduled_sampling": 3000}, epochs=10))

register_preset(
    "simvp-adversarial",
    "the simvp preset with a clip discriminator on (context, future): adversarial + MSE "
    "(lambda_adv 0.01), sharper frames at some MSE",
    _run({**SIMVP, "lambda_adv": 0.01, "d_channels": 16}, epochs=10, precision="auto"))

register_preset(
    "simvp-wide",
    "the simvp preset with a 256-wide translator for 42 epochs (about 2.7 hours on two CPU "
    "threads with bf16) and predicted pixels below 0.1 set to 0: the best next-frame "
    "forecaster measured on a CPU",
    _run({**SIMVP, "hid_t": 256, "floor": 0.1}, epochs=42, precision="auto"))
