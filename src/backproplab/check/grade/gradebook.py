"""The gradebook: one entry per submission with every part's verdict, cause, detail and
points, as ``gradebook.json`` (everything) and ``gradebook.csv`` (points, for a spreadsheet
or an LMS import).

The JSON's parts are what ``backproplab check --json`` gives for each part, plus its
``points`` and ``worth``, less what changes from run to run on the same code (``stable_part``):
each part's seconds, the training time in NeuralNetwork.train's note, the sandbox's random
folder in a path, and what the code printed (a progress bar's rate; it is in the feedback
file). So the same submissions, seed and grader give the same file byte for byte; ``grader``
records the version, the digest of the grading code and every setting that decides a verdict.

Points follow ``check --gradescope``: one per part without a rubric; with one, what it gives
(a part it leaves out is worth 0, and still reported); a part of another term's homework is
not counted. The CSV holds no cell a spreadsheet would run: text starting with ``=``, ``+``,
``-``, ``@`` (or a tab or carriage return) gets a leading ``'``, and every control character
is shown as its escape.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from ... import __version__
from ...bounded import read_bounded
from ...errors import UsageError
from ...runs.files import csv_text
from ..output import PRINTED
from ..text import visible

#: what the grading code is: these decide every verdict (the grader, the reference library, Iris)
_GRADING_CODE = (("check", "*.py"), ("nn", "*.py"), ("data", "dataset.py"), ("data", "tabular.py"),
                 ("data", "iris.csv"))
#: the training time in NeuralNetwork.train's note ("after 100 epochs (0.1 s)"): not the code's doing
_TRAINING_TIME = re.compile(r"( after \d+ epochs) \(\d+(?:\.\d+)? s\)")
#: where the sandbox put the package (a random folder): a path below it is shown from the package on
_SANDBOX_PATH = re.compile(r"/[^\s'\"]*?backproplab-sandbox-[A-Za-z0-9_]+/code/submission/")
_PRINTED_NOTE = f"{PRINTED} something: see the submission's feedback file (it can change from run to run)"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_GRADEBOOK_BYTES = 256 << 20


def grader_digest() -> str:
    """SHA-256 of the grading code (``check`` less this ``grade`` folder, ``nn``, Iris)."""
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for folder, pattern in _GRADING_CODE:
        for path in sorted((root / folder).rglob(pattern)):
            rel = path.relative_to(root).as_posix()
            if rel.startswith("check/grade/") or "__pycache__" in rel:
                continue
            digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()


def grader_info(seed: int, rubric: dict[str, float] | None, parts: list[str], timeout: float, memory_mb: int,
                term: str | None, isolation: str, starter: str | None = None) -> dict:
    """The settings that decide the grades (``starter``: the starter package's fingerprint)."""
    return {"version": __version__, "digest": grader_digest(), "seed": seed, "rubric": rubric, "parts": parts,
            "timeout": timeout, "memory_mb": memory_mb, "term": term, "isolation": isolation, "starter": starter}


def worth(part: str, rubric: dict[str, float] | None) -> float:
    return 1.0 if rubric is None else float(rubric.get(part, 0.0))


def _number(x: float) -> float | int:
    x = round(x, 6)
    return int(x) if x == int(x) else x


def entry(record: dict, rubric: dict[str, float] | None) -> dict:
    """One submission's gradebook entry from its worker record."""
    students = record.get("students") or []
    joined = {key: "; ".join(s.get(key) or "" for s in students) if students else None
              for key in ("name", "email", "sid")}
    out = {"submission": record["submission"], **joined, "status": record["status"], "reason": record.get("reason"),
           "total": None, "max": None, "percent": None, "package": record.get("package"),
           "fingerprint": record.get("fingerprint"), "term": record.get("term"), "parts": []}
    if record["status"] != "graded":
        return out
    total = maximum = 0.0
    for part in record["parts"]:
        value = worth(part["part"], rubric) if part["counted"] else 0.0
        earned = value if part["verdict"] == "pass" else 0.0
        total, maximum = total + earned, maximum + value
        out["parts"].append({**stable_part(part), "points": _number(earned), "worth": _number(value)})
    out["total"], out["max"] = _number(total), _number(maximum)
    out["percent"] = round(100 * total / maximum, 2) if maximum else None
    return out


def stable_part(part: dict) -> dict:
    """A part as ``check --json`` gives it, less what changes from run to run on the same code:
    its seconds, the training time, the sandbox's random folder in a path, and what the code
    printed (a progress bar's rate, a time; it stays in the feedback file)."""
    shown = {k: v for k, v in part.items() if k != "seconds"}
    lines = (shown.get("detail") or "").split("\n")
    printed = next((i for i, line in enumerate(lines) if line.startswith(PRINTED)), None)
    if printed is not None:  # what the code printed is always the detail's last block
        lines[printed:] = [_PRINTED_NOTE]
    shown["detail"] = _SANDBOX_PATH.sub("", _TRAINING_TIME.sub(r"\1", "\n".join(lines)))
    if shown.get("cause"):
        shown["cause"] = _SANDBOX_PATH.sub("", shown["cause"])
    return shown


def gradebook(grader: dict, records: list[dict]) -> dict:
    entries = [entry(r, grader["rubric"]) for r in sorted(records, key=lambda r: r["submission"])]
    return {"grader": grader, "submissions": entries}


def gradebook_json(book: dict) -> str:
    return json.dumps(book, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# -- the CSV ----------------------------------------------------------------------------------------------


def cell(value) -> str:
    """A value as a cell no spreadsheet runs: numbers as they are, text shown escaped and
    with a leading ' where it would start a formula."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.10g}"
    text = visible(str(value))
    return "'" + text if text.startswith(_FORMULA_START) else text


def gradebook_csv(book: dict) -> str:
    parts = book["grader"]["parts"]
    with_students = any(e["name"] is not None for e in book["submissions"])
    columns = ["submission", *(["name", "email", "sid"] if with_students else []), *parts, "total", "max",
               "percent", "status", "reason"]
    rows = []
    for e in book["submissions"]:
        earned = {p["part"]: p["points"] for p in e["parts"] if p["counted"]}
        row = {key: cell(e.get(key)) for key in columns if key not in parts}
        row.update({part: cell(earned.get(part)) for part in parts})
        rows.append(row)
    return csv_text(rows, columns)


# -- reading one back ---------------------------------------------------------------------------------------


def read_gradebook(path: str | Path) -> dict:
    """A gradebook.json written earlier (for ``--compare``); UsageError if it is not one."""
    data = read_bounded(path, MAX_GRADEBOOK_BYTES, UsageError, "gradebook")
    try:
        book = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise UsageError(f"{path}: not a gradebook.json ({str(err)[:200]})") from None
    ok = (isinstance(book, dict) and isinstance(book.get("grader"), dict) and isinstance(book.get("submissions"), list)
          and all(isinstance(e, dict) and isinstance(e.get("submission"), str) and isinstance(e.get("parts"), list)
                  and all(isinstance(p, dict) and isinstance(p.get("part"), str) for p in e["parts"])
                  for e in book["submissions"]))
    if not ok:
        raise UsageError(f"{path}: not a gradebook.json written by backproplab grade (it needs \"grader\" and "
                         "\"submissions\", each with \"submission\" and \"parts\")")
    return book
