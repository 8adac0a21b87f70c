"""The submissions in a folder, where each one's package is, and what it holds.

SUBMISSIONS holds one entry per student: a folder with a ``neural_networks/`` package
somewhere inside (or the package's modules at its top, as a Gradescope upload of loose files
gives), or a .zip of one. A Gradescope "Export Submissions" folder is the same with
``submission_metadata.yml`` beside the folders, naming each one's students (``metadata``).

Every non-hidden entry is a submission, so that no student silently drops out of the
gradebook: one that cannot be graded (a link, a .tar.gz, a folder with no package or with
two) is graded as an *error* whose reason says why. The search for the package never follows
a link, looks at most ``MAX_ENTRIES`` entries deep into ``MAX_DEPTH`` folders, and decides
from names alone which folder is the package: one ``neural_networks/`` folder that holds
one of the homework's modules; else one folder that holds them directly. Two candidates are
an error, never a guess.

The *fingerprint* of a package is the SHA-256 of its ``.py`` files (their paths inside the
package and their bytes, line endings made ``\\n``): two submissions with the same
fingerprint hand in the same code.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ...bounded import read_bounded
from ...errors import UsageError
from ..grader import MODULE_FILES
from .metadata import FILE as METADATA_FILE, MetadataError, Student, read_metadata
from .unzip import MAX_BYTES, MAX_FILES, Archive, ZipRefused

#: how far the search for a package looks into a submitted folder
MAX_ENTRIES, MAX_DEPTH = 50_000, 12
#: folders that never hold the learner's package
SKIPPED = {"__MACOSX", "__pycache__", "node_modules", "site-packages"}


class Unstageable(Exception):
    """Why a submission cannot be graded (a sentence for the instructor and the student)."""


@dataclass(frozen=True)
class Submission:
    name: str  # the entry's name in SUBMISSIONS, the submission's identifier everywhere
    path: Path
    students: tuple[Student, ...] = ()  # from Gradescope's metadata (a group submission has several)
    problem: str = ""  # why it cannot be graded, known before grading

    def field(self, key: str) -> str:
        """The students' names, emails or SIDs, joined by "; " (a group submission has several)."""
        return "; ".join(getattr(s, key) or "" for s in self.students) if self.students else ""


@dataclass(frozen=True)
class Staged:
    package: Path  # the package folder to grade (a scratch copy for a zip)
    shown: str  # where it lies in the submission, as its feedback names it: "alice/hw6/neural_networks"
    fingerprint: str


def discover(root: Path) -> list[Submission]:
    """Every submission in ``root``, sorted by name (UsageError when ``root`` is not a folder
    of submissions)."""
    if not root.is_dir():
        raise UsageError(f"{root}: not a folder; give the folder that holds one folder or .zip per student")
    if (root / "neural_networks").is_dir() or any((root / name).is_file() for name in MODULE_FILES):
        raise UsageError(f"{root}: holds a neural_networks package itself, so it is one submission; give the folder "
                         "that holds one folder or .zip per student (or grade this one with backproplab check)")
    metadata = {}
    if os.path.lexists(root / METADATA_FILE):
        try:
            metadata = read_metadata(root / METADATA_FILE)
        except MetadataError as err:
            raise UsageError(f"Gradescope's metadata cannot be read: {err}") from None
    names = sorted(n for n in os.listdir(root) if not n.startswith(".") and n not in (METADATA_FILE, "__MACOSX"))
    found = []
    for name in names:
        path = root / name
        students = metadata.get(name) or _own_metadata(path)
        found.append(Submission(name, path, tuple(students), _entry_problem(path)))
    for name in sorted(set(metadata) - set(names) - {""}):
        found.append(Submission(name, root / name, tuple(metadata[name]), f"{METADATA_FILE} names it, but the "
                                                                          "export holds no folder of that name"))
    return sorted(found, key=lambda s: s.name)


def _own_metadata(path: Path) -> list[Student]:
    own = path / METADATA_FILE
    if path.is_symlink() or not path.is_dir() or own.is_symlink() or not own.is_file():
        return []
    try:
        return read_metadata(own).get("", [])
    except MetadataError:
        return []


def _entry_problem(path: Path) -> str:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link, which the grader does not follow: put the submission itself here"
    if stat.S_ISDIR(info.st_mode):
        return ""
    if stat.S_ISREG(info.st_mode):
        if path.suffix.lower() == ".zip":
            return ""
        kind = f"a {''.join(path.suffixes[-2:])} file" if path.suffix else "a file without an extension"
        return f"is {kind}, not a folder or a .zip: only folders and .zip files are graded (unpack it into a folder)"
    return "is neither a regular file nor a folder"


# -- one submission's package (in the worker) ---------------------------------------------------------


def stage(sub: Submission, scratch: Path) -> Staged:
    """The submission's package, ready for ``check_package``: found in its folder, or
    extracted from its zip into ``scratch`` (an empty private folder); Unstageable if none."""
    if sub.problem:
        raise Unstageable(sub.problem)
    if sub.path.is_dir():
        files, zips, links = _listing(sub.path)
        if not _candidates(files) and links:
            raise Unstageable(f"holds no package, but links ({', '.join(map(str, links[:5]))}), which the grader "
                              "does not follow: hand in the files themselves")
        if not _candidates(files) and len(zips) == 1:  # a folder holding only the student's zip
            return _from_zip(sub, sub.path / zips[0], scratch, f"{sub.name}/{zips[0]}")
        if not _candidates(files) and len(zips) > 1:
            raise Unstageable(f"holds no package but {len(zips)} zips ({', '.join(map(str, zips[:5]))}); the "
                              "grader does not guess which one is meant")
        rel = choose_package(files)
        package = sub.path / rel
        return Staged(package, _shown(sub.name, rel), fingerprint(package))
    return _from_zip(sub, sub.path, scratch, sub.name)


def _from_zip(sub: Submission, path: Path, scratch: Path, shown: str) -> Staged:
    try:
        with Archive(path) as archive:
            rel = choose_package(list(archive.files))
            package = archive.extract(rel, scratch / "package" / ("neural_networks" if rel.name in ("", ".")
                                                                   else rel.name))
    except ZipRefused as err:
        raise Unstageable(f"the zip {err}") from None
    return Staged(package, _shown(shown, rel), fingerprint(package))


def _shown(name: str, rel: PurePosixPath) -> str:
    return name if str(rel) == "." else f"{name}/{rel}"


def _listing(folder: Path) -> tuple[list[PurePosixPath], list[PurePosixPath], list[PurePosixPath]]:
    """(every regular file below ``folder``, the zips at its top, the links), links never followed."""
    files, zips, links, seen = [], [], [], 0
    for top, dirs, names in os.walk(folder, followlinks=False):
        rel = PurePosixPath(Path(top).relative_to(folder).as_posix())
        depth = 0 if str(rel) == "." else len(rel.parts)
        links += [rel / d for d in dirs if os.path.islink(os.path.join(top, d))]
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED and depth < MAX_DEPTH
                         and not os.path.islink(os.path.join(top, d)))
        seen += len(dirs) + len(names)
        if seen > MAX_ENTRIES:
            raise Unstageable(f"holds more than {MAX_ENTRIES:,} files and folders: too many to search for the package")
        for name in sorted(names):
            mode = os.lstat(os.path.join(top, name)).st_mode
            links += [rel / name] if stat.S_ISLNK(mode) else []
            if name.startswith(".") or not stat.S_ISREG(mode):
                continue
            files.append(rel / name)
            if depth == 0 and name.lower().endswith(".zip"):
                zips.append(rel / name)
    return files, zips, links


def _candidates(files: list[PurePosixPath]) -> list[PurePosixPath]:
    return sorted({f.parent for f in files if f.name in MODULE_FILES})


def choose_package(files: list[PurePosixPath]) -> PurePosixPath:
    """The package folder among a submission's files (paths relative to the submission)."""
    holding = _candidates(files)
    named = [d for d in holding if d.name == "neural_networks"]
    modules = ", ".join(MODULE_FILES)
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise Unstageable(f"holds {len(named)} neural_networks packages ({', '.join(map(str, named[:5]))}); the "
                          "grader does not guess which one is meant: hand in one")
    if any(part == "neural_networks" for f in files for part in f.parent.parts):
        raise Unstageable(f"its neural_networks folder holds none of {modules}")
    if len(holding) == 1:
        return holding[0]
    if len(holding) > 1:
        raise Unstageable(f"holds the homework's modules in {len(holding)} folders "
                          f"({', '.join(map(str, holding[:5]))}) and no neural_networks folder; hand in one package")
    if not files:
        raise Unstageable("is empty: no neural_networks package")
    tops = sorted({f.parts[0] for f in files})
    return _no_package(modules, tops)


def _no_package(modules: str, tops: list[str]):
    shown = ", ".join(tops[:8]) + (f" and {len(tops) - 8} more" if len(tops) > 8 else "")
    raise Unstageable(f"holds no neural_networks package (a folder with {modules}); it holds {shown}")


def fingerprint(package: Path) -> str:
    """SHA-256 of the package's .py files: their paths and bytes, line endings made \\n."""
    digest, count, size = hashlib.sha256(), 0, 0
    for top, dirs, names in os.walk(package, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED)
        for name in sorted(n for n in names if n.endswith(".py") and not n.startswith(".")):
            path = Path(top, name)
            if not stat.S_ISREG(os.lstat(path).st_mode):
                continue
            data = read_bounded(path, MAX_BYTES, Unstageable, "package file", follow_symlinks=False)
            count, size = count + 1, size + len(data)
            if count > MAX_FILES or size > MAX_BYTES:
                raise Unstageable(f"its package has more than {MAX_FILES:,} files or {MAX_BYTES >> 20} MB of Python: "
                                  "not a homework package")
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            rel = path.relative_to(package).as_posix().encode("utf-8", "surrogateescape")
            digest.update(len(rel).to_bytes(8, "big") + rel + len(data).to_bytes(8, "big") + data)
    return "sha256:" + digest.hexdigest()


def scratch_folder() -> Path:
    """A private folder for one submission's extraction (the caller removes it)."""
    return Path(tempfile.mkdtemp(prefix="backproplab-grade-"))
