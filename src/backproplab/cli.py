"""The ``backproplab`` command: argument parsing and dispatch, nothing else.

Every pipeline error that a user can fix (bad flag, missing data, existing run) is
printed as one ``error:`` line and exits with status 2; a failed check exits 1.
"""

from __future__ import annotations

import argparse
import os
import sys


def _csv_list(kind):
    def parse(text: str):
        try:
            values = [kind(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind.__name__}s; got {text!r}") from None
        if not values:
            raise argparse.ArgumentTypeError("expected at least one value")
        return values

    return parse


def _add_run_flags(p: argparse.ArgumentParser, default_out: str = "experiments") -> None:
    p.add_argument("--out", default=default_out, help="folder that holds the run folders (default: %(default)s)")
    p.add_argument("--name", help="run folder name (default: derived from the hyperparameters)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run folder of the same name")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _add_data_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="folder holding the data set (see README: Data)")
    p.add_argument("--download", action="store_true", help="fetch the official files if the data are not found")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backproplab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("gradcheck", help="check every analytic gradient against finite differences")
    g.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("iris", help="train the two-layer NumPy network on Iris (or a sweep)")
    p.add_argument("--hidden", type=_csv_list(int), default=None,
                   help="hidden units; comma-separated values run a sweep (default sweep: 4,16,64)")
    p.add_argument("--lr", type=_csv_list(float), default=None,
                   help="learning rate(s); comma-separated values run a sweep (default sweep: 0.005,0.05,0.5)")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=25)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--schedule", default="constant", help="constant | exponential | cosine")
    p.add_argument("--csv", dest="data", help="train on your own CSV (header row, numeric features, a label column)")
    p.add_argument("--label-column", help="the CSV's label column (default: the last)")
    _add_run_flags(p)

    f = sub.add_parser("fashion", help="Fashion-MNIST: the MLP in PyTorch or NumPy, or the NumPy CNN")
    f.add_argument("--engine", default="torch", help="torch (default) | numpy")
    f.add_argument("--model", default="mlp", help="mlp (default) | cnn (NumPy engine)")
    f.add_argument("--epochs", type=int)
    f.add_argument("--batch-size", type=int)
    f.add_argument("--lr", type=float, help="peak learning rate")
    f.add_argument("--warmup", type=float, help="epochs of linear warm-up before the cosine decay")
    f.add_argument("--optimizer", help="sgd | adam")
    f.add_argument("--momentum", type=float)
    f.add_argument("--weight-decay", type=float)
    f.add_argument("--dropout", type=float)
    f.add_argument("--hidden", type=_csv_list(int), help="MLP hidden widths, e.g. 512,512")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--train-limit", type=int, help="train on only this many images (a quick run)")
    f.add_argument("--test-limit", type=int, help="validate and test on only this many images")
    f.add_argument("--device", default="auto", help="cpu | cuda | auto (torch engine)")
    f.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")
    _add_data_flags(f)
    _add_run_flags(f)

    c = sub.add_parser("cifar", help="CIFAR-10: train the CNN and write predictions.csv")
    c.add_argument("--profile", help="cpu | cpu-long | gpu (default: gpu on CUDA, else cpu)")
    c.add_argument("--widths", type=_csv_list(int), help="channels of the stem and the three stages, e.g. 24,48,96,192")
    c.add_argument("--convs-per-block", type=int)
    c.add_argument("--epochs", type=int)
    c.add_argument("--batch-size", type=int)
    c.add_argument("--lr", type=float, help="peak learning rate")
    c.add_argument("--warmup", type=float, help="epochs of linear warm-up before the cosine decay")
    c.add_argument("--momentum", type=float)
    c.add_argument("--weight-decay", type=float)
    c.add_argument("--label-smoothing", type=float)
    c.add_argument("--crop-padding", type=int, help="random-crop translation in pixels (0: none)")
    c.add_argument("--no-flip", dest="flip", action="store_false", help="no random horizontal flips")
    c.add_argument("--tta", type=int, help="test-time augmentation: 0 the image only, 1 + its mirror image, "
                   "2 + both shifted by one pixel (default: the profile's)")
    c.add_argument("--no-tta", dest="tta", action="store_const", const=0, help="the same as --tta 0")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--train-limit", type=int, help="train on only this many images (a quick run)")
    c.add_argument("--test-limit", type=int, help="validate and test on only this many images")
    c.add_argument("--device", default="auto", help="cpu | cuda | auto")
    c.add_argument("--predict-on", help="a .npy of uint8 images (N x 3072 or N x 32 x 32 x 3) to predict")
    c.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")
    _add_data_flags(c)
    _add_run_flags(c)

    a = sub.add_parser("all", help="the whole homework, then the report (what `make run` runs)")
    a.add_argument("--out", default="experiments/homework", help="folder for every run and the report")
    a.add_argument("--quick", action="store_true", help="small slices of every data set: a check in minutes")
    a.add_argument("--overwrite", action="store_true", help="replace the results already in --out")
    a.add_argument("--device", default="auto", help="cpu | cuda | auto, for the PyTorch stages")
    a.add_argument("--no-progress", action="store_true", help="no progress bars")

    r = sub.add_parser("report", help="build report.html and report.md from run or sweep folders")
    r.add_argument("dirs", nargs="+", metavar="RUN_OR_SWEEP_DIR")
    r.add_argument("--out", help="where to write the report (default: the first folder)")
    return parser


def cmd_gradcheck(args) -> int:
    from .nn.gradcheck import format_table, gradient_check_table

    rows = gradient_check_table(seed=args.seed)
    print(format_table(rows))
    return 0 if all(r.passed for r in rows) else 1


def cmd_iris(args) -> int:
    from .iris import DEFAULT_GRID, IrisConfig, run_sweep, train_run

    lrs, hiddens = args.lr, args.hidden
    if lrs is None and hiddens is None:
        lrs, hiddens = DEFAULT_GRID["lr"], DEFAULT_GRID["hidden"]
    lrs, hiddens = lrs or [IrisConfig.lr], hiddens or [IrisConfig.hidden]
    base = IrisConfig(lr=lrs[0], hidden=hiddens[0], epochs=args.epochs, batch_size=args.batch_size,
                      momentum=args.momentum, seed=args.seed, schedule=args.schedule, data=args.data,
                      label_column=args.label_column)
    show = not args.no_progress
    if len(lrs) == 1 and len(hiddens) == 1:
        s = train_run(base, out=args.out, name=args.name, overwrite=args.overwrite, show_progress=show)
        print(f"test accuracy {s['test_accuracy']:.1%} (epoch {s['best_epoch']}, chosen by validation error)")
        print(f"run folder: {s['path']}")
        return 0
    s = run_sweep(lrs, hiddens, base, out=args.out, name=args.name, overwrite=args.overwrite, show_progress=show)
    print(open(os.path.join(s["path"], "sweep.md"), encoding="utf-8").read())
    print(f"sweep folder: {s['path']}")
    return 0


def cmd_fashion(args) -> int:
    from .fashion import FashionConfig, run

    fields = ("engine", "model", "epochs", "batch_size", "lr", "warmup", "optimizer", "momentum", "weight_decay",
              "dropout", "seed", "train_limit", "test_limit", "device", "data_dir", "download")
    config = FashionConfig(**{k: getattr(args, k) for k in fields})
    if args.hidden:
        config.hidden = args.hidden
    s = run(config, out=args.out, name=args.name, overwrite=args.overwrite, resume=args.resume,
            show_progress=not args.no_progress)
    print(f"test accuracy {s['test_accuracy']:.2%} after {s['epochs']} epochs "
          f"({s['train_seconds']:.0f} s training, {s['wall_seconds']:.0f} s in all, {s['device']})")
    print(f"run folder: {s['path']}")
    return 0


def cmd_cifar(args) -> int:
    from .cifar import CifarConfig, run

    fields = ("profile", "widths", "convs_per_block", "epochs", "batch_size", "lr", "warmup", "momentum",
              "weight_decay", "label_smoothing", "crop_padding", "flip", "tta", "seed", "train_limit", "test_limit",
              "device", "data_dir", "download", "predict_on")
    s = run(CifarConfig(**{k: getattr(args, k) for k in fields}), out=args.out, name=args.name,
            overwrite=args.overwrite, resume=args.resume, show_progress=not args.no_progress)
    if "test_accuracy" in s:
        print(f"test accuracy {s['test_accuracy']:.2%} after {s['epochs']} epochs "
              f"({s['train_seconds']:.0f} s training, {s['wall_seconds']:.0f} s in all, {s['device']})")
    print(f"predictions: {os.path.join(s['path'], 'predictions.csv')}")
    print(f"run folder: {s['path']}")
    return 0


def cmd_all(args) -> int:
    from .homework import run_all

    status, report = run_all(args.out, quick=args.quick, overwrite=args.overwrite,
                             show_progress=not args.no_progress, device=args.device)
    print(f"report: {report.resolve()}")
    return status


def cmd_report(args) -> int:
    from .report import build_report

    print(f"report: {build_report(args.dirs, args.out).resolve()}")
    return 0


COMMANDS = {"gradcheck": cmd_gradcheck, "iris": cmd_iris, "fashion": cmd_fashion, "cifar": cmd_cifar,
            "all": cmd_all, "report": cmd_report}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ValueError, KeyError, OSError, FloatingPointError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        print(f"backproplab {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"backproplab {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
