"""The grader against hostile input: random text as a learner's modules (fuzzed) ends in
findings, never in a crash of the grader. (Hostile predictions.csv files are in
test_predictions.py.)"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backproplab.check.grader import check_package
from backproplab.check.kinds import PART_NAMES
from check_mutations import package_with

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
