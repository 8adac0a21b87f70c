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
    return parser


def cmd_gradcheck(args) -> int:
    from .nn.gradcheck import format_table, gradient_check_table

    rows = gradient_check_table(seed=args.seed)
    print(format_table(rows))
    return 0 if all(r.passed for r in rows) else 1


DEFAULT_IRIS_GRID = {"lr": [0.005, 0.05, 0.5], "hidden": [4, 16, 64]}


def cmd_iris(args) -> int:
    from .iris import IrisConfig, run_sweep, train_run

    lrs, hiddens = args.lr, args.hidden
    if lrs is None and hiddens is None:
        lrs, hiddens = DEFAULT_IRIS_GRID["lr"], DEFAULT_IRIS_GRID["hidden"]
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


COMMANDS = {"gradcheck": cmd_gradcheck, "iris": cmd_iris}


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
