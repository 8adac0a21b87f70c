"""The grader against hostile input: predictions.csv files of every broken kind, each problem
with its line; random bytes as a learner's modules and as a predictions file (fuzzed) end
in findings or one clear line, never in a crash of the grader."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backproplab.check.grader import check_package
from backproplab.check.parts import PART_NAMES
from backproplab.check.predictions import check_predictions
from backproplab.errors import UsageError
from fixtures import write_batch, write_cifar
from check_mutations import package_with


def csv_text(rows, header="Id,Category"):
    return "\n".join([header, *(f"{i},{k}" for i, k in rows)]) + "\n"


def test_a_right_predictions_file_passes_and_is_scored(tmp_path):
    folder = write_cifar(tmp_path / "data", n_per_batch=4, n_test=4)
    labels = np.arange(10_000) % 10
    write_batch(folder / "test_batch", 10_000, seed=1, labels=labels.tolist(),
                data=np.zeros((10_000, 3072), dtype=np.uint8))
    predicted = labels.copy()
    predicted[:250] = (predicted[:250] + 1) % 10  # 250 wrong of 10,000
    path = tmp_path / "predictions.csv"
    path.write_text(csv_text(zip(range(1, 10_001), predicted)))
    report = check_predictions(path, data_dir=tmp_path / "data")
    assert report.exit_status == 0 and not report.problems
    assert report.accuracy == pytest.approx(0.975)
    assert "97.50%" in report.text()


def test_every_problem_is_named_with_its_line(tmp_path):
    rows = [(i, i % 10) for i in range(1, 10_001)]
    rows[4] = (5, 11)  # line 6: a category out of range
    rows[9] = (9, 3)  # line 11: Id 9 again, so Id 10 is missing
    rows[19] = ("x", 1)  # line 21: not a number
    path = tmp_path / "predictions.csv"
    path.write_text(csv_text(rows, header="id,label"))
    report = check_predictions(path)
    text = report.text()
    assert report.exit_status == 1
    for expected in ("line 1: the header must be Id,Category", "line 6: Category '11'", "line 11: Id 9 again",
                     "line 21: Id 'x'", "3 Ids have no row: 5, 10, 20"):
        assert expected in text, text


def test_a_short_file_and_a_huge_one(tmp_path):
    short = tmp_path / "short.csv"
    short.write_text(csv_text([(1, 0), (2, 1)]))
    assert "holds 2 rows; 10,000 are expected" in check_predictions(short).text()
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as f:
        f.truncate(64 * 2**20)  # sparse: 64 MB of nothing
    with pytest.raises(UsageError, match="more than the"):
        check_predictions(huge)


def test_the_cli_checks_a_predictions_file_with_the_exit_status(tmp_path):
    path = tmp_path / "predictions.csv"
    path.write_text(csv_text([(i, 0) for i in range(1, 10_001)]))
    done = subprocess.run([sys.executable, "-m", "backproplab", "check", str(path)], capture_output=True, text=True)
    assert done.returncode == 0 and "the format is right" in done.stdout, done.stderr
    path.write_text(csv_text([(i, 10) for i in range(1, 10_001)]))
    done = subprocess.run([sys.executable, "-m", "backproplab", "check", str(path)], capture_output=True, text=True)
    assert done.returncode == 1 and "an autograder would reject this file" in done.stdout


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000) | st.text(max_size=3000).map(str.encode))
def test_fuzzed_predictions_files_give_a_report_or_one_clear_error(tmp_path, data):
    path = tmp_path / "predictions.csv"
    path.write_bytes(data)
    try:
        report = check_predictions(path)
    except UsageError as err:
        assert str(err).startswith(str(path))
        return
    assert report.exit_status == 1 and report.problems  # nothing random is a valid file
    assert len(report.problems) <= 20


SOURCES = st.one_of(
    st.binary(max_size=400).map(lambda b: b.decode("latin-1")),
    st.lists(st.sampled_from(["import numpy as np", "class ReLU:", "    def forward(self, Z):",
                              "        return Z", "        return ...", "        raise SystemExit(1)",
                              "import os; os._exit(3)", "        return np.ones(10**12)", "print('x' * 5000)",
                              "def initialize_activation(name): return None", "x = (", "\t  return Z"]),
             max_size=12).map("\n".join))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=SOURCES)
def test_fuzzed_modules_never_take_the_grader_down(tmp_path_factory, source):
    root = package_with(tmp_path_factory.mktemp("fuzz"))
    (root / "neural_networks" / "activations.py").write_text(source, encoding="utf-8", errors="replace")
    report = check_package(root, parts=["ReLU.*", "FullyConnected.forward"], timeout=5, memory_mb=512)
    assert [f.part for f in report.findings] == [p for p in PART_NAMES if p.startswith("ReLU.")] + [
        "FullyConnected.forward"]
    for f in report.findings:
        assert f.verdict in ("pass", "wrong", "not implemented", "error", "timeout")
        assert f.verdict == "pass" or f.cause
