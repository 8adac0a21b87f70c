"""``backproplab check predictions.csv``: the CIFAR-10 deliverable checked as an autograder
reads it — the header ``Id,Category``, 10,000 rows, each Id from 1 to 10000 exactly once,
each Category an integer from 0 to 9 — every problem with its line number, and scored
against the test labels when a CIFAR-10 copy is found (``--data-dir`` or the usual places).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..bounded import read_bounded
from ..errors import UsageError

N_TEST = 10_000
N_CLASSES = 10
#: a well-formed file is about 80 kB; anything far larger is not one
MAX_BYTES = 4 * 2**20
#: problems listed one by one; the rest are counted
SHOWN = 20


@dataclass
class PredictionsReport:
    path: str
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    more: int = 0
    accuracy: float | None = None
    scored_against: str = ""

    @property
    def exit_status(self) -> int:
        return 1 if self.problems else 0

    def problem(self, text: str) -> None:
        if len(self.problems) < SHOWN:
            self.problems.append(text)
        else:
            self.more += 1

    def text(self) -> str:
        lines = [f"backproplab check {self.path}: {self.rows:,} prediction rows"]
        if self.problems:
            lines += [f"  {p}" for p in self.problems]
            if self.more:
                lines.append(f"  … and {self.more:,} more problems")
            lines.append(f"{len(self.problems) + self.more:,} problems: an autograder would reject this file")
        else:
            lines.append("the format is right: header Id,Category, Ids 1 to 10000 once each, categories 0 to 9")
        if self.accuracy is not None:
            lines.append(f"test accuracy {self.accuracy:.2%} against the labels in {self.scored_against}")
        elif not self.problems:
            lines.append("not scored: no CIFAR-10 test labels found (--data-dir DIR, or `backproplab download cifar`)")
        return "\n".join(lines)


def check_predictions(path: str | Path, data_dir=None) -> PredictionsReport:
    report = PredictionsReport(str(path))
    raw = read_bounded(path, MAX_BYTES, UsageError, "predictions file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text; a predictions.csv is plain text") from None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or [c.strip() for c in rows[0]] != ["Id", "Category"]:
        report.problem(f"line 1: the header must be Id,Category; found {','.join(rows[0]) if rows else 'nothing'}")
    predicted = np.full(N_TEST, -1, dtype=np.int64)
    first_line: dict[int, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row or not any(c.strip() for c in row):
            report.problem(f"line {line}: empty")
            continue
        report.rows += 1
        _check_row(report, line, row, predicted, first_line)
    missing = np.flatnonzero(predicted < 0) + 1
    if report.rows != N_TEST:
        report.problem(f"the file holds {report.rows:,} rows; {N_TEST:,} are expected (one per test image)")
    if missing.size and report.rows:
        shown = ", ".join(map(str, missing[:10])) + (" …" if missing.size > 10 else "")
        report.problem(f"{missing.size:,} Ids have no row: {shown}")
    _score(report, predicted, data_dir)
    return report


def _check_row(report: PredictionsReport, line: int, row: list[str], predicted, first_line: dict) -> None:
    if len(row) != 2:
        report.problem(f"line {line}: {len(row)} fields; expected 2 (Id,Category)")
        return
    id_text, category_text = row[0].strip(), row[1].strip()
    if not id_text.isdigit() or not 1 <= int(id_text) <= N_TEST:
        report.problem(f"line {line}: Id {id_text!r} is not a whole number from 1 to {N_TEST}")
        return
    if not category_text.isdigit() or not 0 <= int(category_text) < N_CLASSES:
        report.problem(f"line {line}: Category {category_text!r} is not a whole number from 0 to {N_CLASSES - 1}")
        return
    i = int(id_text)
    if i in first_line:
        report.problem(f"line {line}: Id {i} again (first on line {first_line[i]})")
        return
    first_line[i] = line
    predicted[i - 1] = int(category_text)


def _score(report: PredictionsReport, predicted: np.ndarray, data_dir) -> None:
    from ..data import cifar10
    from ..data.discovery import find_data
    from ..data.errors import DataError

    try:
        folder = find_data(cifar10.SPEC, data_dir)
        _, labels = cifar10.read_batch(folder / "test_batch")
    except DataError:
        if data_dir is not None:
            raise
        return
    if len(labels) != N_TEST:
        return
    report.accuracy = float(np.sum(predicted == labels)) / N_TEST  # a missing row counts as wrong
    report.scored_against = str(folder / "test_batch")
