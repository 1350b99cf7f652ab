"""Commands that show a run or ship it: ``plot``, ``report``, ``compare``, ``explore``,
``export``."""

from __future__ import annotations

from pathlib import Path

from aegan.cli.common import _data_flags, _split_flag


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
