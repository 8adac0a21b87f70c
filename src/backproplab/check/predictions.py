"""``backproplab check predictions.csv``: the CIFAR-10 deliverable checked as an autograder
reads it — the header ``Id,Category``, 10,000 rows, each Id from 1 to 10000 exactly once,
each Category an integer from 0 to 9 — every problem with its line number, and scored
against the test labels when a CIFAR-10 copy is found (``--data-dir`` or the usual places).

The file is the learner's, so nothing in it is believed: it is read only if it is a regular
file (a link is refused, so that we never echo another file's first line), at most
``MAX_BYTES``; any field of any length and any characters ends as a problem on its line,
never as a crash; every field echoed goes through ``text.visible``, so that no control
character in the file reaches the terminal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from ..bounded import read_bounded
from ..errors import UsageError
from .text import visible

N_TEST = 10_000
N_CLASSES = 10
#: a well-formed file is about 80 kB; anything far larger is not one
MAX_BYTES = 4 * 2**20
#: problems listed one by one; the rest are counted
SHOWN = 20
#: the most characters of a field (or the header) a message echoes
ECHOED = 40

#: what an Id or a Category may be: ASCII digits only (str.isdigit also takes '²' and '٣')
_DIGITS = re.compile(r"[0-9]+")
#: a record ends at a line break, as csv and pandas read one
_BREAK = re.compile(r"\r\n|\r|\n")
#: one field: quoted (a doubled quote inside is one quote; whatever follows the closing
#: quote up to the comma is kept, as csv does), or unquoted up to a comma or a line break
_FIELD = re.compile(r'"([^"]*(?:""[^"]*)*)"([^,\r\n]*)|([^,\r\n]*)')


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
        lines = [f"backproplab check {visible(self.path)}: {self.rows:,} prediction rows"]
        if self.problems:
            lines += [f"  {p}" for p in self.problems]
            if self.more:
                lines.append(f"  … and {self.more:,} more problems")
            lines.append(f"{len(self.problems) + self.more:,} problems: an autograder would reject this file")
        else:
            lines.append("the format is right: header Id,Category, Ids 1 to 10000 once each, categories 0 to 9")
        if self.accuracy is not None:
            lines.append(f"test accuracy {self.accuracy:.2%} against the labels in {visible(self.scored_against)}")
        elif not self.problems:
            lines.append("not scored: no CIFAR-10 test labels found (--data-dir DIR, or `backproplab download cifar`)")
        return "\n".join(lines)


def check_predictions(path: str | Path, data_dir=None) -> PredictionsReport:
    report = PredictionsReport(str(path))
    raw = read_bounded(path, MAX_BYTES, UsageError, "predictions file", follow_symlinks=False)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{visible(str(path))}: not UTF-8 text; a predictions.csv is plain text") from None
    records = _records(text)
    header = next(records, None)
    if header is None or header[1] != 2 or [c.strip(" \t") for c in header[2]] != ["Id", "Category"]:
        found = "nothing" if header is None else _shown(",".join(header[2]) + (",…" if header[1] > 2 else ""))
        report.problem(f"line 1: the header must be Id,Category; found {found}")
    predicted = np.full(N_TEST, -1, dtype=np.int64)
    first_line: dict[int, int] = {}
    for line, n_fields, fields in records:
        if n_fields == 1 and not fields[0].strip(" \t"):
            report.problem(f"line {line}: empty")
            continue
        report.rows += 1
        _check_row(report, line, n_fields, fields, predicted, first_line)
    missing = np.flatnonzero(predicted < 0) + 1
    if report.rows != N_TEST:
        report.problem(f"the file holds {report.rows:,} rows; {N_TEST:,} are expected (one per test image)")
    if missing.size and report.rows:
        shown = ", ".join(map(str, missing[:10])) + (" …" if missing.size > 10 else "")
        report.problem(f"{missing.size:,} Ids have no row: {shown}")
    _score(report, predicted, data_dir)
    return report


def _check_row(report: PredictionsReport, line: int, n_fields: int, fields: list[str], predicted,
               first_line: dict) -> None:
    if n_fields != 2:
        report.problem(f"line {line}: {n_fields:,} fields; expected 2 (Id,Category)")
        return
    id_text, category_text = fields[0].strip(" \t"), fields[1].strip(" \t")
    i = _whole_number(id_text, 1, N_TEST)
    if i is None:
        report.problem(f"line {line}: Id {_shown(id_text)} is not a whole number from 1 to {N_TEST}")
        return
    category = _whole_number(category_text, 0, N_CLASSES - 1)
    if category is None:
        report.problem(f"line {line}: Category {_shown(category_text)} is not a whole number from 0 to "
                       f"{N_CLASSES - 1}")
        return
    if i in first_line:
        report.problem(f"line {line}: Id {i} again (first on line {first_line[i]})")
        return
    first_line[i] = line
    predicted[i - 1] = category


def _whole_number(text: str, low: int, high: int) -> int | None:
    """The number ``text`` writes if it is ASCII digits only (leading zeros allowed) from
    ``low`` to ``high``; None otherwise. The length is checked before ``int``, which
    refuses more than 4,300 digits."""
    if not _DIGITS.fullmatch(text):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(high)):
        return None
    value = int(digits)
    return value if low <= value <= high else None


def _shown(text: str) -> str:
    """A field as a message quotes it: its control characters escaped, cut to ``ECHOED``."""
    return f"'{visible(text, limit=ECHOED)}'"


def _records(text: str) -> Iterator[tuple[int, int, list[str]]]:
    """(line where it starts, number of fields, its first two fields) for each record.

    Written here rather than with ``csv.reader``: csv refuses a field longer than its field
    size limit (131,072 characters) by raising, and that limit is one setting for the whole
    process, which a library must not change under its other callers. Only the first two
    fields are kept, so a line of a million commas costs no more memory than the file.
    A line without a quote is split at its commas; a line with one is read field by field,
    and a quoted field may hold commas and line breaks, as csv and pandas read it.
    """
    pos, line = 0, 1
    while pos < len(text):
        eol = _BREAK.search(text, pos)
        end = eol.start() if eol else len(text)
        if text.find('"', pos, end) < 0:
            yield line, text.count(",", pos, end) + 1, text[pos:end].split(",", 2)[:2]
            pos, line = (eol.end() if eol else end), line + 1
        else:
            start = line
            n_fields, fields, pos, line = _quoted_record(text, pos, line)
            yield start, n_fields, fields


def _quoted_record(text: str, pos: int, line: int) -> tuple[int, list[str], int, int]:
    """The record from ``pos``, read field by field: (fields, first two fields, the position
    after it, the line after it). ``_FIELD`` always matches (its last form may be empty),
    and each match ends at a comma, a line break or the end, so the loop always advances."""
    n_fields, fields = 0, []
    while True:
        m = _FIELD.match(text, pos)
        n_fields += 1
        if m.group(3) is None:  # quoted
            line += len(_BREAK.findall(m.group(1)))
            if len(fields) < 2:
                fields.append(m.group(1).replace('""', '"') + m.group(2))
        elif len(fields) < 2:
            fields.append(m.group(3))
        pos = m.end()
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        eol = _BREAK.match(text, pos)
        return n_fields, fields, (eol.end() if eol else pos), line + 1


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
