"""`backproplab gradescope-autograder`: the zip holds what Gradescope runs; its setup.sh installs
backproplab from the wheel inside into a fresh virtual environment that sees nothing of this
one; its run_autograder grades what students upload (four files, flat) with the rubric and the
starter carried in the zip, and always leaves a results.json that follows Gradescope's
specification (gradescope-autograders.readthedocs.io/en/latest/specs/) — score 0 and the reason
when the grader cannot grade."""

import io
import json
import math
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from backproplab.check import autograder
from backproplab.check.autograder import add_autograder_flags, build_autograder
from backproplab.check.grader import MODULE_FILES
from backproplab.check.output import read_rubric
from backproplab.errors import UsageError
from check_mutations import CORRECT

ROOT = Path(__file__).resolve().parents[1]
STARTER = CORRECT / "neural_networks"
#: the parts of the fixture's term (sp24), with points of their own
RUBRIC = {"Linear": 1, "Sigmoid": 1, "TanH": 1, "ReLU": 2, "SoftMax": 2, "ArcTan": 1, "ArcTan.backward": 3,
          "FullyConnected": 3, "Conv2D": 2, "Conv2D.backward": 4, "Pool2D": 1, "Flatten": 1, "CrossEntropy": 2,
          "NeuralNetwork": 2}
#: one mistake in each of two files, each failing exactly one part
BROKEN = {"ArcTan.backward": ("activations.py", "return dY / (1.0 + Z ** 2)", "return -dY / (1.0 + Z ** 2)"),
          "Conv2D.backward": ("layers.py", 'self.gradients["b"] = dZ.sum(axis=(0, 1, 2)).reshape(1, -1)',
                              'self.gradients["b"] = dZ.sum(axis=(1, 2))')}

# Gradescope's results.json (docs/specs.md of gradescope/autograder_samples, "Output format")
TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
            "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
             "visibility", "extra_data"}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}


def number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def gradescope_results(root: Path) -> dict:
    """results.json, checked against Gradescope's specification (and what ours always has)."""
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert set(results) <= TOP_KEYS, set(results) - TOP_KEYS
    assert number(results["score"]) and number(results["execution_time"]) and isinstance(results["output"], str)
    assert results["output_format"] in FORMATS and results.get("stdout_visibility", "hidden") in VISIBILITY
    assert isinstance(results["tests"], list) and results["tests"]
    for test in results["tests"]:
        assert set(test) <= TEST_KEYS and {"name", "score", "max_score", "output", "visibility", "status"} <= set(test)
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert number(test["score"]) and number(test["max_score"]) and 0 <= test["score"] <= test["max_score"]
        assert test["status"] in ("passed", "failed") and test["visibility"] in VISIBILITY
    return results


def unpack(zip_path: Path, root: Path) -> Path:
    """The zip as Gradescope lays it out: extracted into root/source (modes kept, as unzip does),
    run_autograder copied to root/run_autograder, empty submission and results folders."""
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            target = root / "source" / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(info))
            target.chmod(stat.S_IMODE(info.external_attr >> 16))
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    return root


def flat_upload(root: Path, broken=()) -> None:
    """The four files a student uploads, at the top of the submission, with the mistakes of ``broken``."""
    for name in MODULE_FILES:
        text = (STARTER / name).read_text()
        for part in broken:
            file, old, new = BROKEN[part]
            if file == name:
                assert old in text
                text = text.replace(old, new, 1)
        (root / "submission" / name).write_text(text)


def run_autograder(root: Path, env: dict, timeout: float = 300) -> dict:
    done = subprocess.run([str(root / "run_autograder")], cwd=root, env={**env, "AUTOGRADER_ROOT": str(root)},
                          capture_output=True, text=True, errors="replace", timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return gradescope_results(root)


@pytest.fixture(scope="module")
def rubric_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rubric") / "rubric.json"
    path.write_text(json.dumps(RUBRIC))
    return path


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory, rubric_file) -> Path:
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    return build_autograder(rubric_file, out, CORRECT, term="sp24", project=ROOT)


# -- the zip ---------------------------------------------------------------------------------------------


def test_the_zip_holds_what_gradescope_runs_at_its_root(autograder_zip, rubric_file):
    with zipfile.ZipFile(autograder_zip) as z:
        modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in z.infolist()}
        run = z.read("run_autograder").decode()
        wheel = next(n for n in modes if n.endswith(".whl"))
        assert z.read("rubric.json") == rubric_file.read_bytes()
        with zipfile.ZipFile(io.BytesIO(z.read(wheel))) as w:
            assert "backproplab/check/autograder_files/run_autograder" in w.namelist()
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755 and modes[wheel] == 0o644
    assert wheel.startswith("backproplab-") and wheel.endswith("-py3-none-any.whl")
    assert autograder.source_checkout() == ROOT  # the wheel is built from this checkout
    assert {n for n in modes if n.startswith("starter/")} == {f"starter/neural_networks/{n}"
                                                              for n in os.listdir(STARTER) if n != "__pycache__"}
    flags = '--rubric "$SOURCE/rubric.json" --timeout 10 --memory 2048 --output-visibility visible --term sp24'
    assert f"FLAGS=({flags})" in run and "@@" not in run
    assert f"MAX_POINTS={float(sum(read_rubric(str(rubric_file)).values()))}" in run
    for script in ("setup.sh", "run_autograder"):
        checked = subprocess.run(["bash", "-n", "/dev/stdin"], input=zipfile.ZipFile(autograder_zip).read(script),
                                 capture_output=True)
        assert checked.returncode == 0, checked.stderr


def test_the_flags_and_their_defaults():
    import argparse

    parser = argparse.ArgumentParser()
    add_autograder_flags(parser)
    args = parser.parse_args(["--rubric", "r.json"])
    assert (args.output, args.starter, args.term, args.timeout, args.memory, args.output_visibility,
            args.total_timeout, args.overwrite) == ("autograder.zip", None, None, 10.0, 2048, "visible", 540.0, False)
    with pytest.raises(SystemExit):
        parser.parse_args([])  # a rubric is required: an autograder gives points


@pytest.fixture
def fake_wheel(monkeypatch):
    """build_wheel replaced by a small file (for the tests of what happens around it)."""
    def build(into, project=None):
        into.mkdir(parents=True, exist_ok=True)
        (into / "backproplab-0-py3-none-any.whl").write_bytes(b"wheel")
        return into / "backproplab-0-py3-none-any.whl"
    monkeypatch.setattr(autograder, "build_wheel", build)


def test_an_existing_zip_is_replaced_only_when_asked(tmp_path, rubric_file, fake_wheel):
    out = tmp_path / "autograder.zip"
    out.write_bytes(b"the instructor's")
    with pytest.raises(UsageError, match="exists; add --overwrite"):
        build_autograder(rubric_file, out)
    assert out.read_bytes() == b"the instructor's"
    build_autograder(rubric_file, out, overwrite=True)
    assert "setup.sh" in zipfile.ZipFile(out).namelist()
    assert os.listdir(tmp_path) == ["autograder.zip"]  # no temporary file left beside it


@pytest.mark.parametrize("change, message", [
    ({"rubric": "not json"}, "not valid JSON"),
    ({"rubric": {"BatchNorm1D": 2}, "term": "sp24"}, "gives points to BatchNorm1D.forward, BatchNorm1D.backward"),
    ({"timeout": 0.1}, "--timeout must be"),
    ({"memory_mb": 10}, "--memory must be"),
    ({"total_timeout": 30}, "--total-timeout must be"),
    ({"starter": "nowhere"}, "no such folder"),
    ({"out": "folder"}, "is a folder"),
], ids=["rubric-not-json", "rubric-outside-term", "timeout", "memory", "total-timeout", "starter", "out-folder"])
def test_what_cannot_be_built_is_a_usage_error_and_leaves_nothing(tmp_path, fake_wheel, change, message):
    rubric = change.pop("rubric", {"ReLU": 1})
    (tmp_path / "rubric.json").write_text(rubric if isinstance(rubric, str) else json.dumps(rubric))
    (tmp_path / "folder").mkdir()
    kwargs = {"rubric": tmp_path / "rubric.json", "out": tmp_path / change.pop("out", "autograder.zip"), **change}
    if "starter" in kwargs:
        kwargs["starter"] = tmp_path / kwargs["starter"]
    with pytest.raises(UsageError, match=message):
        build_autograder(**kwargs)
    assert sorted(os.listdir(tmp_path)) == ["folder", "rubric.json"]


# -- run_autograder when the grader cannot grade (a stand-in for backproplab's Python) -----------------


FAKE_PYTHON = """#!/bin/sh
if [ "$1" = "-m" ]; then {behaviour}; fi
exec {python} "$@"
"""


@pytest.mark.parametrize("behaviour, expected", [
    (None, "backproplab is not installed in"),
    ("printf 'error: \\\\ \"quoted\"\\ttab\\033[31m red\\n\\377 second line' >&2; exit 2",
     'error: \\ "quoted"\ttab[31m red\n'),
    ("echo 'Traceback' >&2; exit 3", "the grader failed (exit status 3): Traceback"),
    ("exec sleep 30", "the grading did not finish within 1 s"),
    ("echo '{\"score\": 1}' > \"$6\"; exit 0", "the grader finished but its results.json cannot be read"),
], ids=["not-installed", "usage-error-with-control-characters", "bug", "too-long", "invalid-results"])
def test_run_autograder_always_leaves_valid_results(tmp_path, autograder_zip, behaviour, expected):
    root = unpack(autograder_zip, tmp_path / "autograder")
    venv = tmp_path / "venv"
    if behaviour is not None:
        (venv / "bin").mkdir(parents=True)
        (venv / "bin" / "python").write_text(FAKE_PYTHON.format(behaviour=behaviour, python=sys.executable))
        (venv / "bin" / "python").chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "BACKPROPLAB_VENV": str(venv), "BACKPROPLAB_TOTAL_TIMEOUT": "1"}
    results = run_autograder(root, env, timeout=60)
    assert results["score"] == 0 and expected in results["output"], results["output"]
    (test,) = results["tests"]
    assert (test["score"], test["max_score"], test["status"]) == (0, sum(rubric_points()), "failed")
    assert stat.S_IMODE((root / "source").stat().st_mode) & 0o077 == 0  # locked again before grading


def rubric_points():
    from backproplab.check.kinds import PARTS
    from backproplab.check.grader import matching

    points = {}
    for pattern, value in RUBRIC.items():
        points.update({p.name: value for p in matching([pattern])})
    assert set(points) <= {p.name for p in PARTS}
    return list(points.values())


# -- the real thing: setup.sh into a fresh environment, run_autograder on what students upload ------------


@pytest.fixture(scope="module")
def installed(tmp_path_factory, autograder_zip):
    """setup.sh's install and lock steps, into a fresh virtual environment made from a Python
    outside any private folder (so that the sandbox's own user can run it, as on Gradescope).
    The dependencies come from the package index (through pip's cache)."""
    python = next((p for p in ("/usr/bin/python3", sys._base_executable) if _python_ok(p)), None)
    if python is None:
        pytest.skip("no Python >= 3.11 with venv to create a fresh environment from")
    venv = Path(tempfile.mkdtemp(prefix="backproplab-venv-"))
    venv.chmod(0o755)  # the user isolation level runs it as another user
    root = unpack(autograder_zip, tmp_path_factory.mktemp("setup") / "autograder")
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
           "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip"),
           **{k: v for k, v in os.environ.items() if k.startswith("PIP_") and k != "PIP_CACHE_DIR"},
           "BACKPROPLAB_VENV": str(venv / "env"), "BACKPROPLAB_PYTHON": python}
    done = subprocess.run(["bash", str(root / "source" / "setup.sh"), "install", "lock"], capture_output=True,
                          text=True, timeout=900, env={**env, "AUTOGRADER_ROOT": str(root)})
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        yield root, env, done.stdout
    finally:
        shutil.rmtree(venv, ignore_errors=True)


def _python_ok(python: str) -> bool:
    code = "import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))"
    return os.path.exists(python) and subprocess.run([python, "-c", code], capture_output=True).returncode == 0


def fresh_root(installed, tmp_path) -> Path:
    template, _, _ = installed
    root = tmp_path / "autograder"
    shutil.copytree(template, root, symlinks=True)
    return root


@pytest.mark.slow
def test_setup_installs_the_wheel_alone_and_locks_the_autograders_folders(installed):
    root, env, said = installed
    python = Path(env["BACKPROPLAB_VENV"]) / "bin" / "python"
    where = subprocess.run([python, "-c", "import backproplab; print(backproplab.__file__)"], capture_output=True,
                           text=True, env=env, cwd="/")
    assert where.stdout.startswith(env["BACKPROPLAB_VENV"]) and str(ROOT) not in where.stdout
    assert "isolation:" in said
    for folder in ("source", "results"):
        assert stat.S_IMODE((root / folder).stat().st_mode) & 0o077 == 0


@pytest.mark.slow
def test_a_correct_flat_upload_gets_every_point_of_the_rubric(installed, tmp_path):
    root = fresh_root(installed, tmp_path)
    flat_upload(root)
    results = run_autograder(root, installed[1])
    assert len(results["tests"]) > 1, results["output"]  # graded, not the grader's failure
    assert sorted(t["max_score"] for t in results["tests"]) == sorted(rubric_points())
    assert results["score"] == sum(rubric_points()) and all(t["status"] == "passed" for t in results["tests"])
    assert "namespaces" in results["output"] or "user" in results["output"]


@pytest.mark.slow
@pytest.mark.parametrize("isolation", ["strict", "user"])
def test_a_broken_flat_upload_loses_exactly_the_points_of_its_broken_parts(installed, tmp_path, isolation):
    if isolation == "user" and os.geteuid() != 0:
        pytest.skip("the user isolation level needs root, as on Gradescope")
    root = fresh_root(installed, tmp_path)
    flat_upload(root, broken=BROKEN)
    results = run_autograder(root, {**installed[1], "BACKPROPLAB_ISOLATION": isolation})
    assert len(results["tests"]) > 1, results["output"]
    lost = {t["name"]: t["max_score"] for t in results["tests"] if t["score"] < t["max_score"]}
    assert lost == {"ArcTan.backward": RUBRIC["ArcTan.backward"], "Conv2D.backward": RUBRIC["Conv2D.backward"]}
    assert results["score"] == sum(rubric_points()) - sum(lost.values())
    assert all(t["status"] == ("failed" if t["name"] in lost else "passed") for t in results["tests"])
    if isolation == "user":
        assert "an unprivileged user of its own" in results["output"]


@pytest.mark.slow
@pytest.mark.parametrize("submission, total, expected", [
    ({}, "540", "none of activations.py, layers.py, losses.py, models.py found"),
    ({"activations.py": "while True:\n    pass\n"}, "4", "the grading did not finish within 4 s"),
], ids=["nothing-submitted", "the-grading-runs-too-long"])
def test_a_submission_the_grader_cannot_grade_still_gets_results(installed, tmp_path, submission, total, expected):
    root = fresh_root(installed, tmp_path)
    for name, text in submission.items():
        (root / "submission" / name).write_text(text)
    results = run_autograder(root, {**installed[1], "BACKPROPLAB_TOTAL_TIMEOUT": total}, timeout=120)
    assert results["score"] == 0 and expected in results["output"], results["output"]
    assert results["tests"][0]["max_score"] == sum(rubric_points())


@pytest.mark.slow
def test_an_installed_backproplab_builds_the_zip_from_itself(installed, tmp_path, rubric_file, autograder_zip):
    """Where backproplab was installed from a wheel (no source checkout), the zip carries that
    installation repacked: the same files as the wheel it came from, and it installs."""
    _, env, _ = installed
    python = Path(env["BACKPROPLAB_VENV"]) / "bin" / "python"
    code = ("import sys; from backproplab.check.autograder import build_autograder, source_checkout; "
            "assert source_checkout() is None; build_autograder(sys.argv[1], sys.argv[2], sys.argv[3])")
    done = subprocess.run([python, "-c", code, str(rubric_file), str(tmp_path / "again.zip"), str(STARTER)],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr

    def wheel_names(zip_path):
        with zipfile.ZipFile(zip_path) as z:
            name = next(n for n in z.namelist() if n.endswith(".whl"))
            z.extract(name, tmp_path / zip_path.stem)
            return tmp_path / zip_path.stem / name, sorted(zipfile.ZipFile(tmp_path / zip_path.stem / name).namelist())

    repacked, names = wheel_names(tmp_path / "again.zip")
    assert names == wheel_names(autograder_zip)[1]
    target = tmp_path / "target"
    done = subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target",
                           str(target), str(repacked)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert (target / "backproplab" / "check" / "autograder_files" / "setup.sh").is_file()
