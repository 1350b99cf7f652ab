"""Commands that make examples from a run: ``generate``, ``augment``, ``interpolate``,
``translate``, ``predict``."""

from __future__ import annotations

from aegan.cli.common import _split_flag


def cmd_generate(args) -> int:
    from aegan.generation import generate

    samples, written, of, seconds = generate(args.run, args.n, args.out, args.seed, args.npy,
                                             args.label, args.steps, args.eta, args.guidance,
                                             args.sampler, args.variance, args.truncation,
                                             args.precision)
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
    from aegan.interpolation import interpolate

    path = interpolate(args.run, args.out, args.mode, args.seed, tuple(args.between),
                       args.dim, args.steps, args.span, args.split, args.data_dir, args.space)
    print(f"wrote {path}")
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
                   args.data_dir, args.floor)
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
    p.add_argument("--floor", type=float, metavar="F",
                   help="set predicted pixels below F to 0, for an exactly black background "
                        "(default: the run's model.floor, 0 unless set)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="a folder holding the data set's files (no download)")
    p.set_defaults(handler=cmd_predict)


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
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"],
                   help="a diffusion model's network passes while sampling: fp32 or bf16 "
                        "autocast, faster where the device computes bf16 natively; auto: bf16 "
                        "there, else fp32 (default: the run's, auto)")
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
    p.add_argument("--space", default="auto", choices=["auto", "z", "w"],
                   help="where the grid interpolates: a style model's w or the codings z "
                        "(default: auto, w when the model has one)")
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
