"""What ``backproplab check`` prints and writes: the terminal table and details, one JSON
object (``--json``), and Gradescope's ``results.json`` (``--gradescope``) with points per
part (one each; ``--rubric``, a JSON object part → points, overrides them, 0 leaves a part out).
"""

from __future__ import annotations

import json
import math
import shutil
import textwrap

from ..bounded import read_bounded
from ..errors import UsageError
from .grader import Report
from .judge import TOLERANCE
from .parts import PART_NAMES


def _error_text(f) -> str:
    if f.max_error is None:
        return "shape" if f.incomparable else ""
    return f"{f.max_error:.1e}"


def table(report: Report, width: int | None = None) -> str:
    """One row per part (part, verdict, max error, cause), then the detail of each failing part."""
    width = width or max(80, min(shutil.get_terminal_size((120, 24)).columns, 160))
    parts_w = max(len(f.part) for f in report.findings)
    head = f"{'part':<{parts_w}}  {'verdict':<15}  {'max error':>9}  cause"
    lines = [f"backproplab check {report.path} (seed {report.seed})", "", head, "-" * min(width, len(head) + 40)]
    room = max(20, width - parts_w - 32)
    for f in report.findings:
        cause = f.cause if len(f.cause) <= room else f.cause[: room - 1] + "…"
        lines.append(f"{f.part:<{parts_w}}  {f.verdict:<15}  {_error_text(f):>9}  {cause}".rstrip())
    failing = [f for f in report.findings if f.verdict != "pass" and not f.absent]
    for f in failing:
        lines += ["", f"{f.part}: {f.verdict}"]
        lines += textwrap.wrap(f.cause, width, initial_indent="  ", subsequent_indent="  ")
        lines += [f"  {line}" for line in _detail_without_cause(f)]
    notes = [f for f in report.findings if f.verdict == "pass" and f.detail]
    if notes:
        lines += ["", "notes on parts that pass:"]
        lines += [f"  {f.part}: {' '.join(line.strip() for line in f.detail[:2])}" for f in notes]
    lines += ["", summary_line(report)]
    return "\n".join(lines)


def _detail_without_cause(f) -> list[str]:
    """The detail lines, less those that repeat the cause (and case headers left empty)."""
    kept = [line for line in f.detail if line.strip() != f.cause]
    return [line for i, line in enumerate(kept)
            if not (line.startswith("case") and line.endswith(":")
                    and (i + 1 == len(kept) or not kept[i + 1].startswith("  ")))]


def summary_line(report: Report) -> str:
    s = report.summary()
    counted = s["parts"] - s["absent"]
    absent = f" ({s['absent']} not in this package, not counted)" if s["absent"] else ""
    others = ", ".join(f"{s[v]} {v}" for v in ("wrong", "not implemented", "error", "timeout") if s[v])
    return (f"{s['pass']} of {counted} parts pass{absent}{'; ' + others if others else ''}; "
            f"{report.seconds:.1f} s. A result passes when max |yours − right| <= {TOLERANCE:g} × max |right|.")


def as_json(report: Report) -> str:
    parts = [{"part": f.part, "verdict": f.verdict, "max_error": f.max_error, "cause": f.cause or None,
              "rule": f.rule, "detail": "\n".join(f.detail), "seconds": f.seconds, "counted": not f.absent}
             for f in report.findings]
    return json.dumps({"path": report.path, "seed": report.seed, "parts": parts,
                       "summary": {**report.summary(), "tolerance": TOLERANCE}}, indent=2, allow_nan=False)


def read_rubric(path: str) -> dict[str, float]:
    """A JSON object {part: points}; every name must be a part and every value a number >= 0."""
    raw = read_bounded(path, 2**20, UsageError, "rubric file")
    try:
        rubric = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UsageError(f"--rubric {path}: not valid JSON ({err})") from None
    if not isinstance(rubric, dict):
        raise UsageError(f"--rubric {path}: must be a JSON object of part → points, e.g. {{\"Conv2D.forward\": 2}}")
    unknown = [k for k in rubric if k not in PART_NAMES]
    if unknown:
        raise UsageError(f"--rubric {path}: {', '.join(map(repr, unknown[:5]))} is not a part; the parts are: "
                         f"{', '.join(PART_NAMES)}")
    for name, points in rubric.items():
        if isinstance(points, bool) or not isinstance(points, (int, float)) or not math.isfinite(points) or points < 0:
            raise UsageError(f"--rubric {path}: the points of {name!r} must be a number >= 0; got {points!r}")
    return {k: float(v) for k, v in rubric.items()}


def gradescope(report: Report, rubric: dict[str, float] | None = None) -> str:
    """Gradescope's results.json: one test per part, with its score, status and output."""
    tests = []
    for f in report.findings:
        points = (rubric or {}).get(f.part, 1.0)  # the rubric overrides; 0 leaves a part out of the score
        passed = f.verdict == "pass"
        output = "pass" if passed else f"{f.verdict}: {f.cause}"
        if f.detail:
            output += "\n\n" + "\n".join(f.detail)
        tests.append({"name": f.part, "score": points if passed else 0.0, "max_score": points,
                      "status": "passed" if passed else "failed", "output": output, "visibility": "visible"})
    score = sum(t["score"] for t in tests)
    return json.dumps({"score": score, "execution_time": round(report.seconds, 1), "output": summary_line(report),
                       "stdout_visibility": "hidden", "tests": tests}, indent=2, allow_nan=False)
