"""The record of a ``backproplab all`` job, ``all.json`` beside its run folders: whether it
ran on quick slices, and each stage's name, folder, status and seconds (and for a stage
that did not run, why, where its data were looked for and how to get them). The job
writes it after every stage; ``--resume`` and the report read it back."""

from __future__ import annotations

from pathlib import Path

from .files import RunFileError, read_json

#: what a stage's "status" can be
STATUSES = ("ran", "skipped", "failed", "interrupted")
#: the job record's file name inside the job's folder
JOB_RECORD = "all.json"


def read_job_record(path: Path) -> dict:
    """all.json as the job writes it: {"quick": bool, "stages": [{"name", "folder", "status",
    "seconds", and for a stage not run "reason", "looked_in", "how_to_get"}]}; RunFileError
    naming what is not."""
    record = read_json(path)
    stages = record.get("stages", [])

    def texts(value) -> bool:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)

    ok = isinstance(record.get("quick", False), bool) and isinstance(stages, list) and all(
        isinstance(s, dict) and isinstance(s.get("name"), str) and isinstance(s.get("folder"), str)
        and s.get("status") in STATUSES and isinstance(s.get("reason", ""), str)
        and isinstance(s.get("seconds", 0.0), (int, float)) and not isinstance(s.get("seconds"), bool)
        and texts(s.get("looked_in", [])) and texts(s.get("how_to_get", [])) for s in stages)
    if not ok:
        raise RunFileError(f"{path}: not a record of backproplab all (its stages are not what it writes)")
    return record
