"""Run folders: one folder per training run, written so that nothing is half-written.

A run is built in ``<name>.partial/`` beside its final place and renamed to ``<name>/``
only when it completes, so a folder named ``<name>`` is always a finished run. Inside,
every file is written to a temporary name and renamed over the old one. An existing
run is never replaced unless the caller asked to overwrite it.

A run that fails with an error leaves nothing behind. One that is interrupted (Ctrl-C,
or killed) keeps ``<name>.partial/`` so the pipelines that checkpoint can ``--resume``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
from pathlib import Path
from typing import Iterator


class RunExistsError(FileExistsError):
    """The run folder exists and overwriting was not asked for."""


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_csv(path: str | Path, rows: list[dict], columns: list[str]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(row.get(k)) for k in columns})
    write_text(path, buf.getvalue())


def _fmt(value):
    """Floats with 10 significant digits: the same run gives the same bytes."""
    if isinstance(value, float):
        return f"{value:.10g}"
    return value


def read_metrics(path: str | Path) -> list[dict]:
    """metrics.csv → list of rows with numbers parsed."""
    with open(path, newline="", encoding="utf-8") as f:
        return [{k: _parse(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _parse(value: str):
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


class RunFolder:
    """A run under construction in ``<path>.partial``; ``commit()`` makes it ``<path>``."""

    def __init__(self, path: str | Path, overwrite: bool = False, resume: bool = False) -> None:
        self.final = Path(path)
        self.overwrite = overwrite
        self.path = self.final.with_name(self.final.name + ".partial")
        if self.final.exists() and not overwrite:
            raise RunExistsError(
                f"{self.final} already exists; pass --overwrite to replace it, or --name/--out to "
                "write the run elsewhere"
            )
        if resume:
            if not self.path.is_dir():
                raise FileNotFoundError(
                    f"nothing to resume: {self.path} does not exist (an interrupted run keeps its "
                    "checkpoint there); start the run without --resume"
                )
        else:
            if self.path.exists():
                shutil.rmtree(self.path)  # the leftovers of an interrupted run we are not resuming
            self.path.mkdir(parents=True)

    def file(self, name: str) -> Path:
        return self.path / name

    def write_json(self, name: str, obj) -> None:
        write_json(self.file(name), obj)

    def write_text(self, name: str, text: str) -> None:
        write_text(self.file(name), text)

    def write_csv(self, name: str, rows: list[dict], columns: list[str]) -> None:
        write_csv(self.file(name), rows, columns)

    def commit(self) -> Path:
        """Move the finished run into place (replacing an old run only with overwrite)."""
        if self.final.exists():
            trash = self.final.with_name(f".{self.final.name}.old-{os.getpid()}")
            os.replace(self.final, trash)
            os.replace(self.path, self.final)
            shutil.rmtree(trash)
        else:
            os.replace(self.path, self.final)
        return self.final

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> "RunFolder":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            if self.path.exists():
                self.commit()
        elif not issubclass(exc_type, KeyboardInterrupt):
            self.discard()
