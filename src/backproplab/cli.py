"""The ``backproplab`` command line: it parses the arguments and hands them to a pipeline
(declared in ``pipelines``) or a tool, nothing else.

A pipeline's flags come from its settings class (``settings.add_flags``); ``--help``
shows every default. An expected failure (a bad flag, missing or broken data, a run
folder that cannot be written, a full disk) is one ``error:`` line and exit status 2; a
failed check exits 1; Ctrl-C or SIGTERM exits 130 saying how to resume. Anything else is
a bug: one line too, with exit status 1 and how to see the traceback (``--debug``, or
``BACKPROPLAB_DEBUG=1``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from . import __version__, settings
from .errors import BackproplabError, UsageError

DESCRIPTION = """backproplab: a NumPy neural-network library whose every gradient is checked, the pipelines
of the homework it grew out of (Iris, Fashion-MNIST, CIFAR-10), and a grader for your own homework."""
EPILOG = """examples:
  backproplab all --download --resume        the whole homework, then report.html (what `make run` runs)
  backproplab fashion --engine numpy         the Fashion-MNIST MLP in NumPy
  backproplab check path/to/hw6              grade your own neural_networks package
  backproplab COMMAND --help                 the flags of one command, with their defaults"""


def _global_flags(parser: argparse.ArgumentParser, top: bool) -> None:
    # on the subcommands too, so that they work before or after it; SUPPRESS keeps a
    # subcommand from resetting a flag given before it
    parser.add_argument("--debug", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="show the traceback of an error (for bug reports)")


def build_parser() -> argparse.ArgumentParser:
    from .pipelines import PIPELINES
    from .pipelines.homework import AllOptions
    from .runs.options import RunOptions

    parser = argparse.ArgumentParser(prog="backproplab", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"backproplab {__version__}")
    _global_flags(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str, description: str | None = None) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=text, description=description or text)
        _global_flags(p, top=False)
        return p

    for pipeline in PIPELINES:
        if pipeline.command:
            p = command(pipeline.name, pipeline.help)
            settings.add_flags(p, pipeline.config)
            settings.add_flags(p, RunOptions)
    g = command("gradcheck", "check every analytic gradient against finite differences")
    g.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default: 0)")
    settings.add_flags(command("all", "the whole homework, then the report (what `make run` runs)"), AllOptions)
    r = command("report", "build report.html and report.md from run folders")
    r.add_argument("dirs", nargs="+", metavar="FOLDER", help="run or sweep folders, or folders that hold them")
    r.add_argument("--out", help="where to write the report (default: the first FOLDER, or the folder holding "
                                 "the run folders named)")
    t = command("runs", "a table of run folders: the settings that differ and the results")
    t.add_argument("dirs", nargs="*", default=["experiments"], metavar="FOLDER",
                   help="run folders, or folders holding them at any depth (default: experiments)")
    t.add_argument("--csv", help="also write the whole table as CSV to this file")
    t.add_argument("--markdown", help="also write the table as Markdown to this file")
    from .data import datasets

    d = command("download", "download a data set (checksum verified) into the cache")
    d.add_argument("dataset", choices=sorted(datasets()), help="which data set")
    from .check.cli import DESCRIPTION as CHECK, add_check_flags

    add_check_flags(command("check", "grade your own homework package part by part (or check a CIFAR-10 "
                                     "predictions.csv)", CHECK))
    return parser


# -- the commands ------------------------------------------------------------------------


def require_torch(what: str) -> None:
    try:
        import torch  # noqa: F401  (the command needs it next anyway)
    except ImportError as err:
        raise UsageError(f"{what} trains with PyTorch, which cannot be imported here ({err}): pip install "
                         "'backproplab[torch]' (README: Installing PyTorch has the small CPU-only build)") from None


def cmd_pipeline(args) -> int:
    from .pipelines import by_name
    from .runs.options import RunOptions
    from .runs.run import process_rank

    pipeline = by_name(args.command)
    config = settings.from_args(pipeline.config, args)
    options = settings.from_args(RunOptions, args)
    if pipeline.needs_torch(config):
        require_torch(f"backproplab {pipeline.name} with these settings")
    summary = pipeline.run(config, options)
    if process_rank() == 0:  # under torchrun, one process speaks for the job
        print(pipeline.describe_result(summary))
    return 0


def cmd_gradcheck(args) -> int:
    from .nn.gradcheck import format_table, gradient_check_table

    rows = gradient_check_table(seed=args.seed)
    print(format_table(rows))
    return 0 if all(r.passed for r in rows) else 1


def cmd_all(args) -> int:
    from .pipelines.homework import AllOptions, run_all

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
    from .data import datasets

    print(f"{args.dataset}: {datasets()[args.dataset].fetch_to_cache()}")
    return 0


def cmd_check(args) -> int:
    from .check.cli import run_check

    return run_check(args)


COMMANDS = {"gradcheck": cmd_gradcheck, "all": cmd_all, "report": cmd_report, "runs": cmd_runs,
            "download": cmd_download, "check": cmd_check}


# -- the one error path ----------------------------------------------------------------


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"stopped by signal {signal.Signals(signum).name}")


def _one_line(err: BaseException) -> str:
    notes = getattr(err, "__notes__", [])
    return "\n".join([str(err) or type(err).__name__, *notes])


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except KeyboardInterrupt:  # Ctrl-C while the parser imports the pipelines
        print("backproplab: interrupted", file=sys.stderr)
        return 130
    debug = getattr(args, "debug", False) or os.environ.get("BACKPROPLAB_DEBUG", "") not in ("", "0")
    import matplotlib

    matplotlib.use("Agg")  # the command line draws into files only (the library never picks a backend)
    previous = signal.signal(signal.SIGTERM, _terminate)  # SIGTERM ends a run as Ctrl-C does (main thread)
    prefix = f"backproplab {args.command}"
    try:
        return COMMANDS.get(args.command, cmd_pipeline)(args)
    except KeyboardInterrupt as err:
        if debug:
            raise
        print(f"{prefix}: interrupted{': ' + _one_line(err) if str(err) or getattr(err, '__notes__', None) else ''}",
              file=sys.stderr)
        return 130
    except (BackproplabError, OSError, MemoryError) as err:  # the project's own errors, and the machine's
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
