"""A generated class for ``backproplab grade``: the correct fixture package, some of its
mutations (``check_mutations``), and hostile submissions, each with the status, verdicts and
total its gradebook entry must have."""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

from check_mutations import CORRECT, MUTATIONS, package_with

#: the parts graded (fast: the sandbox runs ten small parts per submission)
PARTS = "ReLU.*,TanH.*,ArcTan.*,CrossEntropy.*,Flatten.*"
N_PARTS = 10
BY_NAME = {m.name: m for m in MUTATIONS}


def mutated(tmp: Path, *names: str, edits: tuple = ()) -> Path:
    """A folder holding the correct package with the named mutations and extra edits."""
    steps = [(m.file, m.old, m.new, m.occurrence) for m in map(BY_NAME.get, names)] + list(edits)
    return package_with(tmp, *steps)


def put(root: Path, name: str, made: Path) -> Path:
    shutil.move(str(made), root / name)
    return root / name


def zipped(path: Path, members: dict[str, bytes | str], symlinks: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, zipfile.ZIP_DEFLATED)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, target)
    return path


def package_files(folder: Path, prefix: str) -> dict[str, bytes]:
    return {f"{prefix}/{p.relative_to(folder).as_posix()}": p.read_bytes() for p in sorted(folder.rglob("*.py"))}


def build_class(root: Path, scratch: Path) -> dict[str, dict]:
    """Fill ``root`` with the class; returns submission → what its entry must show:
    {"status", "total" (of N_PARTS), "verdicts": {part: (verdict, rule)}, "reason": text}."""
    root.mkdir()
    expect: dict[str, dict] = {}

    def graded(name, total, **verdicts):
        expect[name] = {"status": "graded", "total": total, "verdicts": {
            k.replace("_", "."): v for k, v in verdicts.items()}}

    def error(name, reason):
        expect[name] = {"status": "error", "reason": reason}

    put(root, "ada", mutated(scratch / "1")); graded("ada", N_PARTS)
    put(root, "ben", mutated(scratch / "2", "relu ignores dY"))
    graded("ben", N_PARTS - 1, ReLU_backward=("wrong", "dY-ignored"))
    crlf = put(root, "cy", mutated(scratch / "3", "relu ignores dY"))  # the same code with Windows line endings
    for path in crlf.rglob("*.py"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    graded("cy", N_PARTS - 1, ReLU_backward=("wrong", "dY-ignored"))
    put(root, "dee", mutated(scratch / "4", "loss gradient not averaged", "arctan sign"))
    graded("dee", N_PARTS - 2, CrossEntropy_backward=("wrong", "times-m"), ArcTan_backward=("wrong", "sign"))
    put(root, "eve", mutated(scratch / "5", "tanh raises"))
    graded("eve", N_PARTS - 1, TanH_forward=("not implemented", "not-implemented"))
    hang = ("activations.py", "return np.where(Z > 0, Z, 0.0)", "while True:\n            pass", 1)
    put(root, "hang", mutated(scratch / "6", edits=(hang,)))
    graded("hang", N_PARTS - 2, ReLU_forward=("timeout", "timeout"), ReLU_backward=("timeout", "timeout"))
    put(root, "crash", mutated(scratch / "7", "os._exit"))
    graded("crash", N_PARTS - 2, Flatten_forward=("error", "exit"), Flatten_backward=("error", "exit"))
    put(root, "bomb", mutated(scratch / "8", "allocates 50 GB"))
    graded("bomb", N_PARTS - 2, Flatten_forward=("error", "out-of-memory"), Flatten_backward=("error", "out-of-memory"))
    loud = ("activations.py", "return np.arctan(Z)", "print('x' * 10**7)\n        return 2 * np.arctan(Z)", 1)
    put(root, "loud", mutated(scratch / "9", edits=(loud,)))
    graded("loud", N_PARTS - 1, ArcTan_forward=("wrong", None))
    # a zip of a whole homework folder (the package one level down), and a folder holding only its zip
    zipped(root / "fay.zip", package_files(CORRECT, "hw6")); graded("fay.zip", N_PARTS)
    (root / "gus").mkdir()
    zipped(root / "gus" / "upload.zip", package_files(CORRECT, "x")); graded("gus", N_PARTS)
    _hostile(root, scratch, error)
    return expect


def _hostile(root: Path, scratch: Path, error) -> None:
    zipped(root / "slip.zip", {**package_files(CORRECT, "hw"), "../../escaped.py": "print('out')"})
    error("slip.zip", "climbs out")
    zipped(root / "abs.zip", {"/tmp/escaped-abs.py": "x = 1", "neural_networks/layers.py": "x = 1"})
    error("abs.zip", "absolute path")
    zipped(root / "linky.zip", package_files(CORRECT, "hw"), symlinks={"hw/neural_networks/data": "/etc"})
    error("linky.zip", "symbolic link")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("neural_networks/layers.py", b"\0" * (40 << 20))
    (root / "zipbomb.zip").write_bytes(bomb.getvalue())
    error("zipbomb.zip", "zip bomb")
    (root / "etc").symlink_to("/etc")
    error("etc", "symbolic link")
    (root / "lenny").mkdir()
    (root / "lenny" / "neural_networks").symlink_to(CORRECT / "neural_networks")
    error("lenny", "which the grader does not follow")
    (root / "empty").mkdir()
    error("empty", "is empty")
    two = root / "twins"
    shutil.copytree(CORRECT, two / "a")
    shutil.copytree(CORRECT, two / "b")
    error("twins", "2 neural_networks packages")
    (root / "notes.tar.gz").write_bytes(b"\x1f\x8b")
    error("notes.tar.gz", "not a folder or a .zip")


def gradescope_export(root: Path, scratch: Path) -> None:
    """A Gradescope "Export Submissions" folder: metadata with a group submission and
    names a spreadsheet or a browser would act on."""
    root.mkdir()
    for i, name in enumerate(("submission_101", "submission_102", "submission_103")):
        put(root, name, mutated(scratch / f"g{i}", *(["relu ignores dY"] if i == 1 else [])))
    (root / "submission_metadata.yml").write_text(
        "submission_101:\n"
        "  :submitters:\n"
        "  - :name: Ada Lovelace\n"
        "    :sid: '0031234567'\n"
        "    :email: ada@example.edu\n"
        "  :created_at: 2024-04-02 21:14:03.000000000 -07:00\n"
        "submission_102:\n"
        "  :submitters:\n"
        "  - :name: \"=HYPERLINK(\\\"http://evil.example\\\")\"\n"
        "    :sid: '-12'\n"
        "    :email: '@evil.example'\n"
        "  - :name: \"<script>alert(1)</script>\\e[2J\"\n"
        "    :sid: '200'\n"
        "    :email: two@example.edu\n"
        "submission_104:\n"
        "  :submitters:\n"
        "  - :name: Gone Student\n"
        "    :sid: '404'\n", encoding="utf-8")
    os.utime(root)
