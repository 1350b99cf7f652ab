"""The ``aegan`` command line: parse flags, build a config, call the library, print results.

A problem the user can fix is printed as one line, ``aegan: error: …``, with exit status 2;
nothing already written is touched. So is an ``OSError`` (a full disk, a folder that cannot be
written): the line names the file and says what to do.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import sys
import time
from pathlib import Path

from aegan import __version__, progress
from aegan.errors import AeganError

FIGURE_MODES = ("all", "fast", "none")  # aegan.figures.FIGURE_MODES, without importing it

log = logging.getLogger("aegan")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, as every other user error
        self.exit(2, f"aegan: error: {message} (see '{self.prog} --help')\n")


def _epoch_printer(event) -> None:
    r = event.record
    parts = [f"{event.label} epoch {r['epoch']:>3}/{event.epochs}".lstrip()]
    parts += [f"{k} {v:.4f}" for k, v in r.items() if k.startswith(("train_", "valid_"))]
    print("  ".join(parts) + f"  ({r['time_s']:.2f} s)", flush=True)


def _int_list(text: str) -> list[int]:
    """``"0,3"`` -> ``[0, 3]`` for flags that list labels."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected labels like 0,3, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one label, like 0,3")
    return values


def _print_result(result: dict, as_json: bool) -> None:
    """One JSON object, or one ``key: value`` line per entry (lists of rows as a table)."""
    if as_json:
        print(json.dumps(result))
        return
    width = max(len(key) for key in result)
    for key, value in result.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            print(f"{key:>{width}}:")
            for row in value:
                print(" " * (width + 2) + "  ".join(f"{k} {_fmt(v)}" for k, v in row.items()))
        elif isinstance(value, dict):
            print(f"{key:>{width}}: " + ", ".join(f"{k} {_fmt(v)}" for k, v in value.items()))
        else:
            print(f"{key:>{width}}: {_fmt(value)}")


def _fmt(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _save_figure(fig, out: str | None, as_json: bool) -> None:
    """Write ``fig`` to ``out`` (a .png) when asked for one; say so (on stderr beside JSON)."""
    from aegan import viz

    if out is None:
        return
    stream = sys.stderr if as_json else sys.stdout
    if fig is None:
        print("no figure: it draws images, and these data are not images", file=stream)
        return
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"figure: {viz.save(fig, path)}", file=stream)


def _check_png(out: str | None) -> None:
    if out is not None and Path(out).suffix.lower() != ".png":
        raise AeganError(f"--out must name a .png file, got {out}")


def _default_out(name: str) -> Path:
    slug = name.replace("/", "-").replace(".json", "")
    return Path("runs") / f"{Path(slug).name}-{time.strftime('%Y%m%d-%H%M%S')}"


_OS_ADVICE = {
    errno.ENOSPC: "the disk is full; free some space and try again (a stopped run continues "
                  "with 'aegan train --resume RUN')",
    errno.EDQUOT: "the disk quota is used up; free some space and try again",
    errno.EACCES: "choose a folder you can write to",
    errno.EPERM: "choose a folder you can write to",
    errno.EROFS: "the filesystem is read-only; choose another folder",
    errno.ENOENT: "check the path; its folder must exist",
    errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
    errno.EISDIR: "the path is a folder; name a file",
}


def os_error_line(exc: OSError) -> str:
    """One line for an ``OSError``: what failed, on which file, and what to do."""
    where = f"{exc.filename}: " if exc.filename else ""
    advice = _OS_ADVICE.get(exc.errno, "check the path and the disk")
    return f"{where}{exc.strerror or exc}; {advice}"


# -- commands --------------------------------------------------------------------------------
def cmd_train(args) -> int:
    from aegan import api
    from aegan.presets import get_preset
    from aegan.run import load_config
    from aegan.train.distributed import from_env

    is_main = from_env().is_main  # under torchrun, rank 0 alone prints and draws
    if not is_main:
        progress.report_to(None)
    printer = [_epoch_printer] if is_main else []
    if args.resume:
        changed = [f for f in ("config", "data", "batch_size", "lr", "limit", "classes", "seed",
                               "device", "num_workers")
                   if getattr(args, f) is not None]
        if changed or args.out:
            flag = "--" + (changed[0].replace("_", "-") if changed else "out")
            raise AeganError(f"{flag} cannot be changed when resuming; only --epochs can")
        run_dir = api.resume(args.resume, args.epochs, args.data_dir, printer,
                             tensorboard=args.tensorboard, figures=args.figures)
    else:
        if args.config is None:
            raise AeganError("name a preset or a config .json to train (see 'aegan presets'), "
                             "or --resume RUN")
        is_file = args.config.endswith(".json") or Path(args.config).is_file()
        config = load_config(args.config) if is_file else get_preset(args.config)
        overrides = {"data": {"name": args.data, "limit": args.limit, "classes": args.classes},
                     "train": {"epochs": args.epochs, "batch_size": args.batch_size,
                               "seed": args.seed, "device": args.device,
                               "num_workers": args.num_workers},
                     "optim": {"lr": args.lr}}
        for section, values in overrides.items():
            values = {k: v for k, v in values.items() if v is not None}
            if values:
                config = config.replace(section, **values)
        if args.data is not None:
            config.spec = None  # other data: what they are is read again

        def announce(config, out: Path) -> None:  # once every check has passed
            if is_main:
                print(f"training {config.preset or args.config} on {config.data.name} into "
                      f"{out}", flush=True)

        out = Path(args.out) if args.out else _default_out(args.config)
        run_dir = api.train(config, out, args.data_dir, printer, tensorboard=args.tensorboard,
                            figures=args.figures, announce=announce)
    if not is_main:
        return 0
    print(f"run saved in {run_dir}")
    for path in sorted(run_dir.glob("*.png")):
        print(f"  figure: {path}")
    if args.figures != "all":
        print(f"  (every figure: 'aegan plot {run_dir}')")
    return 0


def cmd_evaluate(args) -> int:
    from aegan import api

    names = [n.strip() for n in args.metrics.split(",")] if args.metrics else None
    results = api.evaluate(args.run, args.data, args.split, args.data_dir, names,
                           nll_samples=args.nll_samples, features=args.features,
                           n_samples=args.n_samples, inception_weights=args.inception_weights,
                           probe_limit=args.probe_limit, normal_classes=args.normal_classes)
    if args.json:
        print(json.dumps(results))
        return 0
    notes = results.pop("notes", [])
    for key, value in results.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            _print_table(key, value)
        elif isinstance(value, float):
            print(f"{key:>16}: {value:.6g}")
        else:
            print(f"{key:>16}: {value}")
    if len(results) <= 4:  # the run, the data, the split and the examples: no metric applies
        print("no metric applies to this model with these data; 'aegan metrics' lists them")
    for note in notes:
        print(f"note: {note}")
    return 0


def _print_table(title: str, rows: list[dict]) -> None:
    """Rows of numbers as one table, a column per key (a metric beside its baselines)."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    cells = [[_fmt(row.get(k, "-")) for k in keys] for row in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    print(f"{title:>16}: " + "  ".join(k.rjust(w) for k, w in zip(keys, widths)))
    for cell in cells:
        print(" " * 18 + "  ".join(c.rjust(w) for c, w in zip(cell, widths)))


def cmd_metrics(args) -> int:
    from aegan.metrics import METRICS
    from aegan.models import CAPABILITIES

    rows = [{"name": m.name, "needs": [CAPABILITIES[c] for c in m.needs], "default": m.default,
             "description": m.description} for m in METRICS.values()]
    if args.json:
        print(json.dumps(rows))
    else:
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            needs = ", ".join(r["needs"]) + ("" if r["default"] else "; only when named")
            print(f"{r['name']:<{width}}  {r['description']} [needs {needs}]")
    return 0


def cmd_encode(args) -> int:
    from aegan import api

    codings = api.encode(args.run, args.data, args.out, args.split, args.data_dir)
    print(f"wrote {args.out}: codings of shape {list(codings.shape)}")
    return 0


def cmd_detect(args) -> int:
    from aegan.tasks import anomaly

    _check_png(args.out)
    config = anomaly.DetectConfig(args.threshold, args.split, args.normal_classes)
    report = anomaly.detect(args.run, args.data, config, args.data_dir)
    _print_result(report.summary, args.json)
    _save_figure(anomaly.figure(report) if args.out else None, args.out, args.json)
    return 0


def cmd_pretrain_classify(args) -> int:
    from aegan.tasks.classify import PretrainConfig, pretrain_classify

    config = PretrainConfig(labels=args.labels, seed=args.seed, split=args.split)
    _print_result(pretrain_classify(args.run, args.data, config, args.data_dir), args.json)
    return 0


def cmd_hash(args) -> int:
    from aegan.tasks import hashing

    _check_png(args.out)
    config = hashing.HashConfig(args.bits_threshold, args.split)
    report = hashing.hash_codes(args.run, args.data, config, args.data_dir)
    _print_result(report.summary, args.json)
    _save_figure(hashing.figure(report, config.per_bucket) if args.out else None, args.out,
                 args.json)
    return 0


def cmd_generate(args) -> int:
    from aegan.generation import generate

    samples, written, of, seconds = generate(args.run, args.n, args.out, args.seed, args.npy,
                                             args.label, args.steps, args.eta, args.guidance,
                                             args.sampler, args.variance, args.truncation)
    print(f"drew {len(samples)} samples {of}, of shape {list(samples.shape[1:])} "
          f"(seed {args.seed}) in {seconds:.2f} s: "
          f"{seconds / len(samples) * 1000:.1f} ms per image")
    shown = written if len(written) <= 3 else [*written[:2], f"... ({len(written)} files)"]
    for path in shown:
        print(f"  wrote {path}")
    return 0


def cmd_augment(args) -> int:
    from aegan.generation import augment

    x, y = augment(args.run, args.per_class, args.out, args.seed)
    print(f"wrote {args.out}: {len(x)} synthetic examples of shape {list(x.shape[1:])}, "
          f"{args.per_class} of each of {len(set(y.tolist()))} classes (x in [0, 1], y labels)")
    return 0


def cmd_interpolate(args) -> int:
    from aegan.generation import interpolate

    path = interpolate(args.run, args.out, args.mode, args.seed, tuple(args.between),
                       args.dim, args.steps, args.span, args.split, args.data_dir)
    print(f"wrote {path}")
    return 0


def cmd_plot(args) -> int:
    from aegan.figures import make_figures

    for path in make_figures(args.run, args.out, args.data_dir, mode=args.figures):
        print(path)
    return 0


def _report_metrics(args) -> tuple[dict | None, list[str] | None]:
    """``--no-metrics``: none computed ({}); else the ``--metrics`` names (None: all)."""
    if args.no_metrics:
        return {}, None
    return None, [n.strip() for n in args.metrics.split(",")] if args.metrics else None


def cmd_report(args) -> int:
    from aegan.report import write_report

    given, names = _report_metrics(args)
    print(f"wrote {write_report(args.run, args.out, args.data_dir, given, names)}")
    return 0


def cmd_compare(args) -> int:
    from aegan.compare import write_comparison

    given, names = _report_metrics(args)
    metrics = None if given is None else [given] * len(args.runs)
    print(f"wrote {write_comparison(args.runs, args.out, args.data_dir, metrics, names)}")
    return 0


def cmd_explore(args) -> int:
    from aegan.explorer import ExploreOptions, bind, open_run, serve

    options = ExploreOptions(args.split, args.points, args.map, args.seed)
    servers = []

    def bound(reads_data: bool) -> None:  # the run passed its checks: take the port first
        servers.append(bind(args.port))
        if reads_data:
            print(f"reading the {args.split} split and mapping up to {args.points:,} codings "
                  f"({'t-SNE' if args.map == 'tsne' else 'PCA'}) ...", flush=True)

    try:
        explorer = open_run(args.run, options, args.data, args.data_dir, bound)
        print(f"exploring {args.run} at {servers[0].url} (Ctrl-C stops)", flush=True)
        serve(servers[0], explorer)
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        for server in servers:
            server.server_close()
    return 0


def cmd_export(args) -> int:
    from aegan.export import export

    records = export(args.run, args.format, args.out)
    print(f"exported {len(records)} network{'s' * (len(records) != 1)} of {args.run} to "
          f"{args.out} ({args.format}), each checked against PyTorch on random inputs:")
    for r in records:
        print(f"  {r['file']}: {r['what']}; largest difference {r['max_difference']:.1e}")
    print(f"  {Path(args.out) / 'README.md'}: the inputs, outputs and value ranges of each")
    return 0


def cmd_presets(args) -> int:
    from aegan.presets import PRESETS

    rows = [{"name": p.name, "family": p.family, "description": p.description}
            for p in PRESETS.values()]
    if args.json:  # what each can do needs the model families: imported for --json alone
        from aegan.capabilities import names
        from aegan.presets import get_preset

        for row in rows:
            row["can"] = names(get_preset(row["name"]).model)
        print(json.dumps(rows))
    else:
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            print(f"{r['name']:<{width}}  {r['description']}")
    return 0


def cmd_datasets(args) -> int:
    from aegan.data import DATASETS

    if args.name is not None:
        return _describe_dataset(args)
    rows = [{"name": d.name, "embedded": d.embedded, "description": d.description}
            for d in DATASETS.values()]
    if args.json:
        print(json.dumps(rows))
    else:
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            print(f"{r['name']:<{width}}  {r['description']}")
        print("or a path to a .npy, .npz or .csv file, a folder of images (one sub-folder per "
              "class) or of image pairs; 'aegan datasets NAME|PATH' describes one")
    return 0


def _describe_dataset(args) -> int:
    """What one data set holds: its kind, each role's shape, its splits and classes."""
    from aegan.data import load_dataset

    data = load_dataset(args.name, args.data_dir, kind=args.kind, pairs=args.pairs)
    spec = data.spec.to_dict()
    splits = {name: len(data.split(name)) for name in ("train", "valid", "test")
              if getattr(data, name) is not None}
    result = {"name": data.name, "kind": spec["kind"], "roles": spec["shapes"],
              "value_range": spec["value_range"], "splits": splits,
              "classes": spec["classes"] or spec["num_classes"] or None}
    _print_result(result, args.json)
    return 0


def cmd_translate(args) -> int:
    from aegan.translation import translate

    done = translate(args.run, args.input, args.out, args.split, args.n, args.as_inputs,
                     args.data_dir)
    targets = " with their targets" if done["targets"] else ""
    print(f"translated {done['translated']} image(s){targets}: {done['input_shape']} -> "
          f"{done['output_shape']}")
    shown = done["wrote"] if len(done["wrote"]) <= 3 else [*done["wrote"][:2],
                                                           f"... ({len(done['wrote'])} files)"]
    for path in shown:
        print(f"  wrote {path}")
    return 0


def _translate_parser(sub) -> None:
    text = "translate images with an image-to-image run"
    p = sub.add_parser("translate", help=text, description=text)
    p.add_argument("run", metavar="RUN", help="a run folder of a translator (e.g. preset colorize)")
    p.add_argument("--input", required=True, metavar="FILE|DIR|DATASET",
                   help="an image, a folder of images, or a data set (name or path; its "
                        "--split, first -n examples)")
    p.add_argument("--out", required=True, metavar="FILE.png|FILE.npy|DIR",
                   help="a grid (input | output | target), the outputs as .npy (images in "
                        "[0, 1]), or a new folder of one PNG per output")
    p.add_argument("--split", choices=["train", "valid", "test"], default="test",
                   help="the split of a data set given as --input (default: test)")
    p.add_argument("-n", type=int, default=8, metavar="N",
                   help="examples of a data set (default: 8)")
    p.add_argument("--as-inputs", action="store_true",
                   help="read the images as the model's inputs as they are (default: through "
                        "the run's data.derive, so a target is shown: a photograph's colours, "
                        "a large image for super-resolution)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="a folder holding the data set's files (no download)")
    p.set_defaults(handler=cmd_translate)


def cmd_predict(args) -> int:
    from aegan.forecast import predict

    done = predict(args.run, args.frames, args.out, args.context, args.steps, args.n,
                   args.data_dir)
    truth = (f", truth known for {done['truth_steps']}" if done["truth_steps"] else "")
    print(f"predicted {done['steps']} frame(s) after {done['context']} for "
          f"{done['sequences']} sequence(s){truth}")
    if "mse_frame" in done:
        print(f"  mse per frame {done['mse_frame']:.4g} (copy last frame "
              f"{done['mse_frame_copy_last']:.4g})" + (f", ssim {done['ssim']:.4f} (copy last "
                                                      f"frame {done['ssim_copy_last']:.4f})"
                                                      if "ssim" in done else ""))
    for path in done["wrote"]:
        print(f"  wrote {path}")
    return 0


def _predict_parser(sub) -> None:
    text = "predict the frames that follow with a forecaster run"
    p = sub.add_parser("predict", help=text, description=text)
    p.add_argument("run", metavar="RUN", help="a run folder of a forecaster (e.g. preset simvp)")
    p.add_argument("--frames", required=True, metavar="FILE|DIR|DATASET",
                   help="a .npy/.npz of sequences [N, T, H, W] or [N, T, C, H, W], a folder of "
                        "numbered frames, or a data set (its test split's first -n sequences)")
    p.add_argument("--out", required=True, metavar="FILE.gif|FILE.png|FILE.npy|DIR",
                   help="an animated GIF, a strip (context | prediction | truth), the "
                        "predictions as .npy, or a new folder with all of them and the "
                        "per-step error curve")
    p.add_argument("--context", type=int, metavar="N",
                   help="the first N frames of each sequence are the context, the rest the "
                        "truth (default: the model's context)")
    p.add_argument("--steps", type=int, metavar="N",
                   help="frames to predict, beyond the trained horizon by feeding predictions "
                        "back (default: the model's horizon)")
    p.add_argument("-n", type=int, default=4, metavar="N",
                   help="sequences of a data set (default: 4)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="a folder holding the data set's files (no download)")
    p.set_defaults(handler=cmd_predict)


def cmd_demo(args) -> int:
    from aegan.demo import run_demo

    run_demo(Path(args.out) if args.out else _default_out("demo"), _epoch_printer)
    return 0


# -- parser ----------------------------------------------------------------------------------
SPLITS = ["train", "valid", "test"]


def _data_flags(p: argparse.ArgumentParser, train: bool = False) -> None:
    own = "the preset's or config's" if train else "the run's own"
    p.add_argument("--data", metavar="NAME|PATH",
                   help="a data set name (see 'aegan datasets'), a .npy/.npz/.csv file or a "
                        f"folder of images (default: {own})")
    p.add_argument("--data-dir", metavar="DIR",
                   help="folder holding MNIST / Fashion-MNIST IDX files (default: "
                        + ("$AEGAN_DATA_DIR, else the download cache; the run remembers it)"
                           if train else "where the run read them, $AEGAN_DATA_DIR, the cache)"))


def _split_flag(p: argparse.ArgumentParser, default: str, what: str = "the split used") -> None:
    p.add_argument("--split", choices=SPLITS, default=default,
                   help=f"{what} (default: {default})")


def _run_command(sub, name: str, handler, text: str, split: str | None = None):
    """A subcommand on a run: RUN, the data flags, ``--split`` (given a default) and ``--json``."""
    p = sub.add_parser(name, help=text, description=text)
    p.add_argument("run", metavar="RUN", help="a run folder written by 'aegan train'")
    _data_flags(p)
    if split is not None:
        _split_flag(p, split)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=handler)
    return p


def _train_parser(sub) -> None:
    text = "train a preset or a config file"
    p = sub.add_parser("train", help=text, description=text)
    p.add_argument("config", nargs="?", metavar="PRESET|CONFIG",
                   help="a preset (see 'aegan presets') or a config .json (a run's config.json)")
    _data_flags(p, train=True)
    keep = "(default: the preset's or config's)"
    p.add_argument("--epochs", type=int, metavar="N", help=f"epochs to train {keep}")
    p.add_argument("--batch-size", type=int, metavar="N", help=f"examples per step {keep}")
    p.add_argument("--lr", type=float, metavar="LR", help=f"learning rate {keep}")
    p.add_argument("--limit", type=int, metavar="N",
                   help="train on the first N training examples only (default: all)")
    p.add_argument("--classes", type=_int_list, metavar="A,B",
                   help="keep only these labels in the train and valid splits, not test "
                        "(default: every class)")
    p.add_argument("--seed", type=int, metavar="S",
                   help=f"seed of the initial weights and the shuffling {keep}")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"],
                   help=f"auto: a CUDA GPU when there is one {keep}")
    p.add_argument("--num-workers", type=int, metavar="N",
                   help="reader processes when data stream from disk, large .npy or image "
                        "folders (default: 0, read in the trainer)")
    p.add_argument("--out", metavar="DIR", help="new run folder (default: runs/NAME-TIME)")
    p.add_argument("--resume", metavar="RUN", help="continue this run from its last checkpoint")
    p.add_argument("--figures", choices=list(FIGURE_MODES), default="fast",
                   help="figures drawn after training: fast (a codings map of 500 examples), "
                        "all (2,000; 'aegan plot RUN' draws them later) or none (default: fast)")
    p.add_argument("--tensorboard", action="store_true",
                   help="also log scalars and image grids to RUN/tensorboard "
                        "(needs: pip install aegan[tensorboard])")
    p.set_defaults(handler=cmd_train)


def _evaluate_parser(sub) -> None:
    p = _run_command(sub, "evaluate", cmd_evaluate, "metrics of a run on a split", "valid")
    p.add_argument("--metrics", metavar="A,B",
                   help="metric names, see 'aegan metrics' (default: every default metric that "
                        "applies)")
    p.add_argument("--nll-samples", type=int, metavar="K",
                   help="importance samples per example of the likelihood (nll) metric; 1000 "
                        "is the protocol of benchmarks/RESULTS.md (default: 100; memory stays "
                        "bounded for any K)")
    p.add_argument("--features", choices=["inception", "classifier"],
                   help="features of fid/kid/precision_recall (default: inception when its "
                        "network is found, else a classifier trained on the data set)")
    p.add_argument("--n-samples", type=int, metavar="N",
                   help="samples (and real examples) of the sample metrics; 10000 is the "
                        "literature's (default: 2000)")
    p.add_argument("--inception-weights", metavar="PATH",
                   help="the TorchScript FID Inception network; 'download' fetches it into the "
                        "cache, checksum checked (default: the cache, or aegan[fid])")
    p.add_argument("--probe-limit", type=int, metavar="N",
                   help="training examples of the probe metric (default: 10000)")
    p.add_argument("--normal-classes", type=_int_list, metavar="A,B",
                   help="labels that are normal, for the anomaly metric (default: the run's "
                        "--classes)")


def _generation_parsers(sub) -> None:
    text = "draw new examples from a generative model"
    p = sub.add_parser("generate", help=text, description=text)
    p.add_argument("run", metavar="RUN", help="a run folder of a model that samples")
    p.add_argument("-n", type=int, default=12, metavar="N",
                   help="how many (default: 12, the book's 3x4 grid)")
    p.add_argument("--out", metavar="FILE.png|DIR",
                   help="an image (.png, .jpg, .pdf, .svg) of one grid of every sample, or a "
                        "new folder of one PNG per sample")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws (default: 0)")
    p.add_argument("--npy", metavar="FILE.npy", help="also save the samples as an array [N, ...]")
    p.add_argument("--label", metavar="L",
                   help="draw examples of class L, a number or a name such as dress (a "
                        "conditional model, such as preset cgan)")
    p.add_argument("--steps", type=int, metavar="S",
                   help="a diffusion model's sampler visits S of its T timesteps, from T - 1 "
                        "down (default: the run's)")
    p.add_argument("--sampler", choices=["ddim", "ddpm"],
                   help="a diffusion model's sampler: DDIM or DDPM's ancestral sampling")
    p.add_argument("--eta", type=float, metavar="E",
                   help="DDIM's noise: 0 deterministic (default) to 1 (DDPM's small variance)")
    p.add_argument("--variance", choices=["small", "large"],
                   help="the ddpm sampler's noise: the posterior's variance (small) or beta (large)")
    p.add_argument("--guidance", type=float, metavar="W",
                   help="classifier-free guidance of a conditional diffusion model: 0 "
                        "unconditional, 1 conditional, more: stronger")
    p.add_argument("--truncation", type=float, metavar="PSI",
                   help="the truncation trick of a StyleGAN (preset stylegan): w drawn toward "
                        "the mean of w, 1 none (default) to 0 the mean image; 0.7 is usual")
    p.set_defaults(handler=cmd_generate)

    _translate_parser(sub)
    _predict_parser(sub)

    text = "synthetic labelled examples from a conditional model"
    p = sub.add_parser("augment", help=text, description=text)
    p.add_argument("run", metavar="RUN", help="a run folder of a conditional model")
    p.add_argument("--per-class", type=int, required=True, metavar="N",
                   help="examples of each class")
    p.add_argument("--out", required=True, metavar="FILE.npz",
                   help="new .npz with x [N, ...] in [0, 1] and y [N] labels")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws (default: 0)")
    p.set_defaults(handler=cmd_augment)

    text = "draw interpolations in a generative model's codings"
    p = sub.add_parser("interpolate", help=text, description=text)
    p.add_argument("run", metavar="RUN", help="a run folder")
    p.add_argument("--out", required=True, metavar="FILE.png", help="the figure to write")
    p.add_argument("--mode", default="grid", choices=["grid", "line", "traverse"],
                   help="grid: the book's semantic interpolation of prior codings; line: between "
                        "two examples' codings; traverse: one coding dimension at a time "
                        "(default: grid)")
    p.add_argument("--seed", type=int, default=0,
                   help="of the prior codings (grid; traverse: a GAN's held coding) (default: 0)")
    p.add_argument("--between", type=int, nargs=2, default=[0, 1], metavar=("I", "J"),
                   help="the two examples of --split to join (line) (default: 0 1)")
    _split_flag(p, "valid", "the split of --between's examples")
    p.add_argument("--dim", type=int, action="append", metavar="D",
                   help="a coding dimension to traverse, repeatable (default: every one)")
    p.add_argument("--steps", type=int, default=9,
                   help="images per line or traversal (default: 9)")
    p.add_argument("--span", type=float, default=3.0,
                   help="traverse from -SPAN to SPAN prior standard deviations (default: 3)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="folder of the run's data, for --mode line (default: where the run "
                        "read them)")
    p.set_defaults(handler=cmd_interpolate)


def _task_parsers(sub) -> None:
    text = "save the codings of a data set as .npy"
    p = sub.add_parser("encode", help=text, description=text)
    p.add_argument("run", metavar="RUN", help="a run folder of a model that encodes")
    _data_flags(p)
    _split_flag(p, "test", "the split encoded")
    p.add_argument("--out", required=True, metavar="FILE.npy",
                   help="the codings [N, z_dim] as a NumPy file")
    p.set_defaults(handler=cmd_encode)

    p = _run_command(sub, "detect", cmd_detect, "anomaly scores: reconstruction errors above "
                     "a quantile of the training errors are flagged", "test")
    p.add_argument("--threshold", type=float, default=0.99, metavar="Q",
                   help="flag scores above quantile Q (0 < Q < 1) of the training scores "
                        "(default: 0.99)")
    p.add_argument("--normal-classes", type=_int_list, metavar="A,B",
                   help="labels that are normal, for AUROC (default: the run's --classes)")
    p.add_argument("--out", metavar="FIG.png",
                   help="draw score histograms and the most anomalous images")

    p = _run_command(sub, "pretrain-classify", cmd_pretrain_classify, "a classifier on the "
                     "run's encoder, trained on N labels, against the same one from scratch",
                     "test")
    p.add_argument("--labels", type=int, required=True, metavar="N",
                   help="number of labelled training examples to use")
    p.add_argument("--seed", type=int, default=42,
                   help="seed of the labelled examples and the heads (default: 42)")

    p = _run_command(sub, "hash", cmd_hash, "binary codes (codings rounded) and their buckets",
                     "test")
    p.add_argument("--bits-threshold", type=float, default=0.5, metavar="T",
                   help="codings at or above T are 1, below 0, 0 < T < 1 (default: 0.5)")
    p.add_argument("--out", metavar="FIG.png", help="draw the largest buckets as image rows")


def _page_parsers(sub) -> None:
    text = "draw a run's figures"
    p = sub.add_parser("plot", help=text, description=text)
    p.add_argument("run", metavar="RUN", help="a run folder")
    p.add_argument("--out", metavar="DIR", help="folder for the PNGs (default: the run folder)")
    p.add_argument("--figures", choices=["all", "fast"], default="all",
                   help="all (a codings map of 2,000 examples) or fast (500) (default: all)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="folder of the run's data (default: where the run read them)")
    p.set_defaults(handler=cmd_plot)

    for name, handler, text in (("report", cmd_report, "one self-contained HTML page of a run"),
                                ("compare", cmd_compare, "an HTML page of runs side by side")):
        p = sub.add_parser(name, help=text, description=text)
        if name == "report":
            p.add_argument("run", metavar="RUN", help="a run folder")
        else:
            p.add_argument("runs", nargs="+", metavar="RUN", help="two or more run folders")
        p.add_argument("--out", required=True, metavar="FILE.html",
                       help="the page to write (one self-contained file)")
        p.add_argument("--data-dir", metavar="DIR",
                       help="folder of the runs' data (default: where each run read them)")
        p.add_argument("--metrics", metavar="A,B",
                       help="metric names (default: every default metric that applies)")
        p.add_argument("--no-metrics", action="store_true",
                       help="compute no metrics (history, figures and config only)")
        p.set_defaults(handler=handler)


def _explore_parser(sub) -> None:
    text = "look into a run's latent space in the browser"
    p = sub.add_parser("explore", help=text, description=text + ": a page served on "
                       "127.0.0.1 until Ctrl-C (a codings map, sliders per coding, samples, "
                       "outputs of translators and forecasters, as the model can)")
    p.add_argument("run", metavar="RUN", help="a run folder written by 'aegan train'")
    p.add_argument("--port", type=int, default=8765, metavar="P",
                   help="port on 127.0.0.1; 0 picks a free one (default: 8765)")
    _data_flags(p)
    _split_flag(p, "valid", "the split mapped and offered")
    p.add_argument("--map", choices=["tsne", "pca"], default="tsne",
                   help="how codings wider than 2 are mapped to the plane (default: tsne)")
    p.add_argument("--points", type=int, default=1000, metavar="N",
                   help="examples on the codings map (default: 1000)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the map and the first sample (default: 0)")
    p.set_defaults(handler=cmd_explore)

    text = "export a run's networks for use outside aegan (ONNX or TorchScript)"
    p = sub.add_parser("export", help=text, description=text + ": the encoder, decoder or "
                       "generator, classifier, translator or forecaster, as the model has them, "
                       "each checked against PyTorch, with a README of their inputs and outputs")
    p.add_argument("run", metavar="RUN", help="a run folder written by 'aegan train'")
    p.add_argument("--format", required=True, choices=["onnx", "torchscript"],
                   help="onnx (needs: pip install 'aegan[export]') or torchscript")
    p.add_argument("--out", required=True, metavar="DIR", help="a new folder for the files")
    p.set_defaults(handler=cmd_export)


def _listing_parsers(sub) -> None:
    for name, fn, text in (("metrics", cmd_metrics, "list the metrics of 'aegan evaluate'"),
                           ("presets", cmd_presets, "list the presets"),
                           ("datasets", cmd_datasets, "list the data sets, or describe one")):
        p = sub.add_parser(name, help=text, description=text)
        if name == "datasets":
            p.add_argument("name", nargs="?", metavar="NAME|PATH",
                           help="describe this data set: its kind, roles, splits and classes")
            p.add_argument("--data-dir", metavar="DIR",
                           help="folder holding MNIST / Fashion-MNIST IDX files (default: "
                                "$AEGAN_DATA_DIR, else the download cache)")
            p.add_argument("--kind", default="auto",
                           choices=["auto", "vectors", "images", "sequences", "image-sequences"],
                           help="what a file's examples are (default: auto, from their "
                                "dimensions)")
            p.add_argument("--pairs", choices=["left-right", "right-left", "folders"],
                           help="a folder of image pairs, and how they are laid out")
        p.add_argument("--json", action="store_true",
                       help="print JSON" + (" (with what each preset's model can do)"
                                            if name == "presets" else ""))
        p.set_defaults(handler=fn)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="aegan", description="Autoencoders and GANs: learn codings, generate data.")
    parser.add_argument("--version", action="version", version=f"aegan {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    text = "train the linear and stacked autoencoders on embedded data"
    p = sub.add_parser("demo", help=text, description=text)
    p.add_argument("--out", metavar="DIR", help="new folder of the two runs (default: "
                                                "runs/demo-TIME)")
    p.set_defaults(handler=cmd_demo)
    _train_parser(sub)
    _evaluate_parser(sub)
    _generation_parsers(sub)
    _task_parsers(sub)
    _page_parsers(sub)
    _explore_parser(sub)
    _listing_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    progress.report_to(sys.stderr)  # long work shows progress on standard error
    try:
        return args.handler(args)
    except BrokenPipeError:  # output piped into a reader that stopped early, as `| head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 141  # the shell's status for a command ended by SIGPIPE
    except AeganError as exc:
        print(f"aegan: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"aegan: error: {os_error_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aegan: interrupted; a run continues from its last epoch with "
              "'aegan train --resume RUN'", file=sys.stderr)
        return 130
    finally:
        progress.report_to(None)
