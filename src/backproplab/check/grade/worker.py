"""One submission graded in a process of its own, exactly as ``backproplab check`` grades it.

``run`` forks one such process per submission (from a server that has imported the grader
once). It finds the package (``submissions.stage``: in the folder, or extracted from the zip
into a private scratch folder), fingerprints it, calls ``check_package`` with the class's
settings and this worker's ``slot`` (so that no two concurrent sandboxes share a user at
the "user" isolation level), and writes its *record* atomically: the findings as
``check --json`` gives them, what ``check`` prints (the feedback), or why it could not be
graded. The first SIGINT or SIGTERM stops it cleanly (the sandbox ended, the scratch folder
removed, no record written); later ones are ignored so that nothing interrupts the cleanup.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import time
from dataclasses import asdict, dataclass

from ...errors import UsageError
from ...runs.files import write_json
from ..grader import check_package
from ..output import finding_json, table
from ..starter import assembled
from .submissions import Submission, Unstageable, scratch_folder, stage

#: the width of the feedback's table: what ``check`` prints when its output goes to a file
FEEDBACK_WIDTH = 120


@dataclass(frozen=True)
class Settings:
    """What every submission of the class is graded with (``check_package``'s arguments)."""

    seed: int
    parts: tuple[str, ...] | None
    timeout: float
    memory_mb: int
    isolation: str  # a level ``isolation.choose`` takes; the class runs at one level
    term: str | None
    rubric: dict[str, float] | None
    starter: str | None = None  # the starter package the submission's files are graded inside


def _stop(signum, frame):
    """The first SIGINT or SIGTERM stops the grading; later ones are let pass (a handler that
    does nothing, not SIG_IGN, which makes Python report a signal already on its way)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _let_pass)
    raise KeyboardInterrupt


def _let_pass(signum, frame) -> None:
    pass


def run_job(sub: Submission, settings: Settings, slot: int, record_path: str) -> None:
    """The worker process: grade ``sub`` and write its record to ``record_path``."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)
    try:
        record = grade(sub, settings, slot)
    except KeyboardInterrupt:
        sys.exit(130)
    write_json(record_path, record)


def _checked(package, settings: Settings, slot: int):
    """``check_package`` with the class's settings (inside the starter, with ``--starter``)."""
    with contextlib.ExitStack() as stack:
        notes = []
        if settings.starter:
            assembly = stack.enter_context(assembled(package, settings.starter))
            package, notes = assembly.root, assembly.notes
        report = check_package(package, seed=settings.seed, parts=list(settings.parts or []) or None,
                               timeout=settings.timeout, memory_mb=settings.memory_mb, isolation=settings.isolation,
                               term=settings.term, rubric=settings.rubric, slot=slot)
    report.notes = notes + report.notes
    return report


def grade(sub: Submission, settings: Settings, slot: int) -> dict:
    """The record of one submission: graded, or an error with its reason."""
    start = time.monotonic()
    record = {"submission": sub.name, "students": [asdict(s) for s in sub.students], "status": "error",
              "reason": None, "retry": False, "package": None, "fingerprint": None, "term": None, "notes": [],
              "isolation": None, "parts": [], "feedback": "", "seconds": 0.0}
    scratch, package = scratch_folder(), None
    try:
        staged = stage(sub, scratch)
        package = staged.package
        record.update(package=staged.shown, fingerprint=staged.fingerprint)
        report = _checked(package, settings, slot)
        report.path = staged.shown
        record.update(status="graded", term=report.term, notes=report.notes, isolation=report.isolation.get("level"),
                      parts=[finding_json(f) for f in report.findings],
                      feedback=table(report, FEEDBACK_WIDTH) + "\n")
    except Unstageable as err:
        record["reason"] = str(err)
        record["feedback"] = f"backproplab check: error: {sub.name}: {err}\n"
    except UsageError as err:  # the sandbox would not start, or the package is not one
        said = str(err).replace(str(package), record["package"]) if package else str(err)
        record["reason"] = said.replace(str(sub.path), sub.name)
        record["feedback"] = f"backproplab check: error: {record['reason']}\n"
    except Exception as err:  # a bug in the grader: this submission is an error, and is retried on --resume
        record.update(reason=f"the grader failed on it ({type(err).__name__}: {str(err)[:300]}); this is a bug in "
                             "backproplab, please report it", retry=True)
        record["feedback"] = f"backproplab check: internal error: {record['reason']}\n"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    record["seconds"] = round(time.monotonic() - start, 2)
    return record
