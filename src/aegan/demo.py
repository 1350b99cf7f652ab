"""``aegan demo``: the book's first two ideas on data that ships with the install.

1. The undercomplete linear autoencoder on the book's 3-D points finds PCA's plane (17.2).
2. A small stacked autoencoder on scikit-learn's 8x8 digits, with reconstructions and a t-SNE
   map of its codings (17.3).
"""

from __future__ import annotations

from pathlib import Path

import torch

from aegan import api
from aegan.figures import make_figures
from aegan.io import new_run_dir
from aegan.presets import get_preset


def run_demo(out: Path, on_epoch=None) -> dict[str, dict]:
    new_run_dir(out)  # refuse an existing folder before any work
    threads = torch.get_num_threads()
    # Both models are tiny (3 and 64 features): a second thread has nothing to share but its
    # waits, and while any other process keeps a core busy each wait costs a time slice (the
    # demo took 243 s instead of 18 s on two loaded cores; benchmarks/RESULTS.md)
    torch.set_num_threads(1)
    try:
        return _run_demo(out, on_epoch)
    finally:
        torch.set_num_threads(threads)


def _run_demo(out: Path, on_epoch) -> dict[str, dict]:
    results = {}
    for preset, quiet_every in (("linear-pca", 250), ("stacked-digits", 20)):
        def printer(event, every=quiet_every):
            if on_epoch and (event.record["epoch"] % every == 0 or event.record["epoch"] == 1):
                on_epoch(event)

        run_dir = out / preset.replace("/", "-")
        print(f"\n== {preset}: {get_preset(preset).data.name}, {run_dir}")
        api.train(get_preset(preset), run_dir, callbacks=[printer], progress=False)
        result = api.evaluate(run_dir)
        results[preset] = result
        for path in make_figures(run_dir):
            print(f"  figure: {path}")
        print(f"  reconstruction MSE {result['recon_mse']:.6f}   PCA with "
              f"{result['pca_components']} components {result['pca_mse']:.6f}   "
              f"ratio {result['pca_ratio']:.4f}")
    print("\nThe linear autoencoder matches PCA (ratio 1); the non-linear stacked autoencoder "
          "beats PCA of the same width (ratio < 1).")
    return results
