"""``backproplab gradescope-autograder``: the autograder.zip an instructor uploads to a Gradescope
programming assignment as it is.

What the zip holds, at its root (Gradescope's specification: gradescope-autograders.readthedocs.io,
"Autograder Specifications"):

- ``setup.sh``, run once, as root, when Gradescope builds the image: bubblewrap with apt,
  backproplab from the wheel below (with the ``homework`` extra) in a virtual environment
  outside /autograder, then /autograder/source and /autograder/results closed to other users;
- ``run_autograder``, run per submission: ``backproplab check /autograder/submission
  --gradescope /autograder/results/results.json`` with the settings below, or a results.json
  with score 0 and the reason whenever the grader cannot grade;
- ``backproplab-<version>-py3-none-any.whl``: this backproplab, built from its source checkout
  (``pip wheel --no-deps``) or repacked from the installed distribution;
- ``rubric.json``: the rubric as given (checked against the parts when the zip is built);
- ``starter/neural_networks/`` (with ``--starter``): the course's starter package, inside which
  the submission's files are graded (``starter.py``).

The scripts are templates beside this module (``autograder_files/``); the settings are written
into run_autograder, each quoted for the shell.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata
import importlib.util
import json
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..errors import UsageError
from .cli import VISIBILITIES, check_flags
from .terms import BY_NAME, TERMS

TEMPLATES = Path(__file__).resolve().with_name("autograder_files")
#: Gradescope ends a run after 10 minutes unless the assignment allows more; a minute is left
#: for run_autograder to write the results when the grading is cut short
TOTAL_TIMEOUT = 540.0
#: the fixed time of every file in the zip (reproducible zips; the earliest time a zip can hold)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

DESCRIPTION = """Build the autograder.zip to upload to a Gradescope programming assignment (Configure
Autograder → Zip file upload, on the default Ubuntu base image): setup.sh installs bubblewrap (apt) and
this backproplab (a wheel inside the zip) with the dependencies it needs from PyPI; run_autograder grades
each submission with `backproplab check` and the rubric, starter and limits given here, and always leaves a
results.json (score 0 and the reason when the submission cannot be graded). With --starter, students upload
the four files they fill in, flat or in a folder."""


def add_autograder_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rubric", required=True, metavar="FILE",
                   help="JSON object part pattern → points, as `check --rubric` takes it, e.g. {\"Conv2D\": 4, "
                        "\"ReLU.backward\": 1}; only the parts it names count")
    p.add_argument("-o", "--output", default="autograder.zip", metavar="ZIP",
                   help="the zip to write (default: autograder.zip)")
    p.add_argument("--starter", metavar="DIR",
                   help="the course's starter neural_networks/ package (or the folder holding it): students then "
                        "upload only activations.py, layers.py, losses.py and models.py, flat or in a folder")
    p.add_argument("--term", choices=[t.name for t in TERMS],
                   help="the homework's term (default: recognised in each submission by the classes it has)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="wall-clock limit per part (default: 10; training gets 4×)")
    p.add_argument("--memory", type=int, default=2048, metavar="MB", help="memory limit per part (default: 2048)")
    p.add_argument("--output-visibility", choices=VISIBILITIES, default="visible",
                   help="who sees what the learner's code printed (default: visible)")
    p.add_argument("--total-timeout", type=float, default=TOTAL_TIMEOUT, metavar="SECONDS",
                   help=f"limit of the whole grading of one submission (default: {TOTAL_TIMEOUT:g}: Gradescope's "
                        "10-minute limit less a minute to write the results; raise both together)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing zip")


def run_build(args) -> int:
    """The command: build the zip and say what to do with it."""
    out = build_autograder(args.rubric, args.output, args.starter, term=args.term, timeout=args.timeout,
                           memory_mb=args.memory, output_visibility=args.output_visibility,
                           total_timeout=args.total_timeout, overwrite=args.overwrite)
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
    print(f"{out}: {out.stat().st_size / 2**20:.1f} MB, {len(names)} files "
          f"({', '.join(n for n in names if '/' not in n)}{', starter/' if args.starter else ''})\n"
          "Upload it on Gradescope: the assignment's Configure Autograder page, Zip file upload. setup.sh needs the "
          "network while the image builds (apt: bubblewrap; PyPI: numpy, matplotlib, pandas, …); grading does not.")
    return 0


def build_autograder(rubric: str | Path, out: str | Path, starter: str | Path | None = None, *,
                     term: str | None = None, timeout: float = 10.0, memory_mb: int = 2048,
                     output_visibility: str = "visible", total_timeout: float = TOTAL_TIMEOUT,
                     overwrite: bool = False, project: str | Path | None = None) -> Path:
    """Write the autograder zip to ``out`` (atomically; an existing file only with ``overwrite``)
    and return its path. ``project``: the source checkout to build the wheel from (default: the
    one this module runs from, else the installed distribution is repacked)."""
    from ..bounded import read_bounded
    from ..runs.files import atomic_path
    from .output import read_rubric
    from .starter import starter_package

    out = _target(out, overwrite)
    flags = _settings(term, timeout, memory_mb, output_visibility, total_timeout)
    points = read_rubric(str(rubric))
    _rubric_fits_term(points, term)
    raw_rubric = read_bounded(rubric, 2**20, UsageError, "rubric file")
    package = starter_package(starter) if starter is not None else None
    with tempfile.TemporaryDirectory(prefix="backproplab-autograder-") as tmp:
        wheel = build_wheel(Path(tmp) / "dist", project)
        scripts = _scripts(wheel.name, flags, total_timeout, sum(points.values()))
        with atomic_path(out) as part:
            with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as z:
                for name, text in scripts.items():
                    _add(z, name, text.encode(), 0o755)
                _add(z, wheel.name, wheel.read_bytes(), 0o644)
                _add(z, "rubric.json", raw_rubric, 0o644)
                if package is not None:
                    _add_starter(z, package, Path(tmp) / "starter")
    return out


def _target(out: str | Path, overwrite: bool) -> Path:
    out = Path(out)
    if out.is_dir():
        raise UsageError(f"-o {out} is a folder; give the zip to write, e.g. {out}/autograder.zip")
    if out.exists() and not overwrite:
        raise UsageError(f"-o {out} exists; add --overwrite to replace it")
    if not out.parent.is_dir():
        raise UsageError(f"-o {out}: the folder {out.parent} does not exist")
    return out


def _settings(term, timeout, memory_mb, output_visibility, total_timeout) -> list[str]:
    """The check flags the zip carries, each checked as `check` checks it."""
    check_flags(argparse.Namespace(timeout=timeout, memory=memory_mb, seed=0, gradescope=None, overwrite=False))
    if term is not None and term not in BY_NAME:
        raise UsageError(f"--term {term}: not a term; the terms: {', '.join(BY_NAME)}")
    if output_visibility not in VISIBILITIES:
        raise UsageError(f"--output-visibility {output_visibility}: one of {', '.join(VISIBILITIES)}")
    if not (60 <= total_timeout <= 86400 and total_timeout >= 4 * timeout):
        raise UsageError(f"--total-timeout must be from 60 to 86400 s and at least the training part's 4 × --timeout "
                         f"({4 * timeout:g} s); got {total_timeout}")
    flags = ["--timeout", f"{timeout:g}", "--memory", str(memory_mb), "--output-visibility", output_visibility]
    return flags + (["--term", term] if term else [])


def _rubric_fits_term(points: dict[str, float], term: str | None) -> None:
    """With a term given, every part worth points must be in its homework (else every learner
    loses those points to a class the starter never had)."""
    if term is None:
        return
    from . import terms
    from .kinds import PARTS

    foreign = [p.name for p in PARTS if points.get(p.name, 0) > 0 and not terms.has(BY_NAME[term], p.cls)]
    if foreign:
        raise UsageError(f"--rubric gives points to {', '.join(foreign)}, whose classes the {term} homework does not "
                         "have; give them 0 points or leave them out")


def _scripts(wheel: str, flags: list[str], total_timeout: float, max_points: float) -> dict[str, str]:
    from .. import __version__

    fill = {"@@VERSION@@": __version__, "@@WHEEL@@": wheel, "@@CHECK_FLAGS@@": shlex.join(flags),
            "@@TOTAL_TIMEOUT@@": f"{int(total_timeout)}", "@@MAX_POINTS@@": json.dumps(max_points)}
    scripts = {}
    for name in ("setup.sh", "run_autograder"):
        text = (TEMPLATES / name).read_text()
        for key, value in fill.items():
            text = text.replace(key, value)
        scripts[name] = text
    return scripts


def _add(z: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.external_attr = (stat.S_IFREG | mode) << 16  # unzip restores the mode: the scripts stay executable
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)


def _add_starter(z: zipfile.ZipFile, package: Path, scratch: Path) -> None:
    """The starter package under starter/neural_networks/, copied as the sandbox copies a
    package (regular files only, no link followed, no caches, bounded)."""
    from .sandbox import SandboxError, copy_package
    from .scan import PACKAGE

    try:
        copy_package(package, scratch)
    except SandboxError as err:
        raise UsageError(f"--starter {package}: {err}") from None
    for path in sorted(p for p in scratch.rglob("*") if p.is_file()):
        _add(z, f"starter/{PACKAGE}/{path.relative_to(scratch).as_posix()}", path.read_bytes(), 0o644)


# -- the wheel ------------------------------------------------------------------------------------------


def build_wheel(into: Path, project: str | Path | None = None) -> Path:
    """backproplab's wheel in ``into``: built from ``project`` (default: the source checkout this
    module runs from), or, where backproplab was installed from a wheel, repacked from it."""
    into.mkdir(parents=True, exist_ok=True)
    project = Path(project) if project is not None else source_checkout()
    if project is None:
        return repack_installed(into)
    with tempfile.TemporaryDirectory(prefix="backproplab-wheel-") as tmp:
        clean = Path(tmp) / "backproplab"  # a copy, so that no build/ left in the checkout adds stale files
        clean.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "setup.py", "setup.cfg"):
            if (project / name).is_file():
                shutil.copy2(project / name, clean / name)
        shutil.copytree(project / "src", clean / "src",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check",
                   "--wheel-dir", str(into), str(clean)]
        if importlib.util.find_spec("setuptools"):
            command.insert(4, "--no-build-isolation")  # offline, with the setuptools already here
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    wheels = sorted(into.glob("backproplab-*.whl"))
    if done.returncode or len(wheels) != 1:
        raise UsageError(f"building backproplab's wheel from {project} failed: "
                         f"{(done.stderr or done.stdout).strip()[-1500:]}")
    return wheels[0]


def source_checkout() -> Path | None:
    """The project folder this module runs from (src/backproplab/check/autograder.py), if any."""
    root = Path(__file__).resolve().parents[3]
    try:
        text = (root / "pyproject.toml").read_text()
    except OSError:
        return None
    return root if 'name = "backproplab"' in text and (root / "src" / "backproplab").is_dir() else None


def repack_installed(into: Path) -> Path:
    """The installed distribution as a wheel again: its package and .dist-info files (less what
    the installer added), with a new RECORD."""
    dist = importlib.metadata.distribution("backproplab")
    files = [f for f in dist.files or [] if _wheel_member(f.parts)]
    info = next((f.parts[0] for f in files if f.parts[0].endswith(".dist-info")), None)
    if info is None or not any(f.parts == ("backproplab", "__init__.py") for f in files):
        raise UsageError("backproplab is installed here in a way that cannot be repacked into a wheel (an editable "
                         "install?); run from a source checkout, or pass its folder as the project")
    wheel = into / f"backproplab-{dist.version}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(files, key=lambda f: (f.parts[0] == info, f.as_posix())):  # .dist-info last, as pip writes
            data = Path(dist.locate_file(f)).read_bytes()
            z.writestr(zipfile.ZipInfo(f.as_posix(), ZIP_TIME), data, zipfile.ZIP_DEFLATED)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{f.as_posix()},sha256={digest},{len(data)}")
        record.append(f"{info}/RECORD,,")
        z.writestr(zipfile.ZipInfo(f"{info}/RECORD", ZIP_TIME), "\n".join(record) + "\n", zipfile.ZIP_DEFLATED)
    return wheel


def _wheel_member(parts: tuple[str, ...]) -> bool:
    if parts[0] == "backproplab":
        return "__pycache__" not in parts and not parts[-1].endswith(".pyc")
    return (len(parts) == 2 and parts[0].startswith("backproplab-") and parts[0].endswith(".dist-info")
            and parts[1] not in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"))
