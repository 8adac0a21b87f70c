"""The grading's one output folder: made private, never overwritten by accident, and holding
what ``--resume`` goes on from.

    OUT/.backproplab-grade   the grader and settings this folder's grading used
    OUT/.partial/            one record per submission graded, written atomically
    OUT/gradebook.csv, gradebook.json, class.html, class.md, feedback/, changes.md

A folder that exists is refused unless ``--resume`` (the same grader and settings, else
what differs is named) or ``--overwrite`` (which removes only what a grading wrote, and
only in a folder whose marker says a grading wrote it). The folder is readable by its owner
alone: it holds the students' names, emails and grades.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from ...errors import UsageError
from ...runs.files import RunFileError, read_json, write_json
from .compare import grader_changes

MARKER = ".backproplab-grade"
PARTIAL = ".partial"
OUTPUTS = ("gradebook.csv", "gradebook.json", "class.html", "class.md", "changes.md", "changes.json")


def default_out(submissions: Path) -> Path:
    return submissions.resolve().parent / f"{submissions.resolve().name}-graded"


def prepare(out: Path, submissions: Path, grader: dict, resume: bool, overwrite: bool) -> bool:
    """Make ``out`` ready; True when it holds a grading to go on from (``resume``)."""
    if out.resolve() == submissions.resolve() or submissions.resolve() in out.resolve().parents:
        raise UsageError(f"--out {out} lies inside SUBMISSIONS ({submissions}), where it would be taken for a "
                         "submission; choose a folder outside it")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder")
    if not out.exists() or not any(out.iterdir()):
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        _start(out, submissions, grader)
        return False
    if not (out / MARKER).is_file():
        raise UsageError(f"--out {out} holds files that backproplab grade did not write; give a new or empty folder")
    if resume:
        _same_grader(out, grader)
        (out / PARTIAL).mkdir(mode=0o700, exist_ok=True)
        return True
    if not overwrite:
        raise UsageError(f"--out {out} holds an earlier grading: add --resume to go on with it, or --overwrite to "
                         "grade again from the start")
    for name in OUTPUTS:
        (out / name).unlink(missing_ok=True)
    for name in (PARTIAL, "feedback"):
        shutil.rmtree(out / name, ignore_errors=True)
    _start(out, submissions, grader)
    return False


def _start(out: Path, submissions: Path, grader: dict) -> None:
    os.chmod(out, 0o700)
    (out / PARTIAL).mkdir(mode=0o700, exist_ok=True)
    write_json(out / MARKER, {"grader": grader, "submissions": str(submissions.resolve())})


def _same_grader(out: Path, grader: dict) -> None:
    try:
        earlier = read_json(out / MARKER)["grader"]
    except (RunFileError, KeyError, TypeError):
        raise UsageError(f"--resume: {out / MARKER} cannot be read; grade again with --overwrite") from None
    differ = grader_changes(earlier, grader) if isinstance(earlier, dict) else ["everything"]
    if differ or earlier.get("isolation") != grader.get("isolation"):
        differ = differ or [f"isolation {earlier.get('isolation')} → {grader.get('isolation')}"]
        raise UsageError(f"--resume: {out} was graded with other settings ({'; '.join(differ)}); one gradebook "
                         "holds one grading: use the same settings, or --overwrite to grade again")


def record_path(out: Path, name: str) -> Path:
    """Where a submission's record lies (its name hashed: any name is a safe file name)."""
    key = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return out / PARTIAL / f"{key}.json"


def read_record(out: Path, name: str) -> dict | None:
    """The record of ``name`` if one was written and is whole; None otherwise."""
    path = record_path(out, name)
    if not path.is_file():
        return None
    try:
        record = read_json(path)
    except RunFileError:
        return None
    return record if record.get("submission") == name and isinstance(record.get("parts"), list) else None


def feedback_names(names: list[str]) -> dict[str, str]:
    """submission → its feedback file's name: the submission's name less .zip, every character
    but letters, digits, '.', '_' and '-' made '_', unique (-2, -3, … in order)."""
    taken, out = set(), {}
    for name in sorted(names):
        base = name[:-4] if name.lower().endswith(".zip") else name
        base = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in base)[:100]
        base = "_" + base if not base or base.startswith(".") else base
        stem, k = base, 2
        while stem.lower() in taken:
            stem, k = f"{base}-{k}", k + 1
        taken.add(stem.lower())
        out[name] = f"{stem}.txt"
    return out

