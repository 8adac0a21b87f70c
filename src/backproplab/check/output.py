"""What ``backproplab check`` prints and writes: the terminal table and the detail of each
failing cause (parts that fail for the same reason shown under it once), one JSON object
(``--json``), and Gradescope's ``results.json`` (``--gradescope``) with points per part
(one each, or a rubric's).

Everything that comes from the learner — causes quote their exception messages, details
quote what their code printed — is shown through ``text.visible``: a control character is
an escape, never an action on the reader's terminal.
"""

from __future__ import annotations

import json
import math
import shutil
import textwrap

from ..bounded import read_bounded
from ..errors import UsageError
from .grader import Report, matching
from .judge import TOLERANCE
from .kinds import KINDS, PART_NAMES
from .text import visible

PRINTED = "your code printed"


def _error_text(f) -> str:
    if f.max_error is None:
        return "shape" if f.incomparable else ""
    return f"{f.max_error:.1e}"


def header_lines(report: Report) -> list[str]:
    lines = [f"backproplab check {visible(report.path)} (seed {report.seed})"]
    if report.term:
        lines.append(f"term: {report.term}")
    return lines + [f"isolation: {report.isolation.get('detail', '')}"]


def table(report: Report, width: int | None = None) -> str:
    """One row per part (part, verdict, max error, cause), then one block per distinct cause
    of the failing parts, naming the parts it fails."""
    width = width or max(80, min(shutil.get_terminal_size((120, 24)).columns, 160))
    parts_w = max(len(f.part) for f in report.findings)
    head = f"{'part':<{parts_w}}  {'verdict':<15}  {'max error':>9}  cause"
    lines = [*header_lines(report), "", head, "-" * min(width, len(head) + 40)]
    room = max(20, width - parts_w - 32)
    groups = failing_groups(report)
    first_of = {f.part: group[0].part for group in groups for f in group}
    for f in (f for f in report.findings if not f.absent):
        cause = visible(f.cause)
        if first_of.get(f.part, f.part) != f.part:
            cause = f"the same as {first_of[f.part]}"
        cause = cause if len(cause) <= room else cause[: room - 1] + "…"
        lines.append(f"{f.part:<{parts_w}}  {f.verdict:<15}  {_error_text(f):>9}  {cause}".rstrip())
    absent = list(dict.fromkeys(f.part.split(".")[0] for f in report.findings if f.absent))
    if absent:
        lines.append(f"not in your term's homework, not graded: {', '.join(absent)}")
    for group in groups:
        if not detail_without_cause(group[0]) and all(len(visible(f.cause)) <= room for f in group):
            continue  # the table's rows say it all
        names = ", ".join(f.part for f in group)
        lines += ["", f"{names}: {group[0].verdict}" if len(group) == 1 else
                  f"{names} ({len(group)} parts): {group[0].verdict}"]
        lines += textwrap.wrap(visible(group[0].cause), width, initial_indent="  ", subsequent_indent="  ")
        lines += [f"  {visible(line, keep_newlines=True)}" for line in detail_without_cause(group[0])]
    notes = [f for f in report.findings if f.verdict == "pass" and f.detail]
    if notes or report.notes:
        lines += ["", "notes:"]
        lines += [f"  {f.part}: {visible(' '.join(line.strip() for line in f.detail[:2]))}" for f in notes]
        lines += [f"  {visible(note)}" for note in report.notes]
    lines += ["", summary_line(report)]
    return "\n".join(lines)


def failing_groups(report: Report) -> list[list]:
    """The failing parts that count, grouped by what a learner reads (verdict, cause, detail)."""
    groups: dict[tuple, list] = {}
    for f in report.findings:
        if f.verdict != "pass" and not f.absent:
            groups.setdefault((f.verdict, f.cause, tuple(detail_without_cause(f))), []).append(f)
    return list(groups.values())


def detail_without_cause(f) -> list[str]:
    """The detail lines, less those that repeat the cause (and case headers left empty)."""
    cause = f.cause.strip()
    kept = [line.replace(f" — {cause}", "") for line in f.detail if line.strip() != cause]
    return [line for i, line in enumerate(kept)
            if not (line.startswith("case") and line.endswith(":")
                    and (i + 1 == len(kept) or not kept[i + 1].startswith("  ")))]


def summary_line(report: Report) -> str:
    s = report.summary()
    absent = f" ({s['absent']} not in your term's homework, not counted)" if s["absent"] else ""
    others = ", ".join(f"{s[v]} {v}" for v in ("wrong", "not implemented", "error", "timeout") if s[v])
    limit, longest = report.limits.timeout, max(kind.timeout_factor for kind in KINDS)
    limits = (f"Each part had at most {limit:g} s (training {longest * limit:g} s) and {report.limits.memory_mb} MB. "
              if report.isolation.get("level") != "in-process" else "")
    return (f"{s['pass']} of {s['parts']} parts pass{absent}{'; ' + others if others else ''}; "
            f"{report.seconds:.1f} s. {limits}A result passes when max |yours − right| <= {TOLERANCE:g} × max |right|.")


def finding_json(f) -> dict:
    return {"part": f.part, "verdict": f.verdict, "max_error": f.max_error, "cause": f.cause or None,
            "rule": f.rule, "rules": f.rules, "detail": "\n".join(f.detail), "seconds": f.seconds,
            "counted": not f.absent}


def as_json(report: Report) -> str:
    return json.dumps({"path": report.path, "seed": report.seed, "term": report.term, "isolation": report.isolation,
                       "parts": [finding_json(f) for f in report.findings], "notes": report.notes,
                       "summary": {**report.summary(), "tolerance": TOLERANCE}}, indent=2, allow_nan=False)


# -- the rubric ------------------------------------------------------------------------------------------


def read_rubric(path: str) -> dict[str, float]:
    """A JSON object {pattern: points}, a pattern as ``--parts`` takes it ('Conv2D',
    'Conv2D.backward', 'Pool2D.*'); a later entry overrides an earlier one for the parts it
    names. Returns part → points for every part named."""
    raw = read_bounded(path, 2**20, UsageError, "rubric file")
    try:
        given = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UsageError(f"--rubric {path}: not valid JSON ({err})") from None
    if not isinstance(given, dict):
        raise UsageError(f"--rubric {path}: must be a JSON object of part → points, e.g. {{\"Conv2D.forward\": 2}}")
    rubric = {}
    for pattern, points in given.items():
        if isinstance(points, bool) or not isinstance(points, (int, float)) or not math.isfinite(points) or points < 0:
            raise UsageError(f"--rubric {path}: the points of {visible(pattern)!r} must be a number >= 0; "
                             f"got {visible(repr(points), 40)}")
        parts = matching([pattern])
        if not parts:
            raise UsageError(f"--rubric {path}: {visible(pattern, 60)!r} names no part; the parts are: "
                             f"{', '.join(PART_NAMES)}")
        rubric.update({part.name: float(points) for part in parts})
    return rubric


# -- Gradescope ------------------------------------------------------------------------------------------


def gradescope(report: Report, rubric: dict[str, float] | None = None, output_visibility: str = "visible") -> str:
    """Gradescope's results.json: one test per part worth points (one each without a rubric;
    parts worth 0, and those not in the term's homework, are named in the top-level output
    and left out). What the learner's code printed goes into the test's output only when
    ``output_visibility`` is "visible"; else into a test of its own with that visibility."""
    tests, left_out = [], []
    for f in report.findings:
        points = (rubric or {}).get(f.part, 0.0 if rubric else 1.0)
        if points == 0 or f.absent:
            left_out.append(f.part)
            continue
        passed = f.verdict == "pass"
        lines = [line for line in detail_without_cause(f)]
        printed = [line for line in lines if line.startswith(PRINTED)]
        shown = lines if output_visibility == "visible" else [line for line in lines if line not in printed]
        output = "pass" if passed else f"{f.verdict}: {f.cause}"
        if shown:
            output += "\n\n" + "\n".join(shown)
        tests.append({"name": f.part, "score": points if passed else 0.0, "max_score": points,
                      "status": "passed" if passed else "failed", "output": visible(output, keep_newlines=True),
                      "visibility": "visible"})
        if printed and output_visibility != "visible":
            tests.append({"name": f"{f.part}: what your code printed", "score": 0.0, "max_score": 0.0,
                          "status": "passed", "output": visible("\n".join(printed), keep_newlines=True),
                          "visibility": output_visibility})
    score = sum(t["score"] for t in tests)
    total = sum(t["max_score"] for t in tests)
    graded = [t for t in tests if t["max_score"] > 0]
    summary = (f"{sum(t['status'] == 'passed' for t in graded)} of {len(graded)} graded parts pass: "
               f"{score:g} of {total:g} points. Isolation: {report.isolation.get('detail', '')}. Term: {report.term}.")
    if left_out:
        summary += f" Not graded (worth no points, or not in your term's homework): {', '.join(left_out)}."
    if report.notes:
        summary += " Notes: " + " ".join(f"{note}." for note in report.notes)
    return json.dumps({"score": score, "execution_time": round(report.seconds, 1), "output": visible(summary),
                       "output_format": "text", "stdout_visibility": "hidden", "tests": tests},
                      indent=2, allow_nan=False)
