"""Reading run folders for the report and the ``runs`` table, and judging each homework
deliverable against its bar.

A folder the report cannot read (a missing, corrupt or foreign summary.json, a broken
metrics.csv) becomes a ``Problem`` naming the file and what is wrong; the report shows
the problems and is still written from every folder that could be read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..runs.files import RunFileError, read_json, read_metrics
from ..runs.folder import MARKER

def known_kinds() -> list[str]:
    """The "pipeline" values the declared pipelines' run folders record."""
    from ..pipelines import PIPELINES

    return [kind for p in PIPELINES for kind in p.run_kinds]


@dataclass
class ReportRun:
    path: Path
    pipeline: str  # what summary.json says wrote it (a declared pipeline's run kind)
    config: dict
    summary: dict
    rows: list[dict] = field(default_factory=list)  # metrics.csv

    def file(self, name: str) -> Path | None:
        p = self.path / name
        return p if p.is_file() and not p.is_symlink() else None

    def get(self, key: str, default=None):
        """A value from summary.json, else config.json (both as the run wrote them)."""
        return self.summary.get(key, self.config.get(key, default))


@dataclass
class Problem:
    path: Path
    message: str


def looks_like_run(path: Path) -> bool:
    return path.is_dir() and not path.name.endswith(".partial") and (
        (path / MARKER).is_file() or (path / "summary.json").exists())


def read_run(path: Path) -> ReportRun:
    """The run in ``path``; RunFileError naming the file when it cannot be read."""
    summary = read_json(path / "summary.json")
    config = read_json(path / "config.json") if (path / "config.json").exists() else {}
    pipeline = summary.get("pipeline") or config.get("pipeline")
    if pipeline not in known_kinds():
        raise RunFileError(f"{path / 'summary.json'}: unknown pipeline {pipeline!r} (expected one of "
                           f"{', '.join(known_kinds())})")
    rows = read_metrics(path / "metrics.csv") if (path / "metrics.csv").exists() else []
    return ReportRun(path, pipeline, config, summary, rows)


def collect(dirs: list[str | Path]) -> tuple[list[ReportRun], list[Problem]]:
    """The runs named, or the runs one level inside each folder named, and the problems."""
    runs: list[ReportRun] = []
    problems: list[Problem] = []
    for d in map(Path, dirs):
        if not d.is_dir():
            raise UsageError(f"{d} is not a folder (give run or sweep folders, or the folder holding them)")
        candidates = [d] if looks_like_run(d) else [p for p in sorted(d.iterdir()) if looks_like_run(p)]
        for path in candidates:
            try:
                runs.append(read_run(path))
            except RunFileError as err:
                problems.append(Problem(path, str(err)))
        if not candidates:
            raise UsageError(f"{d} holds no finished run (no summary.json in it or in its subfolders)")
    return runs, problems


def number(run: ReportRun, key: str) -> float | None:
    """A number from the run's summary (None when absent or not a number)."""
    value = run.summary.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"
