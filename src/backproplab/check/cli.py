"""The ``check`` command: checks its flags, runs the grader (or the predictions check) and
prints or writes the result. ``cli.py`` only parses and dispatches."""

from __future__ import annotations

import argparse
import contextlib
import math
from pathlib import Path

from ..errors import UsageError
from .isolation import CHOICES
from .terms import TERMS

VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")  # Gradescope's
#: why a grade needs the term or the rubric: a package's classes are its author's to choose
TERM_NEEDED = ("a grade needs --term TERM (or a --rubric, whose parts worth points must be there): which parts "
               "count cannot be decided by the classes a package has, which its author chooses (deleting a class "
               "and renaming another makes it look like another term); the terms: " + ", ".join(t.name for t in TERMS))

DESCRIPTION = """Grade a learner's own neural_networks package: every activation, layer, loss and the model,
each forward and backward against backproplab's (seeded random inputs, float64), with the likely cause of
each mistake. The learner's code runs in a sandbox, each part in a process of its own with a time and memory
limit, at the strongest isolation this machine offers (--isolation); nothing it writes or says decides a
verdict. Exit status: 0 when every part of the package's term passes, 1 otherwise, 2 on a usage error. Given a
file instead of a folder, checks a CIFAR-10 predictions.csv as an autograder would."""


def add_check_flags(c: argparse.ArgumentParser) -> None:
    c.add_argument("path", metavar="PATH", help="the folder that holds your neural_networks/ package (or the "
                                                "package folder itself), or a CIFAR-10 predictions.csv")
    c.add_argument("--parts", action="append", metavar="GLOB",
                   help="only the parts whose names match, e.g. 'Conv2D.*' (repeat, or separate with commas)")
    c.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default: 0)")
    c.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    c.add_argument("--gradescope", metavar="FILE", help="also write Gradescope's results.json to FILE (once: an "
                                                        "existing file needs --overwrite)")
    c.add_argument("--rubric", metavar="FILE", help="JSON object part pattern → points, e.g. {\"Conv2D\": 4, "
                                                    "\"ReLU.backward\": 1} (default: one point per part); the "
                                                    "classes of parts worth points must be in the package")
    c.add_argument("--output-visibility", choices=VISIBILITIES, default="visible",
                   help="who sees what the learner's code printed in --gradescope's results (default: visible)")
    c.add_argument("--term", choices=[t.name for t in TERMS],
                   help="the homework's term, whose classes the package must have (default: recognised by the "
                        "classes it has): " + "; ".join(f"{t.name} {t.title}" for t in TERMS))
    c.add_argument("--starter", metavar="DIR",
                   help="the course's starter neural_networks/ package (or the folder holding it): PATH's "
                        "activations.py, layers.py, losses.py and models.py (flat, in neural_networks/ or one folder "
                        "deeper) are graded inside a copy of it, as students upload them to Gradescope")
    c.add_argument("--isolation", choices=CHOICES, default="auto",
                   help="how the learner's code is shut away: auto (the strongest available), strict (never only "
                        "process-level), or namespaces, user, process (default: auto)")
    c.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="wall-clock limit per part (default: 10; training gets 4×)")
    c.add_argument("--memory", type=int, default=2048, metavar="MB", help="memory limit per part (default: 2048)")
    c.add_argument("--data-dir", help="where to find CIFAR-10's test labels to score a predictions.csv")
    c.add_argument("--overwrite", action="store_true", help="replace an existing --gradescope file")


def check_limits(args) -> None:
    """--timeout, --memory and --seed, as every grading command takes them."""
    if not (math.isfinite(args.timeout) and 0.5 <= args.timeout <= 3600):
        raise UsageError(f"--timeout must be a number of seconds from 0.5 to 3600; got {args.timeout}")
    if not 256 <= args.memory <= 2**20:
        raise UsageError(f"--memory must be from 256 to 1048576 MB; got {args.memory}")
    if not 0 <= args.seed < 2**32:
        raise UsageError(f"--seed must be from 0 to 4294967295; got {args.seed}")


def check_flags(args) -> None:
    check_limits(args)
    if args.gradescope and not (args.term or args.rubric):
        raise UsageError(TERM_NEEDED)
    if args.gradescope:
        target = Path(args.gradescope)
        if target.is_dir():
            raise UsageError(f"--gradescope {target} is a folder; give the file to write, e.g. {target}/results.json")
        if target.exists() and not args.overwrite:
            raise UsageError(f"--gradescope {target} exists; add --overwrite to replace it")
        if not target.parent.is_dir():
            raise UsageError(f"--gradescope {target}: the folder {target.parent} does not exist")


def run_check(args) -> int:
    check_flags(args)
    path = Path(args.path)
    if path.exists() and not path.is_dir():
        return _check_predictions(args)
    from ..runs.files import write_text
    from .grader import check_package
    from .output import as_json, gradescope, read_rubric, table

    rubric = read_rubric(args.rubric) if args.rubric else None
    with contextlib.ExitStack() as stack:
        target, notes = args.path, []
        if args.starter:
            from .starter import assembled

            assembly = stack.enter_context(assembled(args.path, args.starter))
            target, notes = assembly.root, assembly.notes
        report = check_package(target, seed=args.seed, parts=args.parts, timeout=args.timeout, memory_mb=args.memory,
                               isolation=args.isolation, term=args.term, rubric=rubric)
    report.path, report.notes = args.path, notes + report.notes
    print(as_json(report) if args.json else table(report))
    if args.gradescope:
        write_text(args.gradescope, gradescope(report, rubric, args.output_visibility) + "\n")
    return report.exit_status


def _check_predictions(args) -> int:
    from .predictions import check_predictions

    if args.gradescope or args.parts or args.json or args.starter:
        raise UsageError("--gradescope, --parts, --json and --starter apply to a homework package, "
                         "not to a predictions.csv")
    report = check_predictions(args.path, args.data_dir)
    print(report.text())
    return report.exit_status
