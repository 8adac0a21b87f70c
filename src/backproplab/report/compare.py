"""``backproplab runs``: every run below the folders given (default ``experiments``), one
row each, finished or interrupted: its name, pipeline, status and data, the settings that
differ between the runs listed, and the results (test and validation accuracy, epochs,
time). The table fits ``WIDTH`` columns (the settings that do not fit are counted);
``--all`` shows every column, ``--csv`` and ``--json`` write everything.

Everything in a row was read from a run folder, so it is shown as inert text: control
characters (a terminal's escape codes) become ``?``, and a CSV cell that a spreadsheet
would run as a formula gets a leading apostrophe.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from .. import settings
from ..runs.files import csv_text, write_text
from .collect import NOT_AS_WRITTEN, Problem, ReportRun, collect, number, pct
from .doc import md_escape

WIDTH = 120
#: the longest cell of the table on a terminal (the CSV and JSON keep every character)
CELL = 24
RESULTS = ["test accuracy", "validation", "epochs", "seconds"]


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


def _show(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ",".join(_show(v) for v in value)
    return "" if value is None else str(value)


def _settings_of(run: ReportRun) -> list[str]:
    """The declared settings of the run's pipeline (those that change its result)."""
    from ..pipelines import PIPELINES

    for p in PIPELINES:
        if run.pipeline in p.run_kinds:
            return [f.name for f in settings.declared(p.config) if not f.metadata["resumable"]]
    return []


def _status(run: ReportRun) -> str:
    if run.finished:
        return "done"
    return f"unfinished ({len(run.rows)}/{_show(run.config.get('epochs', '?'))} epochs)"


def _data(run: ReportRun) -> str:
    csv = run.config.get("csv")
    return Path(str(csv)).name if csv else {"iris": "iris", "iris-sweep": "iris", "fashion": "fashion-mnist",
                                            "cifar": "cifar-10"}.get(run.pipeline, "")


def _results(run: ReportRun) -> list[str]:
    test = number(run, "test_accuracy")
    if test is None and isinstance(run.summary.get("chosen"), dict):  # a sweep: its chosen run's
        chosen = run.summary["chosen"].get("test_error")
        test = 1 - float(chosen) if isinstance(chosen, (int, float)) and not isinstance(chosen, bool) else None
    val = number(run, "final_val_accuracy")
    if val is None and run.rows and isinstance(run.rows[-1].get("val_accuracy"), float):
        val = run.rows[-1]["val_accuracy"]
    epochs = number(run, "epochs")
    seconds = number(run, "wall_seconds")
    return [pct(test) if test is not None else "", pct(val) if val is not None else "",
            f"{epochs:.0f}" if epochs is not None else str(len(run.rows) or ""),
            f"{seconds:.0f}" if seconds is not None else ""]


def table_rows(dirs: list[str | Path]) -> tuple[list[str], list[list[str]], int, list[str]]:
    """(header, rows, how many setting columns differ, the folders that could not be read);
    the runs in folder order."""
    runs, problems = collect(dirs, partial=True)
    own = {id(r): set(_settings_of(r)) for r in runs}
    keys: list[str] = []
    for run in runs:
        keys += [k for k in _settings_of(run) if k not in keys and k != "epochs"]

    def differs(k: str) -> bool:  # between two runs of one pipeline: settings of different pipelines never compare
        values: dict[str, set] = {}
        for r in runs:
            if k in own[id(r)]:
                values.setdefault(r.pipeline.split("-")[0], set()).add(_show(r.config.get(k)))
        return any(len(v) > 1 for v in values.values())

    differing = [k for k in keys if differs(k)]
    header = ["run", "pipeline", "status", "data", *differing, *RESULTS]
    rows = []
    for r in runs:
        try:
            settings_cells = [_show(r.config.get(k)) if k in own[id(r)] else "" for k in differing]
            rows.append([r.path.name, r.pipeline, _status(r), _data(r), *settings_cells, *_results(r)])
        except NOT_AS_WRITTEN as err:
            problems.append(Problem(r.path, f"{r.path}: {type(err).__name__}: {str(err)[:300]} (its files are not as "
                                            "backproplab writes them)"))
    return header, rows, len(differing), [f"unreadable: {p.message}" for p in problems]


def _fit(header: list[str], rows: list[list[str]], n_settings: int, width: int) -> tuple[list[int], int]:
    """The columns to show (indices) within ``width`` characters, and how many were left out:
    the settings are dropped from the last while the table is too wide."""
    shown = list(range(len(header)))

    def total(cols):
        return sum(min(CELL, max(len(str(x)) for x in [header[c], *(r[c] for r in rows)])) + 2 for c in cols)

    first_setting, dropped = 4, 0
    while total(shown) > width and n_settings - dropped > 0:
        shown.remove(first_setting + n_settings - dropped - 1)
        dropped += 1
    return shown, dropped


def runs_table(dirs: list[str | Path], csv_path: str | None = None, markdown_path: str | None = None,
               every_column: bool = False, as_json: bool = False, width: int = WIDTH,
               unreadable_out: list[str] | None = None) -> str:
    """The table as aligned text (or JSON); also written to ``csv_path`` / ``markdown_path``.
    The folders that could not be read (listed in the table) are appended to ``unreadable_out``."""
    header, rows, n_settings, unreadable = table_rows(dirs)
    if unreadable_out is not None:
        unreadable_out.extend(unreadable)
    if csv_path:
        records = [{h: spreadsheet_safe(c) for h, c in zip(header, r)} for r in rows]
        records += [{"run": spreadsheet_safe(u)} for u in unreadable]
        write_text(csv_path, csv_text(records, header))
    if markdown_path:
        write_text(markdown_path, "| " + " | ".join(map(md_escape, header)) + " |\n|" + "---|" * len(header) + "\n"
                   + "".join("| " + " | ".join(map(md_escape, r)) + " |\n" for r in rows))
    if as_json:
        return json.dumps([dict(zip(header, r)) for r in rows] + [{"unreadable": u} for u in unreadable], indent=2)
    shown, dropped = (list(range(len(header))), 0) if every_column else _fit(header, rows, n_settings, width)

    def cell(text: str) -> str:
        text = inert(text)
        return text if every_column or len(text) <= CELL else text[: CELL - 1] + "…"

    table = [[cell(line[c]) for c in shown] for line in [header, *rows]]
    widths = [max(len(x) for x in col) for col in zip(*table)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in table]
    note = [f"({dropped} more setting column(s) differ: --all shows them, --csv or --json writes everything)"] \
        if dropped else []
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:], *note, *map(inert, unreadable)])
