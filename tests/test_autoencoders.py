"""The autoencoder family's own mechanics, each against a reference: tied weights, greedy
stages, sparsity penalties (hand-computed), training-only noise, conv and recurrent shapes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from aegan import api
from aegan.config import DataConfig, OptimConfig, TrainConfig
from aegan.data import Batch
from aegan.errors import DataMismatch
from aegan.io import load_run
from aegan.metrics import batched
from aegan.models import AutoencoderConfig, build_model
from aegan.models.autoencoder import GreedyStage, kl_sparsity
from aegan.presets import get_preset
from aegan.run import RunConfig


def test_tied_has_about_half_the_parameters():
    tied = build_model(get_preset("book/tied").model, (1, 28, 28))
    untied = build_model(get_preset("book/stacked").model, (1, 28, 28))
    n_tied = sum(p.numel() for p in tied.parameters())
    n_untied = sum(p.numel() for p in untied.parameters())
    assert n_tied == 784 * 100 + 100 * 30 + (100 + 30) + (100 + 784)
    assert 0.49 < n_tied / n_untied < 0.52


def test_tied_gradient_moves_encoder_and_decoder_together():
    """The shared weight's gradient is the sum of the gradients the encoder and decoder would
    each get in an untied copy with the same (transposed) weights."""
    torch.manual_seed(0)
    tied = build_model(AutoencoderConfig(encoder=[5, 3], tied=True), (7,))
    untied = build_model(AutoencoderConfig(encoder=[5, 3]), (7,))
    enc_t, dec_t = tied._blocks
    enc_u, dec_u = untied._blocks
    with torch.no_grad():
        for i in range(2):
            enc_u[i][0].weight.copy_(enc_t[i][0].weight)
            enc_u[i][0].bias.copy_(enc_t[i][0].bias)
            dec_u[1 - i][0].weight.copy_(enc_t[i][0].weight.t())
            dec_u[1 - i][0].bias.copy_(dec_t[1 - i][0].bias)
    x = torch.rand(4, 7)
    for model in (tied, untied):
        model.reconstruction_loss(model.decoder(model.encoder(x)), x).backward()
    for i in range(2):
        expected = enc_u[i][0].weight.grad + dec_u[1 - i][0].weight.grad.t()
        torch.testing.assert_close(enc_t[i][0].weight.grad, expected)
    # and one optimizer step changes what the decoder computes with
    before = dec_t[0][0].weight.detach().clone()
    opts = tied.configure_optimizers(OptimConfig("sgd", lr=0.5))
    tied.training_step(Batch(x), opts, 0)
    assert not torch.equal(before, dec_t[0][0].weight)
    torch.testing.assert_close(dec_t[0][0].weight, enc_t[1][0].weight.t())


def test_sparsity_penalties_by_hand():
    a = torch.tensor([[0.2, 0.9, 0.1], [0.4, 0.5, 0.3]])
    model = build_model(AutoencoderConfig(encoder=[3], coding_activation="sigmoid", sparsity="l1",
                                          sparsity_weight=0.5), (4,))
    assert model.sparsity_penalty(a).item() == pytest.approx(0.5 * (1.2 + 1.2) / 2)
    rho, t = np.array([0.3, 0.7, 0.2]), 0.1
    by_hand = np.sum(t * np.log(t / rho) + (1 - t) * np.log((1 - t) / (1 - rho)))
    assert kl_sparsity(a, t).item() == pytest.approx(by_hand, rel=1e-6)
    assert kl_sparsity(torch.full((5, 4), 0.1), 0.1).item() == pytest.approx(0.0, abs=1e-6)


def test_sparse_kl_pulls_mean_activation_to_target(tmp_path):
    config = RunConfig(
        model=AutoencoderConfig(encoder=[32, 64], coding_activation="sigmoid", sparsity="kl",
                                sparsity_weight=0.05, sparsity_target=0.1),
        data=DataConfig("digits"), optim=OptimConfig("adam", lr=3e-3),
        train=TrainConfig(epochs=25, batch_size=64))
    run = api.train(config, tmp_path / "run", progress=False)
    data = api.load_data(config)
    _, model = load_run(run)
    mean = batched(model.encode, data.valid.inputs, 512).mean()
    assert abs(mean - 0.1) < 0.03, mean


def test_noise_only_while_training():
    torch.manual_seed(0)
    model = build_model(AutoencoderConfig(encoder=[8, 4], input_noise=0.5, input_dropout=0.5), (6,))
    x = torch.rand(3, 6)
    model.eval()
    assert torch.equal(model.encode(x), model.encode(x))
    noisy = model.corrupt(x)
    assert not torch.equal(noisy, x) and not model.training  # corrupt() leaves eval mode alone
    model.train()
    assert not torch.equal(model.encode(x), model.encode(x))


@pytest.mark.parametrize("config, shape", [
    (AutoencoderConfig(encoder=[8, 4], input_noise=0.5, sparsity="l1"), (1, 6, 6)),
    (AutoencoderConfig(net="conv", encoder=[4, 8]), (1, 8, 8)),
    (AutoencoderConfig(net="recurrent", encoder=[6, 3], decoder=[6]), (1, 5, 4)),
])
def test_validation_step_is_one_pass_with_the_losses_of_reconstruct(config, shape):
    torch.manual_seed(0)
    model = build_model(config, shape).eval()
    x = torch.rand(5, *shape)
    calls = []
    model.encoder.register_forward_hook(lambda *_: calls.append(1))
    with torch.no_grad():
        out = model.validation_step(Batch(x))
        assert len(calls) == 1
        recon = model.reconstruct(x)
        expected = torch.nn.functional.binary_cross_entropy(recon, x)
    assert out["mse"].item() == pytest.approx(torch.mean((recon - x) ** 2).item(), rel=1e-5)
    assert out.get("recon", out["loss"]).item() == pytest.approx(expected.item(), rel=1e-4)


def _greedy_config(epochs=3):
    stages = [GreedyStage(2, OptimConfig("sgd", lr=0.5)), GreedyStage(2, OptimConfig("sgd", lr=0.05))]
    return RunConfig(model=AutoencoderConfig(encoder=[16, 4], greedy=stages),
                     data=DataConfig("digits", limit=300), optim=OptimConfig("sgd", lr=0.1),
                     train=TrainConfig(epochs=epochs))


def test_greedy_stages_train_the_shared_layers(tmp_path):
    run = api.train(_greedy_config(), tmp_path / "run", progress=False)
    for stage in ("greedy-1", "greedy-2"):
        lines = (run / stage / "history.jsonl").read_text().splitlines()
        assert [json.loads(x)["epoch"] for x in lines] == [1, 2]
    # The fine-tuning started from the stages' layers: its first epoch beats a fresh model's.
    history = [json.loads(x) for x in (run / "history.jsonl").read_text().splitlines()]
    fresh = api.train(_greedy_config().replace("model", greedy=None), tmp_path / "fresh", progress=False)
    fresh_history = [json.loads(x) for x in (fresh / "history.jsonl").read_text().splitlines()]
    assert history[0]["train_loss"] < fresh_history[0]["train_loss"]


class _Stop(Exception):
    pass


def test_greedy_resume_mid_stage_is_exact(tmp_path):
    whole = api.train(_greedy_config(), tmp_path / "whole", progress=False)

    def stop(event):
        if event.label == "greedy-2" and event.record["epoch"] == 1:
            raise _Stop

    with pytest.raises(_Stop):
        api.train(_greedy_config(), tmp_path / "part", callbacks=[stop], progress=False)
    api.resume(tmp_path / "part", progress=False)
    _, a = load_run(whole)
    _, b = load_run(tmp_path / "part")
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key


def test_recurrent_reads_sequences(tmp_path):
    x = np.random.RandomState(0).rand(40, 9, 3).astype(np.float32)
    np.save(tmp_path / "seq.npy", x)
    config = RunConfig(model=AutoencoderConfig(net="recurrent", encoder=[8, 4]),
                       data=DataConfig(str(tmp_path / "seq.npy")), train=TrainConfig(epochs=1))
    run = api.train(config, tmp_path / "run", progress=False)
    _, model = load_run(run)
    assert model.reconstruct(torch.as_tensor(x[:2])).shape == (2, 9, 3)


@pytest.mark.parametrize("config, shape, message", [
    (AutoencoderConfig(net="recurrent"), (5,), "net 'recurrent' reads sequences"),
    (AutoencoderConfig(net="recurrent"), (3, 8, 8), "single-channel images row by row"),
    (AutoencoderConfig(net="conv"), (7, 3), "net 'conv' reads images"),
])
def test_network_shape_errors(config, shape, message):
    with pytest.raises(DataMismatch, match=message):
        build_model(config, shape)


def test_conv_preset_matches_book_shapes():
    model = build_model(get_preset("book/conv").model, (1, 28, 28))
    z = model.encode(torch.rand(2, 1, 28, 28))
    assert z.shape == (2, 64, 3, 3)
    assert model.decode(z).shape == (2, 1, 28, 28)


def test_dropout_keeps_each_value_with_probability_1_minus_p_and_rescales():
    from aegan.nets.layers import Dropout

    torch.manual_seed(0)
    layer = Dropout(0.4)
    x = torch.full((1000, 1000), 3.0, requires_grad=True)
    y = layer(x)
    kept = y != 0
    # 10^6 Bernoulli(0.6) draws: the kept share has standard deviation 4.9e-4
    assert abs(kept.float().mean().item() - 0.6) < 5 * 4.9e-4
    assert torch.allclose(y[kept], torch.tensor(3.0 / 0.6))
    y.sum().backward()  # the gradient is the same mask and scale
    assert torch.equal(x.grad, kept.float() / 0.6)
    nchw = torch.ones(8, 4, 5, 5).contiguous(memory_format=torch.channels_last)
    assert layer(nchw).is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(layer.eval()(x), x) and torch.equal(Dropout(0.0)(x), x)
    assert torch.equal(Dropout(1.0)(x), torch.zeros_like(x))


def test_dropout_of_bf16_values_draws_its_uniform_in_fp32_and_keeps_the_dtype():
    from aegan.nets.layers import Dropout

    torch.manual_seed(0)
    layer = Dropout(0.1)
    x = torch.full((1000, 1000), 2.0, dtype=torch.bfloat16, requires_grad=True)
    y = layer(x)
    assert y.dtype == torch.bfloat16
    kept = y != 0
    # a bf16 uniform would keep about 0.898 (p rounded on its grid); fp32 keeps 0.9 (sd 3e-4)
    assert abs(kept.float().mean().item() - 0.9) < 5 * 3e-4
    scale = torch.tensor(1 / 0.9).bfloat16()  # 1.109375: PyTorch's bf16 dropout rounds it so
    assert torch.equal(y[kept], (2 * scale).expand(int(kept.sum())))
    y.float().sum().backward()
    assert torch.equal(x.grad, kept.bfloat16() * scale)
    torch.manual_seed(1)
    again = layer(x)
    torch.manual_seed(1)
    assert torch.equal(again, x * layer.mask(x))  # the fast draw, not torch's Bernoulli one
