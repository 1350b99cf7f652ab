"""Next-frame prediction: the moving-digits generator (bounce, the canvas, determinism), the
ConvLSTM cell against a hand-written step, the metrics against hand computations and
scikit-image, exact resume of a run interrupted mid-epoch on sequences drawn afresh each epoch,
a small run end to end, and ``aegan predict``'s refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from aegan import api
from aegan.config import DataConfig, OptimConfig, TrainConfig
from aegan.data import Examples, ExampleSpec, Resampled
from aegan.data.dataset import Dataset
from aegan.data.derive import derive
from aegan.data.examples import Batch
from aegan.data.moving import MovingDigits, moving_digits, moving_sequence, trajectory
from aegan.errors import ConfigError, DataError, DataMismatch
from aegan.io import load_run, save_model, write_json
from aegan.metrics.forecast import forecast_scores, frame_scores
from aegan.models import ForecasterConfig, build_model
from aegan.nets.forecast import ConvLSTMCell, ConvLSTMNet
from aegan.run import RunConfig
from aegan.train import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {"context": 3, "horizon": 2, "hid_s": 4, "hid_t": 8, "n_s": 2, "n_t": 1}


# -- the generator ----------------------------------------------------------------------------
def test_trajectories_bounce_at_the_walls_and_keep_their_speed():
    bounces = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        ys, xs = trajectory(rng, frames=40)
        for pos in (ys, xs):
            assert pos.min() >= 0 and pos.max() <= 1
            steps = np.abs(np.diff(pos))
            at_wall = (pos[1:-1] == 0) | (pos[1:-1] == 1)
            free = ~at_wall & ~((pos[2:] == 0) | (pos[2:] == 1))  # a step from inside to inside
            # every free step has the same size (one direction component, no friction) ...
            assert np.allclose(steps[1:][free], steps[1:][free][0]) if free.any() else True
            # ... and after a wall the image moves back inside
            for t in np.flatnonzero(at_wall) + 1:
                bounces += 1
                inward = pos[t + 1] - pos[t]
                assert (pos[t] == 0 and inward > 0) or (pos[t] == 1 and inward < 0)
    assert bounces > 100  # the walls were met often


def test_a_digit_never_leaves_the_canvas():
    """A 'digit' of ones: every frame holds all of its 28 x 28 pixels, whatever the path."""
    block = np.ones((1, 28, 28), np.float32)
    for seed in range(50):
        frames = moving_sequence(block, np.random.default_rng(seed), digits=1)
        assert frames.shape == (20, 64, 64)
        assert (frames.reshape(20, -1).sum(1) == 28 * 28).all()


def test_two_digits_combine_by_their_pixelwise_maximum():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (3, 28, 28)).astype(np.float32)
    both = moving_sequence(images, np.random.default_rng(5))
    assert both.max() <= 1 and both.min() == 0  # the canvas is larger than two digits
    assert both.reshape(20, -1).max(1).min() > 0.9  # the maximum, not a sum clipped or averaged


def test_sequences_are_a_function_of_their_key_and_index():
    images = np.random.default_rng(0).uniform(0, 1, (10, 28, 28)).astype(np.float32)
    a, b = MovingDigits(images, 8, (0, 0, 3)), MovingDigits(images, 8, (0, 0, 3))
    np.testing.assert_array_equal(a[np.array([5, 1])], b[np.array([1, 5])][::-1])
    np.testing.assert_array_equal(np.asarray(a)[2:4], np.asarray(a[2:4]))  # a view: same ids
    assert a.shape == (8, 20, 1, 64, 64) and a[3].shape == (20, 1, 64, 64)
    other_epoch = MovingDigits(images, 8, (0, 0, 4))
    assert not np.array_equal(np.asarray(a), np.asarray(other_epoch))


def _digit_set(per_epoch=16, frames=None) -> Dataset:
    rng = np.random.default_rng(1)
    train, test = rng.uniform(0, 1, (40, 28, 28)), rng.uniform(0, 1, (10, 28, 28))
    return moving_digits("tiny-moving", train.astype(np.float32), test.astype(np.float32),
                         valid_size=6, per_epoch=per_epoch, test=5, held_out=20)


def test_the_data_set_draws_each_epoch_afresh_and_fixes_valid_and_test():
    data = _digit_set()
    assert isinstance(data.train, Resampled) and len(data.train) == 16
    assert (len(data.valid), len(data.test)) == (6, 5)
    first, again = np.asarray(data.train.draw(1).inputs), np.asarray(data.train.draw(1).inputs)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, np.asarray(data.train.draw(0).inputs))
    limited = data.limited(4)  # data.limit cuts every epoch's draw
    assert len(limited.train) == 4
    np.testing.assert_array_equal(np.asarray(limited.train.draw(1).inputs), first[:4])
    pairs = derive(data, {"name": "frames", "context": 10, "horizon": 10})
    assert pairs.spec.shapes == {"inputs": (10, 1, 64, 64), "targets": (10, 1, 64, 64)}
    whole = np.asarray(data.valid.inputs)
    np.testing.assert_array_equal(np.asarray(pairs.valid.targets), whole[:, 10:])


def test_the_standard_test_file_is_read_time_major_from_data_dir(tiny_idx):
    """``mnist_test_seq.npy`` is ``[20, N, 64, 64]`` uint8: sequence i is ``raw[:, i] / 255``;
    the frames derive cuts it like the generated sets; a file of another shape is one error."""
    from aegan.data import load_dataset
    raw = np.random.default_rng(0).integers(0, 256, (20, 3, 64, 64), dtype=np.uint8)
    np.save(tiny_idx / "mnist_test_seq.npy", raw)
    data = load_dataset("moving-mnist-standard", tiny_idx, valid_size=4)
    assert data.test.inputs.shape == (3, 20, 1, 64, 64) and len(data.valid) == 4
    np.testing.assert_array_equal(np.asarray(data.test.inputs)[:, :, 0],
                                  raw.transpose(1, 0, 2, 3) / np.float32(255))
    np.testing.assert_array_equal(data.test.inputs[np.array([2])][0, 5, 0],
                                  raw[5, 2] / np.float32(255))
    pairs = derive(data, {"name": "frames", "context": 10, "horizon": 10})
    np.testing.assert_array_equal(np.asarray(pairs.test.targets)[1, :, 0],
                                  raw[10:, 1] / np.float32(255))
    np.save(tiny_idx / "mnist_test_seq.npy", raw[:, :, :32])
    with pytest.raises(DataError, match=r"\[20, N, 64, 64\]"):
        load_dataset("moving-mnist-standard", tiny_idx)


# -- the networks -----------------------------------------------------------------------------
def test_convlstm_cell_is_the_hand_written_step():
    torch.manual_seed(0)
    cell = ConvLSTMCell(2, 3, kernel=3)
    x, h, c = torch.randn(2, 2, 5, 5), torch.randn(2, 3, 5, 5), torch.randn(2, 3, 5, 5)
    w, b = cell.conv.weight, cell.conv.bias  # [12, 5, 3, 3]: input, forget, output, candidate

    def gate(k):
        rows = slice(3 * k, 3 * k + 3)
        return (F.conv2d(x, w[rows, :2], padding=1) + F.conv2d(h, w[rows, 2:], padding=1)
                + b[rows].view(1, 3, 1, 1))

    i, f, o, g = torch.sigmoid(gate(0)), torch.sigmoid(gate(1)), torch.sigmoid(gate(2)), torch.tanh(gate(3))
    c_next = f * c + i * g
    h_next, c_out = cell(x, (h, c))
    torch.testing.assert_close(c_out, c_next)
    torch.testing.assert_close(h_next, o * torch.tanh(c_next))


def test_scheduled_sampling_reads_true_frames_by_its_schedule():
    """p_true 1: the net reads the true previous frames (teacher forcing), by hand with its
    one-frame step; p_true 0: its own predictions, as at prediction time; the model's chance
    falls linearly over ``scheduled_sampling`` training steps and stays at 0."""
    torch.manual_seed(0)
    net = ConvLSTMNet(1, [3], kernel=3, patch=2)
    context, truth = torch.rand(2, 3, 1, 8, 8), torch.rand(2, 4, 1, 8, 8)
    states: list = [None]
    for t in range(3):
        frame = net._step(context[:, t], states)
    forced = [frame] + [net._step(truth[:, t], states) for t in range(3)]
    torch.testing.assert_close(net(context, 4, truth, 1.0), torch.stack(forced, dim=1))
    torch.testing.assert_close(net(context, 4, truth, 0.0), net(context, 4))
    mixed = net(context, 4, truth, 0.5)
    assert not torch.allclose(mixed, net(context, 4))
    config = ForecasterConfig(net="convlstm", context=3, horizon=2, hidden=[3], kernel=3,
                              patch=2, scheduled_sampling=4)
    model = build_model(config, ExampleSpec("image-sequences", {"inputs": (3, 1, 8, 8),
                                                                "targets": (2, 1, 8, 8)}))
    opts = model.configure_optimizers(OptimConfig("adam", lr=1e-3))
    batch = Batch(inputs=torch.rand(2, 3, 1, 8, 8), targets=torch.rand(2, 2, 1, 8, 8))
    chances = [float(model.training_step(batch, opts, k)["p_true"]) for k in range(6)]
    assert chances == [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    with pytest.raises(ConfigError, match="scheduled_sampling"):
        ForecasterConfig(net="simvp", scheduled_sampling=10)


def test_forecasters_refuse_data_they_cannot_learn_from():
    whole = ExampleSpec("image-sequences", {"inputs": (5, 1, 8, 8)})
    with pytest.raises(DataMismatch, match="data.derive"):
        build_model(ForecasterConfig(**TINY), whole)
    other = ExampleSpec("image-sequences", {"inputs": (4, 1, 8, 8), "targets": (2, 1, 8, 8)})
    with pytest.raises(DataMismatch, match="reads 3 frames and predicts 2"):
        build_model(ForecasterConfig(**TINY), other)
    odd = ExampleSpec("image-sequences", {"inputs": (3, 1, 9, 9), "targets": (2, 1, 9, 9)})
    with pytest.raises(DataMismatch, match="cannot be cut"):
        build_model(ForecasterConfig(**TINY), odd)
    with pytest.raises(ConfigError, match="model.net"):
        ForecasterConfig(net="predrnn")
    with pytest.raises(ConfigError, match="all 0"):
        ForecasterConfig(lambda_mse=0.0)
    with pytest.raises(ConfigError, match="model.lambda_ssim must be a number >= 0"):
        ForecasterConfig(lambda_ssim=-1.0)
    small = ExampleSpec("image-sequences", {"inputs": (3, 1, 4, 4), "targets": (2, 1, 4, 4)})
    with pytest.raises(DataMismatch, match="at least 7x7"):
        build_model(ForecasterConfig(**TINY, lambda_ssim=1.0), small)


def test_simvp_rolls_out_by_feeding_its_predictions_back():
    spec = ExampleSpec("image-sequences", {"inputs": (3, 1, 8, 8), "targets": (2, 1, 8, 8)})
    torch.manual_seed(0)
    model = build_model(ForecasterConfig(**TINY), spec).eval()
    context = torch.rand(2, 3, 1, 8, 8)
    five = model.predict_frames(context, 5)
    first = model.predict_frames(context, 2)
    then = model.predict_frames(torch.cat([context, first], dim=1), 2)
    torch.testing.assert_close(five[:, :2], first)
    torch.testing.assert_close(five[:, 2:4], then)


@pytest.mark.parametrize("net", ["simvp", "convlstm"])
def test_a_linear_readout_is_clipped_and_the_floor_zeroes_faint_pixels(net):
    """readout linear: the network's raw output, which the loss reads, clipped to [0, 1] when
    predicting; floor: predicted pixels below it become 0, the others stay as they were."""
    spec = ExampleSpec("image-sequences", {"inputs": (3, 1, 8, 8), "targets": (2, 1, 8, 8)})
    extra = {"hidden": [4], "patch": 2} if net == "convlstm" else {}
    torch.manual_seed(0)
    model = build_model(ForecasterConfig(**TINY, **extra, net=net, readout="linear"), spec)
    with torch.no_grad():  # a readout that overshoots both ends
        for p in model.net.parameters():
            p.mul_(4.0)
    context = torch.rand(4, 3, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        raw = model.eval().forecast(context, 2)
    assert raw.min() < 0 and raw.max() > 1
    predicted = model.predict_frames(context, 2)
    torch.testing.assert_close(predicted, raw.clamp(0, 1))
    truth = torch.rand(4, 2, 1, 8, 8)
    assert model.validation_step(Batch(inputs=context, targets=truth))["mse"].item() == \
        pytest.approx(float(((raw.clamp(0, 1) - truth) ** 2).mean()), rel=1e-6)

    floored = build_model(ForecasterConfig(**TINY, **extra, net=net, readout="linear",
                                           floor=0.3), spec)
    floored.load_state_dict(model.state_dict())
    got = floored.predict_frames(context, 2)
    kept = predicted >= 0.3
    assert 0 < kept.float().mean() < 1
    assert torch.equal(got[kept], predicted[kept]) and not got[~kept].any()


def test_readout_and_floor_are_checked():
    with pytest.raises(ConfigError, match="model.readout"):
        ForecasterConfig(readout="tanh")
    for floor in (-0.1, 1.0, "low"):
        with pytest.raises(ConfigError, match="model.floor"):
            ForecasterConfig(floor=floor)


# -- the metrics ------------------------------------------------------------------------------
def test_mse_per_frame_is_the_squared_error_summed_over_a_frame():
    rng = np.random.default_rng(0)
    truth, predicted = rng.uniform(0, 1, (3, 2, 1, 8, 8)), rng.uniform(0, 1, (3, 2, 1, 8, 8))
    scores = frame_scores(predicted, truth)
    for s in range(2):
        by_hand = sum(((predicted[n, s] - truth[n, s]) ** 2).sum() for n in range(3)) / 3
        assert scores["mse_frame"][s] / 3 == pytest.approx(by_hand)
        mae = sum(np.abs(predicted[n, s] - truth[n, s]).sum() for n in range(3)) / 3
        assert scores["mae_frame"][s] / 3 == pytest.approx(mae)
        psnr = np.mean([10 * np.log10(1 / ((predicted[n, s] - truth[n, s]) ** 2).mean())
                        for n in range(3)])
        assert scores["psnr"][s] / 3 == pytest.approx(psnr)


def test_ssim_per_step_is_scikit_images_and_copy_last_is_the_baseline():
    from skimage.metrics import structural_similarity

    class Still:  # a forecaster that predicts a constant grey
        def predict_frames(self, context, steps):
            return torch.full((len(context), steps, *context.shape[2:]), 0.25)

    rng = np.random.default_rng(1)
    context, truth = rng.uniform(0, 1, (4, 3, 1, 9, 9)), rng.uniform(0, 1, (4, 2, 1, 9, 9))
    scores = forecast_scores(Still(), context.astype(np.float32), truth.astype(np.float32), 3)
    grey = np.full((9, 9), 0.25)
    for s in range(2):
        expected = np.mean([structural_similarity(truth[n, s, 0].astype(np.float32), grey,
                                                  data_range=1.0) for n in range(4)])
        assert scores["ssim"][s] == pytest.approx(expected, abs=1e-5)
        wide = np.mean([structural_similarity(truth[n, s, 0].astype(np.float32), grey,
                                              data_range=2.0) for n in range(4)])
        assert scores["ssim_range2"][s] == pytest.approx(wide, abs=1e-5)
        last = np.mean([((context[n, -1] - truth[n, s]) ** 2).sum() for n in range(4)])
        assert scores["mse_frame_copy_last"][s] == pytest.approx(last, rel=1e-5)


@pytest.mark.parametrize("lambda_mse, lambda_ssim", [(1.0, 0.5), (0.0, 1.0), (2.0, 0.0)])
def test_the_ssim_term_is_lambda_times_one_minus_scikit_images_ssim(lambda_mse, lambda_ssim):
    from skimage.metrics import structural_similarity

    spec = ExampleSpec("image-sequences", {"inputs": (3, 1, 8, 8), "targets": (2, 1, 8, 8)})
    model = build_model(ForecasterConfig(**TINY, lambda_mse=lambda_mse,
                                         lambda_ssim=lambda_ssim), spec)
    g = torch.Generator().manual_seed(3)
    fake = torch.rand(3, 2, 1, 8, 8, generator=g, requires_grad=True)
    truth = torch.rand(3, 2, 1, 8, 8, generator=g)
    out = model.regression_losses(fake, truth)
    f, t = fake.detach().double().numpy(), truth.double().numpy()
    ssim = np.mean([structural_similarity(t[n, s, 0], f[n, s, 0], data_range=1.0)
                    for n in range(3) for s in range(2)])
    mse = ((f - t) ** 2).mean()
    assert out["loss"].item() == pytest.approx(lambda_mse * mse + lambda_ssim * (1 - ssim),
                                               rel=1e-5)
    if lambda_ssim:
        assert out["ssim"].item() == pytest.approx(ssim, rel=1e-5)
        out["loss"].backward()  # the term trains the frames: a step against it raises SSIM
        with torch.no_grad():
            stepped = fake - 0.05 * fake.grad / fake.grad.abs().max()
        assert float(model.regression_losses(stepped, truth)["ssim"]) > ssim
    else:
        assert "ssim" not in out


# -- training ---------------------------------------------------------------------------------
class Interrupted(Exception):
    pass


class Failing:
    """A lazy array that raises once, on its ``after``-th read (a run killed mid-epoch)."""

    def __init__(self, source, state):
        self.source, self.state = source, state
        self.shape, self.ndim, self.dtype = source.shape, source.ndim, source.dtype

    def __len__(self):
        return len(self.source)

    def __getitem__(self, index):
        self.state["reads"] += 1
        if self.state["reads"] == self.state["after"]:
            raise Interrupted
        return self.source[index]


def _small_moving(state=None) -> Dataset:
    rng = np.random.default_rng(2)
    images = rng.uniform(0, 1, (12, 4, 4)).astype(np.float32)

    def draw(epoch):
        x = MovingDigits(images, 12, (0, 0, epoch), frames=5, canvas=8)
        return Examples(x if state is None or epoch != 1 else Failing(x, state))

    valid = Examples(MovingDigits(images, 4, (0, 1), frames=5, canvas=8))
    data = Dataset("small", "image-sequences", Resampled(draw, 12), valid)
    return derive(data, {"name": "frames", "context": 3, "horizon": 2})


def test_a_run_killed_mid_epoch_resumes_on_the_same_sequences(tmp_path):
    """Two epochs straight, and two epochs whose second is killed after a batch and resumed,
    end at the same weights: the resumed epoch draws the same sequences in the same order."""
    trained = {}
    for label, state in (("straight", None), ("killed", {"reads": 0, "after": 3})):
        data = _small_moving(state)
        (tmp_path / label).mkdir()
        torch.manual_seed(0)
        model = build_model(ForecasterConfig(**TINY), data.spec)
        config = TrainConfig(epochs=2, batch_size=4, seed=1)
        trainer = Trainer(model, config, OptimConfig("adam", lr=1e-3), tmp_path / label,
                          progress=False)
        try:
            trainer.fit(data.train, data.valid)
        except Interrupted:
            assert trainer.epoch == 1 and state["reads"] == 3
            torch.manual_seed(5)
            model = build_model(ForecasterConfig(**TINY), data.spec)  # weights from the checkpoint
            Trainer(model, config, OptimConfig("adam", lr=1e-3), tmp_path / label,
                    progress=False).fit(data.train, data.valid, resume=True)
        trained[label] = model.state_dict()
    for key, value in trained["straight"].items():
        assert torch.equal(value, trained["killed"][key]), key


@pytest.fixture(scope="module")
def forecaster_run(tmp_path_factory):
    """A small run trained on a .npy of moving digits, with its figures (one for the module:
    the tests read it and write elsewhere)."""
    tmp_path = tmp_path_factory.mktemp("forecaster")
    rng = np.random.default_rng(3)
    images = rng.uniform(0, 1, (10, 4, 4)).astype(np.float32)
    sequences = np.asarray(MovingDigits(images, 24, (0, 0), frames=6, canvas=8))[:, :, 0]
    path = tmp_path / "seq.npy"
    np.save(path, sequences)  # [24, 6, 8, 8]
    config = RunConfig(model=ForecasterConfig(net="convlstm", context=3, horizon=2, hidden=[4],
                                              kernel=3, patch=2),
                       data=DataConfig(str(path), kind="image-sequences",
                                       derive={"name": "frames", "context": 3, "horizon": 2}),
                       train=TrainConfig(epochs=1, batch_size=8))
    return api.train(config, tmp_path / "run", progress=False, figures="all"), path


def test_a_forecaster_trains_evaluates_and_draws(forecaster_run):
    run, _ = forecaster_run
    assert (run / "forecasts" / "epoch_001.png").is_file()
    for name in ("forecasts_valid.png", "forecast_error.png"):
        assert (run / name).is_file()
    result = api.evaluate(run)
    assert result["mse_frame"] > 0 and result["mse_frame_copy_last"] > 0
    assert [row["step"] for row in result["per_step"]] == [1, 2]


def test_predict_writes_a_gif_a_strip_and_the_frames(forecaster_run, cli, tmp_path):
    run, path = forecaster_run
    out = tmp_path / "p.gif"
    result = cli("predict", run, "--frames", path, "--context", 4, "--steps", 5, "--out", out)
    assert result.code == 0, result.err
    from PIL import Image

    with Image.open(out) as gif:
        assert gif.n_frames == 4 + 2  # context, then the two frames whose truth is known
    folder = tmp_path / "all"
    assert cli("predict", run, "--frames", path, "--out", folder).code == 0
    predicted = np.load(folder / "predictions.npy")
    assert predicted.shape == (24, 2, 1, 8, 8)
    assert {p.name for p in folder.iterdir()} == {"predictions.npy", "strip.png", "frames.gif",
                                                  "error_curve.png"}
    floored, floor = tmp_path / "floored.npy", round(float(np.median(predicted)), 6)
    assert cli("predict", run, "--frames", path, "--out", floored, "--floor", floor).code == 0
    kept = predicted >= floor
    assert 0 < kept.mean() < 1
    got = np.load(floored)
    assert np.array_equal(got[kept], predicted[kept]) and not got[~kept].any()


@pytest.mark.parametrize("shape, flags, says", [
    ((4, 2, 8, 8), [], "have 2 frames, fewer than --context 3"),
    ((4, 6, 8, 8), ["--context", "2"], "reads 3 context frames, and --context 2 gives fewer"),
    ((4, 6, 8, 8), ["--context", "7"], "fewer than --context 7"),
    ((4, 6, 9, 9), [], "frames of shape [1, 8, 8]"),
    ((4, 6, 3, 8, 8), [], "frames of shape [1, 8, 8]"),
    ((4, 8, 8), [], "expected sequences"),
    ((4, 6, 8, 8), ["--floor", "1"], "--floor is the level below which"),
])
def test_predict_refuses_bad_frames_in_one_line(forecaster_run, cli, tmp_path, shape, flags, says):
    run, _ = forecaster_run
    path = tmp_path / "bad.npy"
    np.save(path, np.zeros(shape, np.float32))
    out = tmp_path / "out.gif"
    result = cli("predict", run, "--frames", path, "--out", out, *flags)
    assert result.code == 2
    assert result.err.startswith("aegan: error:") and says in result.err, result.err
    assert len(result.err.strip().splitlines()) == 1
    assert not out.exists()


def test_predict_refuses_a_run_that_cannot_predict(cli, tmp_path):
    from aegan.models import AutoencoderConfig

    run = tmp_path / "ae"
    run.mkdir()
    config, spec = AutoencoderConfig(encoder=[4]), ExampleSpec.of_shape((1, 8, 8))
    write_json(run / "config.json", RunConfig(model=config, spec=spec).to_dict())
    save_model(run, build_model(config, spec))
    result = cli("predict", run, "--frames", "digits", "--out", tmp_path / "o.gif")
    assert result.code == 2 and "predict" in result.err
    assert not (tmp_path / "o.gif").exists()


# -- folders of numbered frames ----------------------------------------------------------------
def _frame_folders(root, sequences: np.ndarray) -> None:
    """Write ``[N, T, H, W]`` in [0, 1] as ``root/seq_i/frame_t.png`` (unpadded numbers, so
    that name order and frame order differ past 9 frames)."""
    from PIL import Image

    for i, sequence in enumerate(sequences):
        folder = root / f"seq_{i}"
        folder.mkdir(parents=True)
        for t, frame in enumerate(sequence):
            Image.fromarray((frame * 255).round().astype(np.uint8)).save(folder / f"frame_{t}.png")


def test_folders_of_numbered_frames_load_as_sequences_in_frame_order(tmp_path):
    from aegan.data import load_dataset

    rng = np.random.default_rng(4)
    sequences = np.round(rng.uniform(0, 1, (5, 12, 6, 6)) * 255) / 255  # 12 frames: 10 after 9
    _frame_folders(tmp_path / "clips", sequences)
    data = load_dataset(str(tmp_path / "clips"), kind="image-sequences",
                        derive={"name": "frames", "context": 8, "horizon": 4})
    assert data.kind == "image-sequences" and (len(data.train), len(data.valid)) == (4, 1)
    np.testing.assert_allclose(np.asarray(data.train.inputs)[:, :, 0], sequences[:4, :8],
                               atol=1e-6)
    np.testing.assert_allclose(np.asarray(data.valid.targets)[:, :, 0], sequences[4:, 8:],
                               atol=1e-6)


def test_predict_reads_a_folder_of_numbered_frames(forecaster_run, cli, tmp_path):
    run, path = forecaster_run
    _frame_folders(tmp_path, np.load(path)[:1])  # tmp_path/seq_0/frame_0.png ... frame_5.png
    out = tmp_path / "one.npy"
    result = cli("predict", run, "--frames", tmp_path / "seq_0", "--out", out)
    assert result.code == 0, result.err
    _, model = load_run(run)
    expected = model.predict_frames(torch.as_tensor(np.load(path)[:1, :3, None]), 2)
    np.testing.assert_allclose(np.load(out), expected.numpy(), atol=1e-2)  # 8-bit frames
