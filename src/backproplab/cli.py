"""The ``backproplab`` command line: it parses the arguments and hands them to a pipeline
(declared in ``pipelines``) or a tool, nothing else.

A pipeline's flags come from its settings class (``settings.add_flags``); ``--help``
shows every default. An expected failure (a bad flag, missing or broken data, a run
folder that cannot be written, a full disk) is one ``error:`` line and exit status 2; a
failed check exits 1; Ctrl-C or SIGTERM exits 130 saying how to resume. Anything else is
a bug: one line too, with exit status 3 and how to see the traceback (``--debug``, or
``BACKPROPLAB_DEBUG=1``). Every message is shown through ``check.text.visible``: a file
name or a learner's text with control characters cannot act on the terminal.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

from . import __version__, settings
from .check.text import visible
from .errors import BackproplabError, UsageError

#: the exit status of a bug (distinct from 1, a failed check, and 2, a usage error)
INTERNAL_ERROR = 3

DESCRIPTION = """backproplab: a NumPy neural-network library whose every gradient is checked, the pipelines
of the homework it grew out of (Iris, Fashion-MNIST, CIFAR-10), and a grader for your own homework."""
EPILOG = """examples:
  backproplab all --download --resume        the whole homework, then report.html (what `make run` runs)
  backproplab fashion --engine numpy         the Fashion-MNIST MLP in NumPy
  backproplab check path/to/hw6              grade your own neural_networks package
  backproplab grade submissions/             grade a class: gradebook, class report, feedback
  backproplab gradescope-autograder --rubric rubric.json   the zip to upload to Gradescope
  backproplab COMMAND --help                 the flags of one command, with their defaults"""


def _global_flags(parser: argparse.ArgumentParser, top: bool) -> None:
    # on the subcommands too, so that they work before or after it; SUPPRESS keeps a
    # subcommand from resetting a flag given before it
    parser.add_argument("--debug", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="show the traceback of an error (for bug reports)")


#: the commands that grade: their flags need none of the pipelines' modules
GRADING = ("check", "grade", "gradescope-autograder")


def build_parser(grading_only: bool = False) -> argparse.ArgumentParser:
    """Every command's parser; with ``grading_only``, only the grading commands' (a grading
    command parses in a fraction of the time, importing no pipeline)."""
    parser = argparse.ArgumentParser(prog="backproplab", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"backproplab {__version__}")
    _global_flags(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str, description: str | None = None, epilog: str | None = None
                ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=text, description=description or text, epilog=epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        _global_flags(p, top=False)
        return p

    if not grading_only:
        _pipeline_commands(command)
    _grading_commands(command)
    return parser


def _pipeline_commands(command) -> None:
    from .pipelines import PIPELINES
    from .pipelines.homework import AllOptions
    from .runs.options import RunOptions

    for pipeline in PIPELINES:
        if pipeline.command:
            p = command(pipeline.name, pipeline.help, epilog=settings.profile_table(pipeline.config))
            settings.add_flags(p, pipeline.config)
            settings.add_flags(p, RunOptions)
    settings.add_flags(command("all", "the whole homework, then the report (what `make run` runs)"), AllOptions)
    r = command("report", "build report.html and report.md from run folders")
    r.add_argument("dirs", nargs="+", metavar="FOLDER", help="run or sweep folders, or folders that hold them")
    r.add_argument("--out", help="where to write the report (default: the first FOLDER, or the folder holding "
                                 "the run folders named)")
    t = command("runs", "a table of run folders: the settings that differ and the results")
    t.add_argument("dirs", nargs="*", default=["experiments"], metavar="FOLDER",
                   help="run folders, or folders holding them at any depth (default: experiments)")
    t.add_argument("--wide", "--all", action="store_true", dest="wide",
                   help="every column, each cell whole (otherwise the table fits the terminal's width)")
    t.add_argument("--json", action="store_true", help="print every run, typed, as JSON instead of the table")
    t.add_argument("--csv", metavar="FILE", help="also write every run, typed, as CSV to FILE ('-': print it "
                                                 "instead of the table)")
    t.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown to FILE ('-': print it "
                                                      "instead)")
    from .data import datasets

    d = command("download", "download a data set (checksum verified) into the cache")
    d.add_argument("dataset", choices=sorted(datasets()), help="which data set")


def _grading_commands(command) -> None:
    from .check.cli import DESCRIPTION as CHECK, add_check_flags

    add_check_flags(command("check", "grade your own homework package part by part (or check a CIFAR-10 "
                                     "predictions.csv)", CHECK))
    from .check.grade.cli import DESCRIPTION as GRADE, add_grade_flags

    add_grade_flags(command("grade", "grade a class's submissions: gradebook, class report, feedback", GRADE))
    from .check.autograder import DESCRIPTION as AUTOGRADER, add_autograder_flags

    add_autograder_flags(command("gradescope-autograder", "build the autograder.zip to upload to a Gradescope "
                                                          "programming assignment", AUTOGRADER))


# -- the commands ------------------------------------------------------------------------


def require_torch(what: str) -> None:
    try:
        importlib.import_module("torch")  # the command needs it next anyway
    except ImportError as err:
        raise UsageError(f"{what} trains with PyTorch, which cannot be imported here ({err}): pip install "
                         "'backproplab[torch]' (README: Installing PyTorch has the small CPU-only build)") from None


def cmd_pipeline(args) -> int:
    from .launch import rank
    from .pipelines import by_name
    from .runs.files import read_json
    from .runs.folder import RunFinished
    from .runs.options import RunOptions

    pipeline = by_name(args.command)
    config = settings.from_args(pipeline.config, args)
    options = settings.from_args(RunOptions, args)
    if pipeline.needs_torch(config):
        require_torch(f"backproplab {pipeline.name} with these settings")
    try:
        summary = pipeline.run(config, options)
    except RunFinished as done:  # --resume of a finished run: nothing to do, and no failure
        print(f"{done}; its result:", file=sys.stderr)
        summary = {**read_json(done.path / "summary.json"), "path": str(done.path)}
    if rank() == 0:  # under torchrun, one process speaks for the job
        print(pipeline.describe_result(summary))
    return 0


def cmd_all(args) -> int:
    from .pipelines.homework import AllOptions, run_all

    status, report = run_all(settings.from_args(AllOptions, args))
    print(f"report: {report.resolve()}")
    return status


def cmd_report(args) -> int:
    from .pipelines import PIPELINES
    from .report import build_report

    problems: list = []
    print(f"report: {build_report(args.dirs, PIPELINES, args.out, problems=problems).resolve()}")
    if problems:
        print(f"backproplab report: {len(problems)} folder(s) or picture(s) could not be read; the report lists "
              "them", file=sys.stderr)
    return 1 if problems else 0


def cmd_runs(args) -> int:
    import shutil

    from .pipelines import PIPELINES
    from .report.terminal import runs_listing

    text, unreadable = runs_listing(args.dirs, PIPELINES, shutil.get_terminal_size().columns, wide=args.wide,
                                    json_out=args.json, csv_path=args.csv, markdown_path=args.markdown)
    print(text, end="" if text.endswith("\n") else "\n")
    if unreadable:
        print(f"backproplab runs: {len(unreadable)} folder(s) could not be read; the table lists them",
              file=sys.stderr)
    return 1 if unreadable else 0


def cmd_download(args) -> int:
    from .data import datasets
    from .data.discovery import cache_dir
    from .data.download import DownloadError

    module = datasets()[args.dataset]
    try:
        print(f"{args.dataset}: {module.fetch_to_cache()}")
    except DownloadError as err:
        raise DownloadError(f"{err}. To go on: try again later; fetch the same files from a mirror of your own with "
                            f"BACKPROPLAB_MIRROR=URL (the checksums are still checked); or {module.SPEC.local} and "
                            f"pass --data-dir FOLDER to the command (the cache is {cache_dir() / module.SPEC.folder})"
                            ) from None
    return 0


def cmd_check(args) -> int:
    from .check.cli import run_check

    return run_check(args)


def cmd_grade(args) -> int:
    from .check.grade.cli import run_grade

    return run_grade(args)


def cmd_gradescope_autograder(args) -> int:
    from .check.autograder import run_build

    return run_build(args)


COMMANDS = {"all": cmd_all, "report": cmd_report, "runs": cmd_runs,
            "download": cmd_download, "check": cmd_check, "grade": cmd_grade,
            "gradescope-autograder": cmd_gradescope_autograder}


# -- the one error path ----------------------------------------------------------------


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"stopped by signal {signal.Signals(signum).name}")


def _reader_gone() -> bool:
    """Whether the standard output is a pipe whose reader has closed it (poll reports an
    error on its end); a broken pipe elsewhere (a child process) is an ordinary error."""
    try:
        import select

        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poll.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows), or no real file behind sys.stdout
        return False


def _stdout_to_devnull() -> None:
    """Point the standard output at /dev/null, so that nothing more (not even the flush at
    exit) writes to the closed pipe: the quiet end Python's documentation gives for SIGPIPE."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file behind sys.stdout (a test's capture)
        pass


def _one_line(err: BaseException) -> str:
    notes = getattr(err, "__notes__", [])
    return "\n".join([str(err) or type(err).__name__, *notes])


def _draw_into_files() -> None:
    """The command line draws into files only (the library never picks a backend): Agg, set
    for matplotlib's first import, so that a command that draws nothing never imports it."""
    if "matplotlib" in sys.modules:
        sys.modules["matplotlib"].use("Agg")
    else:
        os.environ["MPLBACKEND"] = "Agg"


def main(argv: list[str] | None = None) -> int:
    try:
        from .runs import advice

        given = sys.argv[1:] if argv is None else argv
        args = build_parser(grading_only=next((a for a in given if not a.startswith("-")), None) in GRADING
                            ).parse_args(argv)
        advice.invocation = list(sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:  # Ctrl-C while the parser imports the pipelines
        print("backproplab: interrupted", file=sys.stderr)
        return 130
    debug = getattr(args, "debug", False) or os.environ.get("BACKPROPLAB_DEBUG", "") not in ("", "0")
    previous = signal.signal(signal.SIGTERM, _terminate)  # SIGTERM ends a run as Ctrl-C does (main thread)
    prefix = f"backproplab {args.command}"
    try:
        _draw_into_files()
        status = COMMANDS.get(args.command, cmd_pipeline)(args)
        sys.stdout.flush()  # here, so that a reader that went away is met below, not at exit
        return status
    except BrokenPipeError as err:
        if _reader_gone():  # the reader of our output went away (`runs --json | head`): we are done
            _stdout_to_devnull()
            return 0
        if debug:
            raise
        print(f"{prefix}: error: {visible(_one_line(err), keep_newlines=True)}", file=sys.stderr)
        return 2
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
        print(f"{prefix}: error: {visible(what, keep_newlines=True)}", file=sys.stderr)
        return getattr(err, "exit_status", 2)
    except Exception as err:  # a bug: still one line, and how to see the traceback
        if debug:
            raise
        print(f"{prefix}: internal error: {type(err).__name__}: {visible(str(err), 2000)} (this is a bug; rerun with "
              "--debug to see the traceback and please report it)", file=sys.stderr)
        return INTERNAL_ERROR
    finally:
        signal.signal(signal.SIGTERM, previous)
        advice.invocation = None


if __name__ == "__main__":
    sys.exit(main())
