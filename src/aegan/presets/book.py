"""The book's models as presets: Géron, *Hands-On Machine Learning with Scikit-Learn, Keras and
TensorFlow*, 2nd ed., chapter 17, with the hyper-parameters of its code.

Keras details that matter for matching its numbers are kept: Glorot-uniform initial weights,
zero biases, the loss averaged over every value, the last partial batch included.
"""

from aegan.presets.registry import register_preset


def _fashion(model: dict, lr: float, epochs: int) -> dict:
    """The notebook's common frame: Fashion-MNIST, SGD, batch 32, binary cross-entropy."""
    return {"model": {"family": "autoencoder", **model}, "data": {"name": "fashion-mnist"},
            "optim": {"name": "sgd", "lr": lr}, "train": {"epochs": epochs, "batch_size": 32}}


register_preset(
    "book/linear-pca",
    "section 17.2: Dense(2) encoder and Dense(3) decoder, MSE, SGD lr 0.1, 20 epochs",
    {"model": {"family": "autoencoder", "encoder": [2], "activation": "linear",
               "output": "linear", "loss": "mse"},
     "data": {"name": "book-3d"}, "optim": {"name": "sgd", "lr": 0.1},
     "train": {"epochs": 20, "batch_size": 32}})

register_preset(
    "book/stacked",
    "section 17.3: 784-100-30 SELU stacked autoencoder, BCE, SGD lr 1.5, 20 epochs",
    _fashion({"encoder": [100, 30], "activation": "selu", "output": "sigmoid", "loss": "bce"},
             1.5, 20))

register_preset(
    "book/tied",
    "section 17.4: 784-100-30 with the decoder using the encoder's transposed weights, "
    "SGD lr 1.5, 10 epochs",
    _fashion({"encoder": [100, 30], "tied": True}, 1.5, 10))

register_preset(
    "book/greedy",
    "section 17.4: 784-100-784 (BCE, SGD 1.5), then 100-30-100 on its codings (MSE, SGD 0.05), "
    "10 epochs each; stacked and fine-tuned (SGD 0.1, 10 epochs)",
    _fashion({"encoder": [100, 30],
              "greedy": [{"epochs": 10, "optim": {"name": "sgd", "lr": 1.5}},
                         {"epochs": 10, "optim": {"name": "sgd", "lr": 0.05}}]}, 0.1, 10))

register_preset(
    "book/conv",
    "section 17.5: Conv 16/32/64 (3x3 SELU, 2x2 max-pool) to 3x3x64 codings, three "
    "transposed convolutions back, SGD lr 1.0, 5 epochs",
    _fashion({"net": "conv", "encoder": [16, 32, 64]}, 1.0, 5))

register_preset(
    "book/recurrent",
    "section 17.5: LSTM(100) -> LSTM(30) encoder, repeated 28 times -> LSTM(100) -> per-row "
    "Dense(28, sigmoid); rows as time steps, SGD lr 0.1, 10 epochs",
    _fashion({"net": "recurrent", "encoder": [100, 30], "decoder": [100]}, 0.1, 10))

register_preset(
    "book/denoising-gaussian",
    "section 17.6: Gaussian noise (sigma 0.2) on the inputs while training, 784-100-30, "
    "SGD lr 1.0, 10 epochs",
    _fashion({"encoder": [100, 30], "input_noise": 0.2}, 1.0, 10))

register_preset(
    "book/denoising-dropout",
    "section 17.6: dropout (0.5) on the inputs while training, 784-100-30, SGD lr 1.0, "
    "10 epochs",
    _fashion({"encoder": [100, 30], "input_dropout": 0.5}, 1.0, 10))

register_preset(
    "book/sparse-l1",
    "section 17.7: 300 sigmoid codings with an L1 activity penalty (1e-3), SGD lr 1.0, "
    "10 epochs",
    _fashion({"encoder": [100, 300], "coding_activation": "sigmoid", "sparsity": "l1",
              "sparsity_weight": 1e-3}, 1.0, 10))

# Keras divides an activity regularizer's value by the batch size; the book's weight of 0.05
# on batches of 32 is therefore 0.05 / 32 on aegan's batch-independent penalty.
register_preset(
    "book/sparse-kl",
    "section 17.7: 300 sigmoid codings with the KL sparsity penalty (target 0.1, weight 0.05 "
    "as Keras applies it), SGD lr 1.0, 10 epochs",
    _fashion({"encoder": [100, 300], "coding_activation": "sigmoid", "sparsity": "kl",
              "sparsity_weight": 0.05 / 32, "sparsity_target": 0.1}, 1.0, 10))

register_preset(
    "book/hashing",
    "exercise 17.11: 784-100 SELU, Gaussian noise (sigma 15), 16 sigmoid codings that "
    "saturate to bits; SGD lr 1.0, 10 epochs",
    _fashion({"encoder": [100, 16], "coding_activation": "sigmoid", "coding_noise": 15.0},
             1.0, 10))

# The book's loss: per-pixel binary cross-entropy plus the latent loss averaged over the batch
# and divided by 784, which is the VAE's loss (its kl_weight 1) per value. RMSprop with Keras'
# defaults (lr 1e-3, rho 0.9, eps 1e-7).
register_preset(
    "book/vae",
    "section 17.8: 784-150-100 SELU -> 10-D Gaussian codings, mirrored decoder with a sigmoid "
    "output; BCE + KL / 784, RMSprop, batch 128, 25 epochs",
    {"model": {"family": "vae", "encoder": [150, 100], "z_dim": 10, "activation": "selu",
               "likelihood": "bernoulli"},
     "data": {"name": "fashion-mnist"},
     "optim": {"name": "rmsprop", "lr": 1e-3, "rho": 0.9, "eps": 1e-7},
     "train": {"epochs": 25, "batch_size": 128}})


def _book_gan(model: dict) -> dict:
    """The notebook's GAN frame: Fashion-MNIST, both players compiled with RMSprop at Keras'
    defaults (lr 1e-3, rho 0.9, eps 1e-7), batch 32, ``train_gan``'s default of 50 epochs."""
    return {"model": {"family": "gan", **model}, "data": {"name": "fashion-mnist"},
            "optim": {"name": "rmsprop", "lr": 1e-3, "rho": 0.9, "eps": 1e-7},
            "train": {"epochs": 50, "batch_size": 32}}


register_preset(
    "book/gan",
    "section 17.9: dense GAN, 30-D codings, G 100-150-784 SELU with a sigmoid output, "
    "D 150-100-1; BCE, RMSprop, batch 32, images in [0, 1], 50 epochs",
    _book_gan({"net": "dense", "z_dim": 30, "value_range": "unit", "loss": "bce"}))

register_preset(
    "book/dcgan",
    "section 17.9: the book's DCGAN (5x5 kernels, BN and SELU in G, LeakyReLU and dropout 0.4 "
    "in D), 100-D codings, images in [-1, 1], BCE, RMSprop, batch 32, 50 epochs",
    _book_gan({"net": "book-dcgan", "z_dim": 100, "value_range": "symmetric", "loss": "bce"}))
