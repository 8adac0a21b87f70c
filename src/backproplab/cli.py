"""The ``backproplab`` command: argument parsing and dispatch, nothing else.

The flags of ``iris``, ``fashion`` and ``cifar`` are made from the settings' declarations
(``settings.add_flags``); ``--help`` shows every default. Every expected failure (a bad
flag, missing or broken data, a run folder that cannot be written) is printed as one
``error:`` line and exits with status 2; a failed check exits 1; Ctrl-C or SIGTERM
exits 130 with a line saying how to resume. ``--debug`` (or ``BACKPROPLAB_DEBUG=1``)
shows the traceback instead, for bug reports.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from . import __version__, settings
from .errors import BackproplabError

PIPELINES = {"iris": "backproplab.iris:IrisConfig", "fashion": "backproplab.fashion:FashionConfig",
             "cifar": "backproplab.cifar:CifarConfig"}
HELP = {"gradcheck": "check every analytic gradient against finite differences",
        "iris": "the two-layer NumPy network on Iris: one run, or a sweep chosen by cross-validation",
        "fashion": "Fashion-MNIST: the MLP in PyTorch or NumPy, or the NumPy CNN",
        "cifar": "CIFAR-10: train the CNN and write predictions.csv",
        "all": "the whole homework, then the report (what `make run` runs)",
        "report": "build report.html and report.md from run or sweep folders",
        "runs": "a table of run folders: the settings that differ and the results",
        "download": "download a data set (checksum verified) into the cache",
        "check": "grade your own homework package part by part (or check a CIFAR-10 predictions.csv)"}


def config_class(command: str):
    import importlib

    module, name = PIPELINES[command].split(":")
    return getattr(importlib.import_module(module), name)


def build_parser() -> argparse.ArgumentParser:
    from .homework import AllOptions
    from .runs.options import RunOptions

    parser = argparse.ArgumentParser(prog="backproplab", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"backproplab {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (for bug reports)")
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("gradcheck", help=HELP["gradcheck"])
    g.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default: 0)")
    for command in PIPELINES:
        p = sub.add_parser(command, help=HELP[command])
        settings.add_flags(p, config_class(command))
        settings.add_flags(p, RunOptions)
    a = sub.add_parser("all", help=HELP["all"])
    settings.add_flags(a, AllOptions)
    r = sub.add_parser("report", help=HELP["report"])
    r.add_argument("dirs", nargs="+", metavar="RUN_OR_SWEEP_DIR")
    r.add_argument("--out", help="where to write the report (default: the first folder)")
    t = sub.add_parser("runs", help=HELP["runs"])
    t.add_argument("dirs", nargs="*", default=["experiments"], metavar="DIR",
                   help="run folders, or folders holding them (default: experiments)")
    t.add_argument("--csv", help="also write the table as CSV to this file")
    t.add_argument("--markdown", help="also write the table as Markdown to this file")
    d = sub.add_parser("download", help=HELP["download"])
    d.add_argument("dataset", choices=["fashion", "cifar"], help="which data set")
    add_check_flags(sub.add_parser("check", help=HELP["check"], description=CHECK_DESCRIPTION))
    return parser


CHECK_DESCRIPTION = """Grade a learner's own neural_networks package: every activation, layer, the loss and the
model, each forward and backward against backproplab's (seeded random inputs, float64), with the likely
cause of each mistake. The learner's code runs in child processes with a time and memory limit per part;
this isolates faults (endless loops, huge allocations, sys.exit), it is not a security sandbox. Exit status:
0 when every part the package has passes, 1 otherwise, 2 on a usage error. Given a .csv file instead, checks
a CIFAR-10 predictions.csv as an autograder would."""


def add_check_flags(c: argparse.ArgumentParser) -> None:
    c.add_argument("path", metavar="PATH", help="the folder that holds your neural_networks/ package (or the "
                                                "package folder itself), or a CIFAR-10 predictions.csv")
    c.add_argument("--parts", action="append", metavar="GLOB",
                   help="only the parts whose names match, e.g. 'Conv2D.*' (repeat, or separate with commas)")
    c.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default: 0)")
    c.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    c.add_argument("--gradescope", metavar="FILE", help="also write Gradescope's results.json to FILE")
    c.add_argument("--rubric", metavar="FILE", help="JSON object part → points for --gradescope (default: one "
                                                    "point per part)")
    c.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="wall-clock limit per part (default: 10; training gets 4×)")
    c.add_argument("--memory", type=int, default=2048, metavar="MB", help="memory limit per part (default: 2048)")
    c.add_argument("--data-dir", help="where to find CIFAR-10's test labels to score a predictions.csv")
    c.add_argument("--overwrite", action="store_true", help="replace an existing --gradescope file")


# -- the commands ------------------------------------------------------------------------


def cmd_gradcheck(args) -> int:
    from .nn.gradcheck import format_table, gradient_check_table

    rows = gradient_check_table(seed=args.seed)
    print(format_table(rows))
    return 0 if all(r.passed for r in rows) else 1


def cmd_pipeline(args) -> int:
    import importlib

    from .runs.options import RunOptions
    from .runs.run import process_rank

    config = settings.from_args(config_class(args.command), args)
    options = settings.from_args(RunOptions, args)
    module = importlib.import_module(f"backproplab.{args.command}")
    completed = False
    try:
        summary = module.run(config, options)
        completed = True
    finally:
        if "backproplab.distributed" in sys.modules:  # leave torchrun's process group, if one was joined
            sys.modules["backproplab.distributed"].finish(completed)
    if process_rank() == 0:  # under torchrun, one process speaks for the job
        print(module.describe_result(summary))
    return 0


def cmd_all(args) -> int:
    from .homework import AllOptions, run_all

    status, report = run_all(settings.from_args(AllOptions, args))
    print(f"report: {report.resolve()}")
    return status


def cmd_report(args) -> int:
    from .report import build_report

    print(f"report: {build_report(args.dirs, args.out).resolve()}")
    return 0


def cmd_runs(args) -> int:
    from .report.compare import runs_table

    print(runs_table(args.dirs, csv_path=args.csv, markdown_path=args.markdown))
    return 0


def cmd_download(args) -> int:
    from .data import cifar10, fashion_mnist

    module = {"fashion": fashion_mnist, "cifar": cifar10}[args.dataset]
    print(f"{args.dataset}: {module.fetch_to_cache()}")
    return 0


def cmd_check(args) -> int:
    from .check.cli import run_check

    return run_check(args)


COMMANDS = {"check": cmd_check, "gradcheck": cmd_gradcheck, "iris": cmd_pipeline, "fashion": cmd_pipeline, "cifar": cmd_pipeline,
            "all": cmd_all, "report": cmd_report, "runs": cmd_runs, "download": cmd_download}


# -- the one error path ----------------------------------------------------------------


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"stopped by signal {signal.Signals(signum).name}")


def _one_line(err: BaseException) -> str:
    message = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    notes = getattr(err, "__notes__", [])
    return "\n".join([message or type(err).__name__, *notes])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    debug = args.debug or os.environ.get("BACKPROPLAB_DEBUG", "") not in ("", "0")
    import matplotlib

    matplotlib.use("Agg")  # the command line draws into files only (the library never picks a backend)
    previous = signal.signal(signal.SIGTERM, _terminate)  # SIGTERM ends a run as Ctrl-C does (main thread)
    prefix = f"backproplab {args.command}"
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt as err:
        if debug:
            raise
        print(f"{prefix}: interrupted{': ' + _one_line(err) if str(err) or getattr(err, '__notes__', None) else ''}",
              file=sys.stderr)
        return 130
    except (BackproplabError, ValueError, KeyError, OSError, FloatingPointError, MemoryError) as err:
        if debug:
            raise
        what = "out of memory" if isinstance(err, MemoryError) else _one_line(err)
        print(f"{prefix}: error: {what}", file=sys.stderr)
        return 2
    except Exception as err:  # a bug: still one line, and how to see the traceback
        if debug:
            raise
        print(f"{prefix}: internal error: {type(err).__name__}: {err} (this is a bug; rerun with --debug to see "
              "the traceback and please report it)", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
