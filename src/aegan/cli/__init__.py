"""The ``aegan`` command line: parse flags, build a config, call the library, print results.

A problem the user can fix is printed as one line, ``aegan: error: …``, with exit status 2;
nothing already written is touched. So is an ``OSError`` (a full disk, a folder that cannot be
written): the line names the file and says what to do.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from aegan import __version__, progress
from aegan.cli.common import (FIGURE_MODES, _check_png, _data_flags, _default_out, _epoch_printer,
                              _int_list, _print_result, _print_table, _run_command, _save_figure,
                              _split_flag, os_error_line)
from aegan.cli.generate import _generation_parsers
from aegan.cli.pages import _explore_parser, _page_parsers
from aegan.errors import AeganError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, as every other user error
        self.exit(2, f"aegan: error: {message} (see '{self.prog} --help')\n")


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
                   if getattr(args, f) is not None] + (["set"] if args.set else [])
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
        for setting in args.set:  # after the flags: the more specific wins
            config = config.assign(setting)
        if args.data is not None or any(s.startswith("data.") for s in args.set):
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
                           probe_limit=args.probe_limit, normal_classes=args.normal_classes,
                           truncation=args.truncation)
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


def cmd_demo(args) -> int:
    from aegan.demo import run_demo

    run_demo(Path(args.out) if args.out else _default_out("demo"), _epoch_printer)
    return 0


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
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="change one field of the config, repeatable: model.encoder=[256,64], "
                        "optim.lr=0.01, train.precision=bf16 (VALUE read as JSON, else as "
                        "text; SECTION one of model, data, optim, train; after the other flags; "
                        "default: none)")
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
    p.add_argument("--truncation", type=float, metavar="PSI",
                   help="draw the samples of fid/kid/precision_recall with the truncation trick "
                        "(a stylegan run; 1 leaves w as it is) (default: 1)")
    p.add_argument("--normal-classes", type=_int_list, metavar="A,B",
                   help="labels that are normal, for the anomaly metric (default: the run's "
                        "--classes)")


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
