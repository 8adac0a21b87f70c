"""Finding and reading run folders for the report and the ``runs`` table.

The folders named are searched for runs at any depth (not inside a run, not through
links, not more than ``MAX_DEPTH`` folders down or ``MAX_FOLDERS`` folders in all). A
folder that cannot be read (a missing, corrupt or foreign summary.json, a broken
metrics.csv, a name that is not text, a folder it may not open) becomes a ``Problem``
naming the file and what is wrong: the report and the table show the problems and are
still made from every folder that could be read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..runs.files import RunFileError, read_json, read_metrics
from ..runs.folder import MARKER
from ..runs.job import JOB_RECORD

MAX_DEPTH = 6
MAX_FOLDERS = 20_000
#: files the report writes beside the runs; a shell glob such as DIR/* names them too
OUR_FILES = {"report.html", "report.md", JOB_RECORD}
#: what reading a value that is not what backproplab writes raises (a string for a number, a
#: 400-digit integer, a missing key): the run is listed with it, and the rest carries on
NOT_AS_WRITTEN = (TypeError, KeyError, ValueError, AttributeError, IndexError, ArithmeticError, RecursionError,
                  RunFileError)


@dataclass
class ReportRun:
    path: Path
    pipeline: str  # what summary.json says wrote it (one of the run kinds the pipelines declare)
    config: dict
    summary: dict
    rows: list[dict] = field(default_factory=list)  # metrics.csv
    finished: bool = True  # False: an interrupted run (NAME.partial), listed by ``runs`` only

    def file(self, name: str) -> Path | None:
        """The run's file ``name`` when something is there: a reader refuses what is not a
        regular file of the run's own (a link, a FIFO), so that it is listed, not passed over."""
        p = self.path / name
        return p if os.path.lexists(p) else None

    def get(self, key: str, default=None):
        """A value from summary.json, else config.json (both as the run wrote them)."""
        return self.summary.get(key, self.config.get(key, default))


@dataclass
class Problem:
    path: Path
    message: str


def is_run_folder(path: Path) -> bool:
    """A real folder (not a link) that holds a run: backproplab's marker or a summary.json."""
    try:
        return path.is_dir() and not path.is_symlink() and ((path / MARKER).is_file() or
                                                             (path / "summary.json").is_file())
    except OSError:
        return False


def looks_like_run(path: Path) -> bool:
    return not path.name.endswith(".partial") and is_run_folder(path)


def find_runs(dirs: list[str | Path], partial: bool = False) -> tuple[list[Path], list[Problem]]:
    """The run folders named, and those below the other folders named; with ``partial``
    the interrupted ones (NAME.partial) too. Files the report writes are passed over."""
    found: list[Path] = []
    problems: list[Problem] = []
    for d in map(Path, dirs):
        if d.name in OUR_FILES and d.is_file():
            continue
        if not d.is_dir():
            problems.append(Problem(d, f"{d}: not a folder (give run folders, or folders that hold them)"))
        elif is_run_folder(d) and (partial or not d.name.endswith(".partial")):
            found.append(d)
        else:
            _walk(d, 0, found, problems, partial)
    return found, problems


def _walk(folder: Path, depth: int, found: list[Path], problems: list[Problem], partial: bool) -> None:
    if depth >= MAX_DEPTH or len(found) >= MAX_FOLDERS:
        return
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as err:
        problems.append(Problem(folder, f"{folder}: cannot be read ({err.strerror})"))
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            real_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if not real_dir or entry.name.startswith("."):
            continue
        if is_run_folder(path):
            if partial or not entry.name.endswith(".partial"):
                found.append(path)
        else:
            _walk(path, depth + 1, found, problems, partial)


def read_run(path: Path, kinds: list[str]) -> ReportRun:
    """The run in ``path``, written by one of the pipelines whose run kinds are ``kinds``;
    RunFileError naming the file when it cannot be read."""
    finished = not path.name.endswith(".partial")
    config = read_json(path / "config.json") if (path / "config.json").exists() or not finished else {}
    summary = read_json(path / "summary.json") if finished else {}
    pipeline = summary.get("pipeline") or config.get("pipeline")
    if pipeline not in kinds:
        raise RunFileError(f"{path / ('summary.json' if finished else 'config.json')}: unknown pipeline "
                           f"{pipeline!r} (expected one of {', '.join(kinds)})")
    rows = read_metrics(path / "metrics.csv") if (path / "metrics.csv").exists() else []
    return ReportRun(path, pipeline, config, summary, rows, finished)


def collect(dirs: list[str | Path], kinds: list[str], partial: bool = False
            ) -> tuple[list[ReportRun], list[Problem]]:
    """The runs found (see ``find_runs``) whose kind is one of ``kinds`` (the "pipeline"
    values the declared pipelines' run folders record), and the problems; UsageError when
    there is none."""
    paths, problems = find_runs(dirs, partial)
    runs: list[ReportRun] = []
    for path in paths:
        try:
            runs.append(read_run(path, kinds))
        except (OSError, *NOT_AS_WRITTEN) as err:
            problems.append(Problem(path, str(err)))
    if not runs:
        why = "; ".join(p.message for p in problems[:3])
        raise UsageError(f"{', '.join(map(str, dirs))}: no run found that could be read (no summary.json in it or in "
                         f"the folders below it){': ' + why if why else ''}")
    return runs, problems
