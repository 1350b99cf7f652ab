"""Every model gets the same checks from one parametrized test, plus its own numeric ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles

from aegan import api
from aegan.config import OptimConfig, RunConfig
from aegan.io import load_run, save_model, write_json
from aegan.models import AutoencoderConfig, VAEConfig, build_model
from aegan.presets import PRESETS, get_preset

# (model config, sample shape): one entry per model family / variant to check.
MODEL_CASES = {
    "linear": (AutoencoderConfig(encoder=[2], activation="linear", output="linear", loss="mse"), (3,)),
    "stacked": (AutoencoderConfig(encoder=[16, 4]), (1, 8, 8)),
    "stacked-mse": (AutoencoderConfig(encoder=[16, 4], loss="mse", decoder=[8, 12]), (6,)),
    "tied": (AutoencoderConfig(encoder=[16, 4], tied=True), (1, 8, 8)),
    "conv": (AutoencoderConfig(net="conv", encoder=[4, 8]), (1, 12, 12)),
    "conv-colour-odd": (AutoencoderConfig(net="conv", encoder=[4, 8, 8]), (3, 14, 14)),
    "recurrent": (AutoencoderConfig(net="recurrent", encoder=[8, 4], decoder=[8]), (1, 6, 5)),
    "recurrent-seq": (AutoencoderConfig(net="recurrent", encoder=[6], loss="mse", output="linear"), (7, 3)),
    "denoising": (AutoencoderConfig(encoder=[16, 4], input_noise=0.2, input_dropout=0.3), (1, 8, 8)),
    "sparse-kl": (AutoencoderConfig(encoder=[16, 20], coding_activation="sigmoid", sparsity="kl",
                                    sparsity_weight=0.1), (1, 8, 8)),
    "hashing": (AutoencoderConfig(encoder=[16, 6], coding_activation="sigmoid", coding_noise=4.0), (1, 8, 8)),
    "vae": (VAEConfig(encoder=[16, 8], z_dim=3), (1, 8, 8)),
    "vae-conv": (VAEConfig(net="conv", encoder=[4, 8], z_dim=3), (1, 12, 12)),
    "vae-gaussian-learned-sigma": (VAEConfig(encoder=[8], z_dim=2, likelihood="gaussian",
                                             output="linear", learn_sigma=True, sigma=0.5), (6,)),
    "iwae-binarized": (VAEConfig(encoder=[16], z_dim=3, iw_samples=4, binarize=True), (1, 8, 8)),
}


def _batch(shape, n=5, seed=0):
    return (torch.rand((n, *shape), generator=torch.Generator().manual_seed(seed)),)


@pytest.mark.parametrize("name", MODEL_CASES)
def test_model_contract(name):
    config, shape = MODEL_CASES[name]
    torch.manual_seed(0)
    model = build_model(config, shape)
    batch = _batch(shape)
    # shapes
    z = model.encode(batch[0])
    assert z.shape[:2] == (5, model.z_dim)
    assert model.decode(z).shape == batch[0].shape == model.reconstruct(batch[0]).shape
    # one step changes every parameter and reports a finite loss
    before = [p.detach().clone() for p in model.parameters()]
    opts = model.configure_optimizers(OptimConfig("sgd", lr=0.1))
    torch.manual_seed(1)  # noise layers draw from the global generator
    out = model.training_step(batch, opts, 0)
    assert torch.isfinite(out["loss"])
    assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters()))
    # seeded determinism: same seed, same weights, same step
    torch.manual_seed(0)
    twin = build_model(config, shape)
    twin_opts = twin.configure_optimizers(OptimConfig("sgd", lr=0.1))
    torch.manual_seed(1)
    twin.training_step(batch, twin_opts, 0)
    for a, b in zip(model.parameters(), twin.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", MODEL_CASES)
def test_save_load_round_trip(name, tmp_path):
    """Weights written by save_model come back bit for bit through load_run."""
    config, shape = MODEL_CASES[name]
    torch.manual_seed(0)
    model = build_model(config, shape)
    model.training_step(_batch(shape), model.configure_optimizers(OptimConfig("sgd", lr=0.1)), 0)
    run = RunConfig(model=config, sample_shape=shape)
    write_json(tmp_path / "config.json", run.to_dict())
    save_model(tmp_path, model)
    _, loaded = load_run(tmp_path)
    assert loaded.state_dict().keys() == model.state_dict().keys()
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    probe = _batch(shape, seed=1)[0]
    assert torch.equal(model.eval().reconstruct(probe), loaded.reconstruct(probe))


def test_every_preset_builds():
    for name in PRESETS:
        config = get_preset(name)
        assert config.preset == name
        assert config.to_dict()["model"]["family"]


def test_linear_pca_preset_reaches_pca(tmp_path):
    """`linear-pca` trains to PCA's optimum and finds PCA's plane (principal angles < 1°)."""
    run_dir = api.train(get_preset("linear-pca"), tmp_path / "run", progress=False)
    result = api.evaluate(run_dir)
    assert result["pca_ratio"] <= 1.001
    _, model = load_run(run_dir)
    decoder_w = model.decoder[0][0].weight.detach().double().numpy()  # [3, 2]: the plane's span
    from sklearn.decomposition import PCA

    from aegan.data import load_dataset

    pca = PCA(2).fit(load_dataset("book-3d").x_train.astype(np.float64))
    angles = np.degrees(subspace_angles(decoder_w, pca.components_.T))
    assert angles.max() < 1.0, angles


def test_book_linear_pca_runs_as_written(tmp_path):
    """The book's recipe (SGD 0.1, 20 epochs, batch 32) runs; its ratio is reported as is."""
    config = get_preset("book/linear-pca")
    assert (config.optim.name, config.optim.lr, config.train.epochs, config.train.batch_size) == \
        ("sgd", 0.1, 20, 32)
    run_dir = api.train(config, tmp_path / "run", progress=False)
    result = api.evaluate(run_dir)
    assert result["pca_ratio"] >= 1.0 - 1e-9  # PCA is optimal: nothing linear beats it


def test_bce_is_keras_binary_crossentropy():
    """The model's loss on logits equals Keras' sigmoid-then-BCE (mean over every value),
    computed here by hand."""
    torch.manual_seed(0)
    model = build_model(AutoencoderConfig(encoder=[3]), (4,))
    logits, x = torch.randn(2, 4), torch.rand(2, 4)
    p = torch.sigmoid(logits)
    by_hand = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).mean()
    torch.testing.assert_close(model.reconstruction_loss(logits, x), by_hand)
