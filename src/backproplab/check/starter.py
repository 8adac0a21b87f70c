"""Grading what students upload: the files they filled in, without the rest of the package.

The course hands out a starter package, ``neural_networks/``; learners fill in four of its
files (activations.py, layers.py, losses.py, models.py) and, on Gradescope, upload those
four — usually flat, sometimes in a folder. ``assembled(submission, starter)`` builds in a
temporary folder the package the grader grades: a copy of the starter with the learner's
files put in. The rule, exactly:

1. **The starter** is STARTER itself when it holds the graded files, else
   STARTER/neural_networks. It must hold all four, as regular files. All of it is copied as
   the sandbox copies a package (regular files and folders only, no link followed or copied,
   no caches, bounded in files and bytes).
2. **The learner's folder** is the first of these that holds at least one of the four as a
   regular file: SUB/neural_networks, SUB, SUB/*/neural_networks, SUB/* (``*`` a folder, in
   name order; hidden folders, ``__MACOSX`` and ``__pycache__`` skipped; a link to a folder
   never entered). Two folders of the same rank that both hold some are an error (which did
   the learner mean?); a folder of a later rank that holds some too is ignored, with a note.
3. **The learner's files** are the regular files directly in that folder named as Python
   modules (``name.py``, ``name`` an identifier), each at most ``MAX_SOURCE_BYTES``: the four
   graded files, and modules of the learner's own beside them. A starter file other than the
   four (``__init__.py``, ``weights.py``, ``optimizers.py``, …) always comes from the starter:
   the course's copy is graded and the learner's is ignored, with a note. A graded file the
   learner did not upload is the starter's, blanks and all (its parts are *not implemented*),
   with a note. Links, FIFOs and other non-regular files are never read.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ..bounded import read_bounded
from ..errors import UsageError
from .grader import MODULE_FILES
from .sandbox import SandboxError, copy_package
from .scan import PACKAGE

#: the largest file of the learner's that is read (a homework module is tens of kilobytes)
MAX_SOURCE_BYTES = 4 * 2**20
#: folders never searched for the learner's files (macOS zips add __MACOSX/ with ._ copies)
SKIPPED = {"__MACOSX", "__pycache__"}


@dataclass
class Assembly:
    root: Path  # the temporary folder that holds neural_networks/: what check_package grades
    learner_dir: Path  # where the learner's files were found
    from_learner: list[str] = field(default_factory=list)  # the file names taken from it
    notes: list[str] = field(default_factory=list)  # what was ignored, or taken from the starter, and why


def starter_package(path: str | os.PathLike) -> Path:
    """The starter's package folder: ``path`` itself or ``path``/neural_networks."""
    where = Path(path)
    if not where.is_dir():
        raise UsageError(f"--starter {path}: no such folder; give the course's starter {PACKAGE}/ package, or the "
                         "folder that holds it")
    package = where if _graded_in(where) else where / PACKAGE
    missing = [name for name in MODULE_FILES if not _is_regular(package / name)]
    if missing:
        raise UsageError(f"--starter {path}: {package} lacks {', '.join(missing)}: not the course's starter "
                         f"package (it has all of {', '.join(MODULE_FILES)}, with blanks)")
    return package


def learner_folder(submission: str | os.PathLike) -> tuple[Path, list[str]]:
    """(the folder that holds the learner's files, notes on folders ignored), by rule 2."""
    top = Path(submission)
    if not top.is_dir():
        raise UsageError(f"{submission}: no such folder; give the folder that holds the submitted files")
    subs = _subfolders(top)
    ranks = [[top / PACKAGE], [top], [d / PACKAGE for d in subs], subs]
    chosen, notes, seen = None, [], set()
    for rank in ranks:
        holding = [d for d in rank if d not in seen and _is_folder(d) and _graded_in(d)]
        seen.update(rank)  # SUB/neural_networks is of rank 1 and 4: judged once
        if chosen is None and len(holding) > 1:
            raise UsageError(f"{submission}: {' and '.join(_shown(d, top) for d in holding)} each hold some of "
                             f"{', '.join(MODULE_FILES)}; submit one copy of the files")
        if chosen is None and holding:
            chosen = holding[0]
            continue
        notes += [f"{_shown(d, top)} also holds {', '.join(_graded_in(d))}: ignored; the files graded are those "
                  f"in {_shown(chosen, top)}" for d in holding]
    if chosen is None:
        raise UsageError(f"{submission}: none of {', '.join(MODULE_FILES)} found, neither at the top, nor in "
                         f"{PACKAGE}/, nor one folder deeper; submit the files you filled in")
    return chosen, notes


def assemble(submission: str | os.PathLike, starter: str | os.PathLike, into: Path) -> Assembly:
    """Build ``into``/neural_networks: the starter's package with the learner's files put in."""
    package = starter_package(starter)
    learner, notes = learner_folder(submission)
    target = Path(into) / PACKAGE
    try:
        copy_package(package, target)
    except SandboxError as err:
        raise UsageError(f"--starter {starter}: {err}") from None
    assembly = Assembly(Path(into), learner, notes=notes)
    for entry in sorted(os.scandir(learner), key=lambda e: e.name):
        why = _why_ignored(entry, package)
        if why is not None:
            if why:
                assembly.notes.append(f"{_shown(Path(entry.path), Path(submission))}: {why}")
            continue
        data = read_bounded(entry.path, MAX_SOURCE_BYTES, UsageError, "homework module", follow_symlinks=False)
        (target / entry.name).write_bytes(data)
        assembly.from_learner.append(entry.name)
    missing = [name for name in MODULE_FILES if name not in assembly.from_learner]
    if missing:
        assembly.notes.append(f"{', '.join(missing)}: none taken from the submission, so the starter's copy, blanks "
                              "and all, is graded")
    return assembly


@contextlib.contextmanager
def assembled(submission: str | os.PathLike, starter: str | os.PathLike) -> Iterator[Assembly]:
    """``assemble`` into a temporary folder, removed when the block ends."""
    into = Path(tempfile.mkdtemp(prefix="backproplab-assembled-"))
    try:
        yield assemble(submission, starter, into)
    finally:
        shutil.rmtree(into, ignore_errors=True)


def _why_ignored(entry: os.DirEntry, package: Path) -> str | None:
    """None for a file of the learner's folder that is taken (rule 3); else why it is not
    ('' for a file that is not Python source at all, ignored without a word)."""
    name, stem = entry.name, entry.name[:-3]
    if not name.endswith(".py"):
        return ""
    if not entry.is_file(follow_symlinks=False):
        return "a link, or not a regular file: never read"
    if not stem.isidentifier():
        return "not a name Python can import (a module is name.py, the name letters, digits and _): ignored"
    if name not in MODULE_FILES and _is_regular(package / name):
        return (f"the starter's own file: the course's copy is graded (you fill in {', '.join(MODULE_FILES)})")
    if _is_folder(package / stem):
        return f"the starter's package has a folder {stem}/, which this file would hide: ignored"
    return None


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _is_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _graded_in(folder: Path) -> list[str]:
    return [name for name in MODULE_FILES if _is_regular(folder / name)]


def _subfolders(top: Path) -> list[Path]:
    try:
        entries = sorted(os.scandir(top), key=lambda e: e.name)
    except OSError as err:
        raise UsageError(f"{top}: cannot be read ({err.strerror})") from None
    return [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
            and e.name not in SKIPPED]


def _shown(path: Path, top: Path) -> str:
    rel = os.path.relpath(path, top)
    return "the submission's top folder" if rel == "." else rel
