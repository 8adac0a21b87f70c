"""The ``grade`` command: checks its flags, grades the class (``run``) and writes the
gradebook, the feedback, the class report and the changes since an earlier gradebook.
``backproplab/cli.py`` only parses and dispatches."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from ...errors import UsageError
from ..isolation import CHOICES
from ..cli import TERM_NEEDED, check_limits
from ..terms import TERMS
from ..text import visible

DESCRIPTION = """Grade a class: every submission in SUBMISSIONS (one folder or .zip per student holding a
neural_networks package, or a Gradescope "Export Submissions" folder with its submission_metadata.yml) graded
exactly as `backproplab check` grades one package, in parallel. Writes into one folder (--out): gradebook.csv
(points per part, for a spreadsheet or an LMS), gradebook.json (every verdict, cause and detail), class.html
and class.md (the score distribution, the common mistakes of each part and who made them, identical
submissions, what could not be graded), and feedback/ (what `check` prints, one file per submission). Exit
status: 0 when every submission was graded (whatever its grade), 1 when some could not be, 2 on a usage
error, 130 when interrupted (--resume goes on)."""


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def add_grade_flags(c: argparse.ArgumentParser) -> None:
    c.add_argument("submissions", metavar="SUBMISSIONS", help="the folder with one folder or .zip per submission "
                                                              "(or a Gradescope export)")
    c.add_argument("--out", metavar="FOLDER", help="where to write the gradebook, report and feedback (default: "
                                                   "SUBMISSIONS-graded beside it)")
    c.add_argument("--overwrite", action="store_true", help="replace an earlier grading in --out")
    c.add_argument("--resume", action="store_true", help="go on with an interrupted grading in --out (the same "
                                                         "settings): grade only the submissions it lacks")
    c.add_argument("--jobs", type=int, default=_cores(), metavar="N",
                   help=f"submissions graded at once (default: the cores, {_cores()})")
    c.add_argument("--compare", metavar="GRADEBOOK", help="an earlier gradebook.json: list every student whose "
                                                          "score changed, by how much, and why (changes.md)")
    c.add_argument("--rubric", metavar="FILE", help="JSON object part pattern → points, as for check (default: "
                                                    "one point per part); parts it leaves out are worth 0")
    c.add_argument("--parts", action="append", metavar="GLOB",
                   help="only the parts whose names match, e.g. 'Conv2D.*' (repeat, or separate with commas)")
    c.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default: 0)")
    c.add_argument("--term", choices=[t.name for t in TERMS],
                   help="the homework's term, whose classes every package must have (needed unless --rubric says "
                        "which parts count): " + "; ".join(f"{t.name} {t.title}" for t in TERMS))
    c.add_argument("--isolation", choices=CHOICES, default="strict",
                   help="how the learners' code is shut away: strict (the strongest, never process-level: the "
                        "default here, since a class's code runs beside the others' grades), auto, or namespaces, "
                        "user, process")
    c.add_argument("--starter", metavar="DIR",
                   help="the course's starter neural_networks/ package (or the folder holding it): each submission's "
                        "activations.py, layers.py, losses.py and models.py (as students upload them to Gradescope, "
                        "flat or in a folder) are graded inside a copy of it, as check --starter does")
    c.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="wall-clock limit per part (default: 10; training gets 4×)")
    c.add_argument("--memory", type=int, default=2048, metavar="MB", help="memory limit per part (default: 2048)")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")


def _check_flags(args) -> None:
    check_limits(args)
    if not 1 <= args.jobs <= 256:
        raise UsageError(f"--jobs must be from 1 to 256; got {args.jobs}")
    if args.resume and args.overwrite:
        raise UsageError("--resume goes on with an earlier grading and --overwrite replaces it: give one")
    if not (args.term or args.rubric):
        raise UsageError(TERM_NEEDED)


def run_grade(args) -> int:
    from ..grader import select_parts
    from ..isolation import choose
    from ..output import read_rubric
    from . import outfolder
    from .gradebook import grader_info, read_gradebook
    from ..starter import starter_package
    from .submissions import discover, fingerprint
    from .worker import Settings

    _check_flags(args)
    rubric = read_rubric(args.rubric) if args.rubric else None
    level = choose(args.isolation).level
    parts = [p.name for p in select_parts(args.parts)]
    root = Path(args.submissions)
    subs = discover(root)
    if not subs:
        raise UsageError(f"{root}: holds no submissions (no folder and no .zip)")
    old = read_gradebook(args.compare) if args.compare else None  # refused before hours of grading, not after
    out = Path(args.out) if args.out else outfolder.default_out(root)
    starter = fingerprint(starter_package(args.starter)) if args.starter else None
    grader = grader_info(args.seed, rubric, parts, args.timeout, args.memory, args.term, level, starter)
    outfolder.prepare(out, root, grader, args.resume, args.overwrite)
    if level == "user":
        _warn_if_readable(root)
    settings = Settings(args.seed, tuple(args.parts) if args.parts else None, args.timeout, args.memory, level,
                        args.term, rubric, str(Path(args.starter).resolve()) if args.starter else None)
    print(f"backproplab grade: {len(subs)} submissions from {visible(str(root))}, {args.jobs} at a time, into "
          f"{visible(str(out))}", file=sys.stderr)
    start = time.monotonic()
    return _grade_and_write(subs, settings, grader, out, args, old, start)


def _grade_and_write(subs, settings, grader: dict, out: Path, args, old: dict | None, start: float) -> int:
    from ...runs.files import write_json, write_text
    from .class_report import write_class_report
    from .compare import changes_text, compare
    from .gradebook import gradebook, gradebook_csv, gradebook_json
    from .run import grade_all, write_feedback

    records = grade_all(subs, settings, out, args.jobs, not args.no_progress)
    book = gradebook(grader, records)
    write_text(out / "gradebook.json", gradebook_json(book))
    write_text(out / "gradebook.csv", gradebook_csv(book))
    feedback = write_feedback(out, records)
    changes = compare(old, book) if old is not None else None
    if changes is not None:
        write_text(out / "changes.md", changes_text(changes, args.compare))
        write_json(out / "changes.json", changes)
    report = write_class_report(book, out, f"Class report: {visible(Path(args.submissions).resolve().name)}",
                                changes, args.compare)
    entries = book["submissions"]
    errors = sum(e["status"] != "graded" for e in entries)
    full = sum(e["status"] == "graded" and e["percent"] == 100 for e in entries)
    print(f"graded {len(entries) - errors} of {len(entries)} submissions in {time.monotonic() - start:.0f} s: "
          f"{full} with full marks, {len(entries) - errors - full} lost points, {errors} could not be graded")
    print(f"gradebook: {visible(str(out / 'gradebook.csv'))} (every verdict: gradebook.json)")
    print(f"class report: {visible(str(report))}")
    print(f"feedback: {visible(str(feedback))}/ ({len(records)} files)")
    if changes is not None:
        print(changes_text(changes, args.compare), end="")
    return 1 if errors else 0


def _warn_if_readable(root: Path) -> None:
    """At the "user" level the learners' code can read what every user may read."""
    path = root.resolve()
    if all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents]):
        print(f"backproplab grade: warning: at the user isolation level the learners' code runs as a user of its "
              f"own and can read what every user may read, and every user may enter {visible(str(path))}: make it "
              "private (chmod 700) so that no submission can read another", file=sys.stderr)
