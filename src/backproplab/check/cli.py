"""The ``check`` command: checks its flags, runs the grader (or the predictions check) and
prints or writes the result. ``cli.py`` only parses and dispatches."""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import UsageError


def _check_flags(args) -> None:
    if not (math.isfinite(args.timeout) and 0.5 <= args.timeout <= 3600):
        raise UsageError(f"--timeout must be a number of seconds from 0.5 to 3600; got {args.timeout}")
    if not 256 <= args.memory <= 2**20:
        raise UsageError(f"--memory must be from 256 to 1048576 MB; got {args.memory}")
    if not 0 <= args.seed < 2**32:
        raise UsageError(f"--seed must be from 0 to 4294967295; got {args.seed}")
    if args.rubric and not args.gradescope:
        raise UsageError("--rubric gives the points of --gradescope; add --gradescope FILE")
    if args.gradescope:
        target = Path(args.gradescope)
        if target.is_dir():
            raise UsageError(f"--gradescope {target} is a folder; give the file to write, e.g. {target}/results.json")
        if target.exists() and not args.overwrite:
            raise UsageError(f"--gradescope {target} exists; add --overwrite to replace it")
        if not target.parent.is_dir():
            raise UsageError(f"--gradescope {target}: the folder {target.parent} does not exist")


def run_check(args) -> int:
    _check_flags(args)
    if Path(args.path).is_file():
        return _check_predictions(args)
    from ..runs.files import write_text
    from .grader import check_package
    from .output import as_json, gradescope, read_rubric, table

    rubric = read_rubric(args.rubric) if args.rubric else None
    report = check_package(args.path, seed=args.seed, parts=args.parts, timeout=args.timeout, memory_mb=args.memory)
    print(as_json(report) if args.json else table(report))
    if args.gradescope:
        write_text(args.gradescope, gradescope(report, rubric) + "\n")
    return report.exit_status


def _check_predictions(args) -> int:
    from .predictions import check_predictions

    if args.gradescope or args.parts or args.json:
        raise UsageError("--gradescope, --parts and --json apply to a homework package, not to a predictions.csv")
    report = check_predictions(args.path, args.data_dir)
    print(report.text())
    return report.exit_status
