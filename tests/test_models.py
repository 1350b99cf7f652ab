"""Every registered model family gets the same checks from one parametrized test: shapes by
capability, one step changes every parameter, seeded determinism, a save/load round trip and
exact resume. A family is checked by being registered and given a case here (a registered
family without one fails ``test_every_family_has_cases``); its own numeric checks live in
its own test file."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles

from aegan import api
from aegan.config import OptimConfig, TrainConfig
from aegan.data import Examples, ExampleSpec
from aegan.data.examples import Batch
from aegan.io import load_run, save_model, write_json
from aegan.models import (CAPABILITIES, MODELS, AutoencoderConfig, ClassifierConfig,
                          ConditionalSampler, Decoder, DiffusionConfig, Encoder, ForecasterConfig,
                          GANConfig, Labeller, LatentSampler, Likelihood, Predictor, Reconstructor,
                          Sampler, Translator, TranslatorConfig, VAEConfig, build_model, can)
from aegan.presets import PRESETS, get_preset
from aegan.run import RunConfig
from aegan.train import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")


def _spec(shape, value_range=(0.0, 1.0), classes=0, targets=None):
    kind = {1: "vectors", 2: "sequences", 3: "images", 4: "image-sequences"}[len(shape)]
    shapes = {"inputs": tuple(shape)}
    if targets is not None:
        shapes["targets"] = tuple(targets)
    if classes:
        shapes["labels"] = ()
    return ExampleSpec(kind, shapes, value_range, classes)


SMALL_DCGAN = dict(net="dcgan", z_dim=6, g_channels=[8, 4], d_channels=[4, 8])
TINY_UNET = dict(channels=[8, 16], blocks=1, attention=[4], groups=4, schedule="cosine",
                 timesteps=10, sampling_steps=4)
SYMMETRIC = (-1.0, 1.0)
GROWING = dict(z_dim=6, value_range="symmetric", g_channels=[8, 4], d_channels=[4, 8])
SMALL_TRANSLATOR = dict(g_channels=4, g_max_channels=8, d_channels=4, d_max_channels=8)
# case -> (model config, data spec): one or more per family, and each option that changes
# what the model's networks or step are.
CASES = {
    "ae-linear": (AutoencoderConfig(encoder=[2], activation="linear", output="linear",
                                    loss="mse"), _spec((3,), None)),
    "ae-stacked": (AutoencoderConfig(encoder=[16, 4]), _spec((1, 8, 8))),
    "ae-stacked-mse": (AutoencoderConfig(encoder=[16, 4], loss="mse", decoder=[8, 12]),
                       _spec((6,), None)),
    "ae-tied": (AutoencoderConfig(encoder=[16, 4], tied=True), _spec((1, 8, 8))),
    "ae-conv": (AutoencoderConfig(net="conv", encoder=[4, 8]), _spec((1, 12, 12))),
    "ae-conv-colour-odd": (AutoencoderConfig(net="conv", encoder=[4, 8, 8]), _spec((3, 14, 14))),
    "ae-recurrent": (AutoencoderConfig(net="recurrent", encoder=[8, 4], decoder=[8]),
                     _spec((1, 6, 5))),
    "ae-recurrent-seq": (AutoencoderConfig(net="recurrent", encoder=[6], loss="mse",
                                           output="linear"), _spec((7, 3), None)),
    "ae-denoising": (AutoencoderConfig(encoder=[16, 4], input_noise=0.2, input_dropout=0.3),
                     _spec((1, 8, 8))),
    "ae-paired": (AutoencoderConfig(encoder=[16, 4]), _spec((1, 8, 8), targets=(1, 8, 8))),
    "ae-frames": (AutoencoderConfig(encoder=[16, 4]), _spec((3, 1, 4, 4))),
    "ae-sparse-kl": (AutoencoderConfig(encoder=[16, 20], coding_activation="sigmoid",
                                       sparsity="kl", sparsity_weight=0.1), _spec((1, 8, 8))),
    "ae-hashing": (AutoencoderConfig(encoder=[16, 6], coding_activation="sigmoid",
                                     coding_noise=4.0), _spec((1, 8, 8))),
    "vae": (VAEConfig(encoder=[16, 8], z_dim=3), _spec((1, 8, 8))),
    "vae-conv": (VAEConfig(net="conv", encoder=[4, 8], z_dim=3), _spec((1, 12, 12))),
    "vae-gaussian-learned-sigma": (VAEConfig(encoder=[8], z_dim=2, likelihood="gaussian",
                                             output="linear", learn_sigma=True, sigma=0.5),
                                   _spec((6,), None)),
    "iwae-binarized": (VAEConfig(encoder=[16], z_dim=3, iw_samples=4, binarize=True),
                       _spec((1, 8, 8))),
    "gan-dense": (GANConfig(z_dim=5), _spec((1, 8, 8))),
    "gan-dcgan-ema": (GANConfig(**SMALL_DCGAN, value_range="symmetric", ema=0.9),
                      _spec((1, 8, 8), (-1.0, 1.0))),
    "gan-wgan-gp": (GANConfig(**SMALL_DCGAN, value_range="symmetric", loss="wgan-gp",
                              n_critic=2), _spec((1, 8, 8), (-1.0, 1.0))),
    "gan-conditional": (GANConfig(**SMALL_DCGAN, value_range="symmetric", num_classes=3,
                                  replay=8), _spec((1, 8, 8), (-1.0, 1.0), classes=3)),
    # growing 4 -> 8 from the first step (alpha 0 at the first chunk): every chunk of 2 moves
    # alpha, so a resume after one epoch (24 images) lands mid fade-in (alpha 0.75)
    "gan-progan-growing": (GANConfig(**GROWING, net="progan", fade_images=32, batch_sizes=[4, 2],
                                     minibatch_std=True, r1_weight=1.0, r1_interval=2),
                           _spec((1, 8, 8), SYMMETRIC)),
    "gan-stylegan-modulated": (GANConfig(**GROWING, net="stylegan", ema=0.9, r1_weight=0.1,
                                         pl_weight=0.5, pl_interval=1),
                               _spec((3, 8, 8), SYMMETRIC)),
    "gan-stylegan-adain-growing": (GANConfig(**GROWING, net="stylegan", style="adain",
                                             mapping_layers=1, fade_images=16,
                                             stable_images=2, batch_sizes=[1, 1]),
                                   _spec((1, 6, 6), SYMMETRIC)),
    "gan-stylegan-skip-resnet": (GANConfig(**GROWING, net="stylegan", g_architecture="skip",
                                           d_architecture="resnet", r1_weight=0.1),
                                 _spec((1, 6, 6), SYMMETRIC)),
    "classifier": (ClassifierConfig(hidden=[8], n_classes=3), _spec((1, 8, 8), classes=3)),
    "diffusion-v-huber": (DiffusionConfig(**TINY_UNET, prediction="v", loss="huber"),
                          _spec((1, 8, 8), SYMMETRIC)),
    "diffusion-conditional": (DiffusionConfig(**TINY_UNET, num_classes=3, ema=0.9, guidance=2.0),
                              _spec((1, 8, 8), SYMMETRIC, 3)),
    "diffusion-book": (DiffusionConfig(net="book-unet", timesteps=50, ema=0.0, prediction="x0",
                                       sampler="ddpm", variance="large", clip_x0=False),
                       _spec((3, 8, 6), SYMMETRIC)),
    "translator-unet": (TranslatorConfig(**SMALL_TRANSLATOR, ema=0.9, lambda_fm=1.0),
                        _spec((1, 8, 8), (-1.0, 1.0), targets=(2, 8, 8))),
    "translator-unet-resize-hinge-sn": (
        TranslatorConfig(**SMALL_TRANSLATOR, upsample="resize", loss="hinge", norm="instance",
                         spectral_norm=True, value_range="unit"),
        _spec((3, 8, 8), targets=(3, 8, 8))),
    "forecaster-convlstm": (ForecasterConfig(net="convlstm", context=3, horizon=2, hidden=[4, 4],
                                             kernel=3, patch=2, scheduled_sampling=3),
                            _spec((3, 1, 8, 8), targets=(2, 1, 8, 8))),
    "forecaster-simvp-adversarial": (ForecasterConfig(context=3, horizon=2, hid_s=4, hid_t=8, n_s=2,
                                                      n_t=1, lambda_adv=0.1, d_channels=4),
                                     _spec((3, 1, 8, 8), targets=(2, 1, 8, 8))),
    "translator-srresnet-l1": (TranslatorConfig(generator="srresnet", g_channels=4, blocks=1,
                                                lambda_adv=0.0),
                               _spec((1, 4, 4), (-1.0, 1.0), targets=(1, 8, 8))),
}


# Parameters one step leaves unchanged by the mathematics of the loss: the Wasserstein loss and
# its gradient penalty are unchanged by a constant added to the critic, so its bias gets no
# gradient; so is the hinge loss while every logit lies in (-1, 1), as at the start.
UNCHANGED = {"gan-wgan-gp": {"discriminator.head.bias"},
             "translator-unet-resize-hinge-sn": {"discriminator.head.bias"}}


def _examples(spec: ExampleSpec, n: int, seed: int = 0) -> Examples:
    rng = np.random.RandomState(seed)
    low, high = spec.value_range or (-2.0, 2.0)
    roles = {role: rng.uniform(low, high, (n, *shape)).astype(np.float32)
             for role, shape in spec.shapes.items() if role != "labels"}
    if spec.num_classes:
        roles["labels"] = rng.randint(0, spec.num_classes, n).astype(np.int64)
    return Examples(**roles)


def _batch(spec: ExampleSpec, n: int = 5, seed: int = 0) -> Batch:
    return Batch(**_examples(spec, n, seed).map(lambda _, v: torch.as_tensor(v)).roles())


def _model(name: str, seed: int = 0):
    config, spec = CASES[name]
    torch.manual_seed(seed)
    return build_model(config, spec)


def test_every_family_has_cases():
    assert {config.family for config, _ in CASES.values()} == set(MODELS)


@pytest.mark.parametrize("name", CASES)
def test_shapes_by_capability(name):
    model = _model(name).eval()
    spec, batch = model.spec, _batch(model.spec)
    shape = (5, *spec.inputs)
    assert model.capabilities(model.config), "every family can do something besides training"
    for capability in model.capabilities(model.config):
        assert isinstance(model, capability), capability  # declared means present
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        if can(model, Encoder):
            z = model.encode(batch.inputs)
            assert z.flatten(1).shape == (5, model.z_dim) or z.shape[:2] == (5, model.z_dim)
        if can(model, Decoder):
            z = torch.randn(5, model.z_dim) if not can(model, Encoder) else model.encode(batch.inputs)
            assert model.decode(z).shape == (5, *spec.shapes.get("targets", spec.inputs))
        if can(model, Reconstructor):
            assert model.reconstruct(batch.inputs).shape == (5, *spec.shapes.get("targets", spec.inputs))
        if can(model, Sampler):
            samples = model.sample(5, generator)
            low, high = model.value_range or (-np.inf, np.inf)
            assert samples.shape == shape and samples.min() >= low and samples.max() <= high
        if can(model, LatentSampler):
            assert model.sample_codings(5, generator).shape == (5, model.z_dim)
            assert model.traversal_base(generator).shape == (model.z_dim,)
        if can(model, ConditionalSampler):
            labels = torch.tensor([0, 1, 2, 0, 1])
            assert model.sample(5, generator, labels=labels).shape == shape
        if can(model, Likelihood):
            recon, kl = model.elbo_terms(batch.inputs, generator)
            assert recon.shape == kl.shape == (5,)
            assert model.log_weights(batch.inputs, 3, generator).shape == (3, 5)
        if can(model, Labeller):
            predicted = model.predict(batch.inputs)
            assert predicted.shape == (5,) and predicted.dtype == torch.int64
        if can(model, Translator):
            out = model.translate(batch.inputs)
            low, high = model.value_range
            assert out.shape == (5, *spec.shapes["targets"])
            assert out.min() >= low and out.max() <= high
        if can(model, Predictor):  # beyond the trained horizon: rolled out
            steps = 2 * spec.shapes["targets"][0] + 1
            out = model.predict_frames(batch.inputs, steps)
            assert out.shape == (5, steps, *spec.inputs[1:])
            assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("name", CASES)
def test_one_step_changes_every_parameter_and_is_seeded(name):
    model, batch = _model(name).train(), _batch(CASES[name][1])
    before = {k: p.detach().clone() for k, p in model.named_parameters()}
    torch.manual_seed(1)  # noise layers and fakes draw from the global generator
    out = model.training_step(batch, model.configure_optimizers(OptimConfig("sgd", lr=0.1)), 0)
    assert model.monitor in out and all(torch.isfinite(v) for v in out.values())
    unchanged = {k for k, p in model.named_parameters() if torch.equal(before[k], p)}
    assert unchanged == UNCHANGED.get(name, set())
    with torch.no_grad():
        valid = model.eval().validation_step(batch)
    assert model.monitor in valid and all(torch.isfinite(v) for v in valid.values())
    twin = _model(name).train()
    torch.manual_seed(1)
    twin.training_step(batch, twin.configure_optimizers(OptimConfig("sgd", lr=0.1)), 0)
    for a, b in zip(model.state_dict().values(), twin.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", CASES)
def test_save_load_round_trip(name, tmp_path):
    """Weights written by save_model come back bit for bit through load_run, into a model
    built for the spec the run recorded."""
    config, spec = CASES[name]
    model = _model(name).train()
    torch.manual_seed(1)
    model.training_step(_batch(spec), model.configure_optimizers(OptimConfig("sgd", lr=0.1)), 0)
    write_json(tmp_path / "config.json", RunConfig(model=config, spec=spec).to_dict())
    save_model(tmp_path, model)
    run_config, loaded = load_run(tmp_path)
    assert run_config.spec == spec
    assert loaded.state_dict().keys() == model.state_dict().keys()
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key


@pytest.mark.parametrize("name", ["ae-stacked", "gan-conditional", "vae"])
def test_runs_written_by_earlier_versions_load(name, tmp_path):
    """A config.json of an earlier version (``sample_shape`` instead of ``spec``,
    ``train.hand_backward``) loads, a conditional GAN's labels included."""
    config, spec = CASES[name]
    model = _model(name)
    old = RunConfig(model=config, spec=spec).to_dict()
    del old["spec"]
    old["sample_shape"] = list(spec.inputs)
    old["train"]["hand_backward"] = old["train"].pop("closed_form")
    write_json(tmp_path / "config.json", old)
    save_model(tmp_path, model)
    run_config, loaded = load_run(tmp_path)
    assert run_config.spec.inputs == spec.inputs and run_config.train.closed_form == "auto"
    assert run_config.spec.num_classes == spec.num_classes
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key


@pytest.mark.parametrize("name", CASES)
def test_exact_resume(name, tmp_path):
    """Two epochs straight and one epoch, stopped, then resumed for the second end at the same
    weights, bit for bit (on the CPU), whatever the family."""
    spec = CASES[name][1]
    train, valid = _examples(spec, 24, 0), _examples(spec, 8, 1)
    optim, trained = OptimConfig("adam", lr=1e-3), {}
    for label, stops in (("straight", [2]), ("resumed", [1, 2])):
        (tmp_path / label).mkdir()
        for i, epochs in enumerate(stops):
            model = _model(name, seed=i)  # a resumed run's weights come from its checkpoint
            trainer = Trainer(model, TrainConfig(epochs=epochs, batch_size=8, seed=3), optim,
                              tmp_path / label, progress=False)
            trainer.fit(train, valid, resume=i > 0)
        trained[label] = model.state_dict()
    for key, value in trained["straight"].items():
        assert torch.equal(value, trained["resumed"][key]), key


def test_capability_names_are_unique():
    assert len(set(CAPABILITIES.values())) == len(CAPABILITIES)


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

    pca = PCA(2).fit(load_dataset("book-3d").train.inputs.astype(np.float64))
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
