"""``backproplab runs``: every run below the folders given (default ``experiments``), one
record each, finished or interrupted: its name (the path below the folder given), its
pipeline, status and data, its settings, and its results (test and validation accuracy,
epochs, seconds).

For a program, ``--json`` and ``--csv`` write every record whole, typed: accuracies as
fractions (``*_fraction``), times in seconds (``*_seconds``), each setting as config.json
recorded it (a number stays a number, a list a list). For a person, ``terminal.fit``
chooses the columns that fit the terminal (``terminal``).

Everything in a record was read from a run folder, so the text output shows it inert:
control characters (a terminal's escape codes) become ``?``, and a CSV cell that a
spreadsheet would run as a formula gets a leading apostrophe.
"""

from __future__ import annotations

import json
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .. import settings
from ..runs.files import csv_text
from ..runs.values import finite
from .collect import NOT_AS_WRITTEN, Problem, ReportRun, collect
from .doc import md_escape

#: the results every record carries, in the order shown: (key, header on a terminal)
RESULTS = [("test_accuracy_fraction", "test acc"), ("val_accuracy_fraction", "val acc"), ("epochs", "epochs"),
           ("wall_seconds", "seconds")]
#: the facts of a record that are not settings or results: (key, header)
FACTS = [("pipeline", "pipeline"), ("status", "status"), ("data", "data")]


def inert(text: str) -> str:
    """Text safe to print on a terminal: every control character (ESC included) becomes ?."""
    return "".join("?" if unicodedata.category(ch).startswith("C") else ch for ch in str(text))


def spreadsheet_safe(text: str) -> str:
    """A CSV cell that no spreadsheet runs as a formula."""
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def show(value) -> str:
    """A recorded value as a person reads it: numbers to 4 significant digits, lists joined."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ",".join(show(v) for v in value)
    if isinstance(value, bool):
        return "on" if value else "off"
    return "" if value is None else str(value)


@dataclass
class Record:
    """One run as the table lists it; every value typed as recorded."""

    name: str  # the run's path below the folder given (its folder name when it was given itself)
    path: str
    pipeline: str
    status: str  # "done" or "unfinished"
    epochs_done: int  # rows in metrics.csv
    data: str
    settings: dict = field(default_factory=dict)  # the run's declared settings that change a result
    results: dict = field(default_factory=dict)  # RESULTS keys → number or None

    def as_json(self) -> dict:
        return {"run": self.name, "path": self.path, "pipeline": self.pipeline, "status": self.status,
                "epochs_done": self.epochs_done, "data": self.data, "settings": self.settings, **self.results}

    def text(self, key: str) -> str:
        """The cell of column ``key`` (a fact, a setting or a result) as a person reads it."""
        if key == "status":
            return "done" if self.status == "done" else \
                f"unfinished ({self.epochs_done}/{show(self.results['epochs']) or '?'} epochs)"
        if key in ("pipeline", "data"):
            return getattr(self, key)
        if key in self.results:
            value = self.results[key]
            if value is None:
                return ""
            return f"{100 * value:.2f}%" if key.endswith("_fraction") else f"{value:.0f}"
        return show(self.settings[key]) if key in self.settings else ""


def _declaration(run: ReportRun, pipelines):
    return next((p for p in pipelines if run.pipeline in p.run_kinds), None)


def display_name(path: Path, dirs: list[str | Path]) -> str:
    """The run's path below the nearest folder given that holds it (its own name when it was
    given itself)."""
    here = Path(os.path.abspath(path))
    best = None
    for d in dirs:
        base = Path(os.path.abspath(d))
        if here != base and base in here.parents and (best is None or len(base.parts) > len(best.parts)):
            best = base
    return here.relative_to(best).as_posix() if best else path.name


def _results(run: ReportRun) -> dict:
    test = finite(run.get("test_accuracy"))  # a sweep records its chosen run's
    val = finite(run.get("final_val_accuracy"))
    if val is None and run.rows:
        val = finite(run.rows[-1].get("val_accuracy"))
    epochs = finite(run.get("epochs"))
    return {"test_accuracy_fraction": test, "val_accuracy_fraction": val,
            "epochs": int(epochs) if epochs is not None and epochs.is_integer() else epochs,
            "wall_seconds": finite(run.get("wall_seconds"))}


def record(run: ReportRun, pipelines, dirs: list[str | Path]) -> Record:
    """The record of one run; a value of a type backproplab never writes raises one of
    ``NOT_AS_WRITTEN`` (the run is then listed as unreadable)."""
    declared = _declaration(run, pipelines)
    names = [f.name for f in settings.result_settings(declared.config)] if declared else []
    csv = run.config.get("csv")
    data = Path(str(csv)).name if csv else (declared.data if declared else "")
    results = _results(run)
    if not isinstance(run.rows, list) or any(not isinstance(r, dict) for r in run.rows):
        raise TypeError("metrics.csv is not a table of rows")
    return Record(display_name(run.path, dirs), str(run.path), run.pipeline, "done" if run.finished else "unfinished",
                  len(run.rows), data, {k: run.config[k] for k in names if k in run.config}, results)


def records(dirs: list[str | Path], pipelines) -> tuple[list[Record], list[str]]:
    """The records of the runs found, in folder order, and a line per folder that could not
    be read."""
    runs, problems = collect(dirs, [k for p in pipelines for k in p.run_kinds], partial=True)
    out = []
    for r in runs:
        try:
            out.append(record(r, pipelines, dirs))
        except NOT_AS_WRITTEN as err:
            problems.append(Problem(r.path, f"{r.path}: {type(err).__name__}: {str(err)[:300]} (its files are not as "
                                            "backproplab writes them)"))
    return out, [f"unreadable: {p.message}" for p in problems]


# -- for programs ---------------------------------------------------------------------------


def as_json(rows: list[Record], unreadable: list[str]) -> str:
    """{"runs": [every record, typed], "unreadable": [a line per folder that could not be read]}."""
    return json.dumps({"runs": [r.as_json() for r in rows], "unreadable": unreadable}, indent=2,
                      ensure_ascii=False, default=str)


def _csv_value(value):
    """A typed value as a CSV cell: numbers as numbers, lists as JSON, booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)
    if isinstance(value, (int, float)) or value is None:
        return value
    return spreadsheet_safe(value)


def as_csv(rows: list[Record], unreadable: list[str]) -> str:
    """Every record as a CSV row: the facts, every setting any run has (a column each), the
    results; then a row per folder that could not be read (its line in the first column)."""
    fixed = ["run", "path", "pipeline", "status", "epochs_done", "data"]
    results = [k for k, _ in RESULTS]
    keys: list[str] = []
    for r in rows:  # a setting named as a result (epochs) is that result's column
        keys += [k for k in r.settings if k not in keys and k not in fixed + results]
    table = [{k: _csv_value(v) for k, v in {**r.settings, **r.as_json()}.items() if k != "settings"} for r in rows]
    table += [{"run": spreadsheet_safe(u)} for u in unreadable]
    return csv_text(table, fixed + keys + results)


def as_markdown(header: list[str], cells: list[list[str]]) -> str:
    return ("| " + " | ".join(map(md_escape, header)) + " |\n|" + "---|" * len(header) + "\n"
            + "".join("| " + " | ".join(map(md_escape, r)) + " |\n" for r in cells))

