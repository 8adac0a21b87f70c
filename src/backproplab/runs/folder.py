"""Run folders: one folder per run, written so that nothing is half-written and nothing
that is not ours is ever deleted.

A run is built in ``<out>/<name>.partial/`` and renamed to ``<out>/<name>/`` only when
it completes, so a folder named ``<name>`` is always a finished run. Every run folder
carries the marker file ``.backproplab-run``; only a folder with the marker counts as
a run, and only a run is ever replaced or removed. The rules:

- ``name`` is one path component (no separators, not ``.``/``..``, not hidden,
  printable, encodable, at most ``MAX_NAME`` bytes), so a run stays inside ``out``;
- while a run is open it holds a lock on its name (``lock.NameLock``): a second run
  of the same name refuses at once and touches nothing;
- an existing run of the name is replaced only with ``overwrite``; an existing file or
  a folder without the marker is never replaced: the run is refused with the reason;
- with ``new_version`` a taken name becomes the next free ``<name>-v2``, ``-v3``, …;
- a run that fails or is interrupted keeps its ``.partial`` folder whenever it holds a
  checkpoint (the error gets a note saying how to resume); one that ends before its
  first checkpoint holds nothing to resume and is removed (after kill -9 the next run
  of the name removes it). ``resume`` continues such a folder and never removes it.
"""

from __future__ import annotations

import os
import shutil
import time
import unicodedata
from pathlib import Path

from ..errors import RunError
from .advice import command_with
from .files import read_json, write_csv, write_json, write_text
from .lock import NameLock

MARKER = ".backproplab-run"
#: bytes of a run name: 255 (the usual file-name limit) less room for ".partial" and "-v99"
MAX_NAME = 240


class RunExistsError(RunError, FileExistsError):
    """The run folder exists and neither overwriting nor a new version was asked for."""


class RunFinished(RunError):
    """``--resume`` of a run that has finished: there is nothing to do (not a failure)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"{path} has finished already: there is nothing to resume")


def check_name(name: str) -> str:
    """The name if it is one safe path component; RunError saying what is wrong otherwise."""
    problem = None
    if not isinstance(name, str) or not name:
        problem = "it is empty"
    elif name in (".", ".."):
        problem = f"{name!r} is not a folder name"
    elif "/" in name or "\\" in name or (os.altsep and os.altsep in name):
        problem = "it holds a path separator; a run is always written inside --out (use --out to choose the folder)"
    elif name.startswith("."):
        problem = "it starts with '.' (names starting with a dot are kept for backproplab's own temporary files)"
    elif name.endswith(".partial"):
        problem = "it ends with '.partial', the suffix of runs under construction"
    elif any(unicodedata.category(ch).startswith("C") for ch in name):
        problem = "it holds a control or unprintable character"
    else:
        try:
            size = len(name.encode("utf-8"))
        except UnicodeEncodeError:
            size, problem = 0, "it is not valid text (undecodable bytes)"
        if size > MAX_NAME:
            problem = f"it is {size} bytes long; the limit is {MAX_NAME}"
    if problem:
        raise RunError(f"--name {name!r} cannot be a run name: {problem}")
    return name


def is_run(path: Path) -> bool:
    """A real folder (not a link) that carries backproplab's marker."""
    return path.is_dir() and not path.is_symlink() and (path / MARKER).is_file()


def has_checkpoint(path: Path) -> bool:
    return any(path.glob("checkpoint.*"))


def next_free_name(out: Path, name: str) -> str:
    """``name`` if free, else the first free ``name-vK`` (K = 2, 3, …)."""
    k = 1
    candidate = name
    while (out / candidate).exists() or (out / f"{candidate}.partial").exists():
        k += 1
        candidate = f"{name}-v{k}"
    return candidate


class RunFolder:
    """A run under construction in ``<out>/<name>.partial``; ``commit()`` makes it ``<out>/<name>``.

    Use it as a context manager: a clean exit commits; an exception applies the rules
    of the module docstring; the name lock is released in every case.
    """

    def __init__(self, out: str | Path, name: str, *, overwrite: bool = False, resume: bool = False,
                 new_version: bool = False, kind: str = "run") -> None:
        out = Path(out)
        name = check_name(name)
        if sum(map(bool, (overwrite, resume, new_version))) > 1:
            raise RunError("--overwrite, --resume and --new-version exclude each other; give one")
        if out.exists() and not out.is_dir():
            raise RunError(f"--out {out} is a file, not a folder")
        out.mkdir(parents=True, exist_ok=True)
        if new_version:
            name = next_free_name(out, name)
        self.out, self.name, self.overwrite, self.resume, self.kind = out, name, overwrite, resume, kind
        self.final = out / name
        self.path = out / f"{name}.partial"
        self.replaces = overwrite  # whether committing may replace a finished run of the name
        self.lock = NameLock(out, name).acquire()
        try:
            if resume and is_run(self.path) and has_checkpoint(self.path):
                self.replaces = bool(read_json(self.path / MARKER).get("replaces", False))
            else:
                self._check_final()
                self._open_partial()
        except BaseException:
            self.lock.release()
            raise
        self.started = time.time()

    def _check_final(self) -> None:
        final = self.final
        if not (final.exists() or final.is_symlink()):
            return
        if not is_run(final):
            what = "a link" if final.is_symlink() else ("a file" if not final.is_dir() else "a folder backproplab "
                                                         f"did not make (it has no {MARKER} marker)")
            raise RunError(f"{final} exists and is {what}; backproplab never replaces it. Choose another --name "
                           "or --out")
        if self.resume:
            raise RunFinished(final)
        if not self.overwrite:
            raise RunExistsError(f"{final} already exists; to replace it: {command_with('--overwrite')}; to keep it "
                                 f"and write the next free name: {command_with('--new-version')}; or choose "
                                 "another --name or --out")

    def _open_partial(self) -> None:
        partial = self.path
        exists = partial.exists() or partial.is_symlink()
        if self.resume:
            if not is_run(partial):
                raise RunError(f"nothing to resume: {partial} is not an interrupted backproplab run "
                               "(an interrupted run keeps its checkpoint there); start the run without --resume")
            if not has_checkpoint(partial):
                raise RunError(f"nothing to resume in {partial}: the run stopped before its first epoch finished; "
                               "start it again without --resume")
            return
        if exists and not is_run(partial):
            raise RunError(f"{partial} exists and is not a backproplab run folder; backproplab never replaces it. "
                           "Move it away or choose another --name")
        if exists and has_checkpoint(partial) and not self.overwrite:
            raise RunExistsError(f"{partial} holds an interrupted run: continue it with {command_with('--resume')}, "
                                 f"or start it again from the beginning with {command_with('--overwrite')}")
        if exists:
            shutil.rmtree(partial)  # ours, and either without a checkpoint or replaced as asked
        partial.mkdir()
        write_json(partial / MARKER, {"format": "backproplab-run/1", "kind": self.kind, "name": self.name,
                                      "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "replaces": self.overwrite})

    # -- writing ---------------------------------------------------------------------------

    def file(self, name: str) -> Path:
        return self.path / name

    def write_json(self, name: str, obj) -> None:
        write_json(self.file(name), obj)

    def write_text(self, name: str, text: str) -> None:
        write_text(self.file(name), text)

    def write_csv(self, name: str, rows: list[dict], columns: list[str]) -> None:
        write_csv(self.file(name), rows, columns)

    def has_checkpoint(self) -> bool:
        return has_checkpoint(self.path)

    # -- finishing ---------------------------------------------------------------------------

    def commit(self) -> Path:
        """Move the finished run into place (replacing an old run only with overwrite)."""
        if self.final.exists() or self.final.is_symlink():
            if not (self.replaces and is_run(self.final)):  # it appeared, or changed, while this run trained
                raise RunError(f"{self.final} appeared during the run; it is left as it is, and this run is kept "
                               f"in {self.path}")
            trash = self.out / f".{self.name}.old-{os.getpid()}"
            os.replace(self.final, trash)
            os.replace(self.path, self.final)
            shutil.rmtree(trash)
        else:
            os.replace(self.path, self.final)
        return self.final

    def discard(self) -> None:
        """Remove the partial folder this process created (it holds nothing to resume)."""
        if is_run(self.path):
            shutil.rmtree(self.path)

    def __enter__(self) -> "RunFolder":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.commit()
            elif not self.resume and not self.has_checkpoint():
                self.discard()  # no epoch finished: nothing to resume, nothing lost
            elif not getattr(exc, "resuming_cannot_help", False):
                exc.add_note(f"The run is kept in {self.path}: continue it with {command_with('--resume')}")
        finally:
            self.lock.release()
