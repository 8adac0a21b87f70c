"""`backproplab check`: a correct package passes every part; each catalogue mistake, planted
alone in a copy of it, gives its verdict and names its cause; packages that hang, exit,
allocate without bound, print megabytes, come from an earlier term or are the blank
starter never take the grader down; the outputs (table, JSON, Gradescope) and the exit
status are what the README says."""

import json
from pathlib import Path
import subprocess
import sys

import pytest

from backproplab.check.grader import check_package
from backproplab.check.output import table
from backproplab.check.kinds import PART_NAMES
from check_mutations import CORRECT, MUTATIONS, apply, package_with

CHECK_FIXTURES = CORRECT.parent


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "backproplab", "check", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def test_the_correct_package_passes_every_part():
    report = check_package(CORRECT)
    assert [f.part for f in report.findings] == PART_NAMES
    failing = {f.part: (f.verdict, f.cause) for f in report.findings if f.verdict != "pass" and not f.absent}
    assert not failing
    assert {f.part.split(".")[0] for f in report.findings if f.absent} == {"BatchNorm1D", "Elman", "L2"}
    assert report.exit_status == 0
    assert all(f.max_error is None or f.max_error < 1e-12 for f in report.findings)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_each_mistake_gives_its_verdict_and_cause(tmp_path, mutation):
    root = apply(tmp_path, mutation)
    (finding,) = check_package(root, parts=[mutation.part], timeout=20).findings
    assert (finding.verdict, finding.rule) == (mutation.verdict, mutation.rule), (finding.cause, finding.detail)
    assert finding.cause


def test_a_layer_is_judged_with_a_right_activation(tmp_path):
    """A wrong ReLU fails the ReLU parts; the dense layer is checked with a right activation of
    its case's list instead (and says so); the model, whose right result the grader computes
    with its own layers, is wrong and names the part to blame."""
    root = package_with(tmp_path, ("activations.py", "return np.where(Z > 0, dY, 0.0)",
                                   "return np.where(Z > 0, 2 * dY, 0.0)", 1))
    report = check_package(root, parts=["ReLU.*", "FullyConnected.*", "NeuralNetwork.forward", "NeuralNetwork.backward"])
    verdicts = {f.part: f.verdict for f in report.findings}
    assert verdicts == {"ReLU.forward": "pass", "ReLU.backward": "wrong", "FullyConnected.forward": "pass",
                        "FullyConnected.backward": "pass", "NeuralNetwork.forward": "pass",
                        "NeuralNetwork.backward": "wrong"}
    dense = next(f for f in report.findings if f.part == "FullyConnected.backward")
    assert any("checked with the linear activation: your relu" in line for line in dense.detail)
    model = next(f for f in report.findings if f.part == "NeuralNetwork.backward")
    assert model.rule == "model-layers-wrong" and "ReLU.backward" in model.cause


def test_a_forward_that_is_wrong_is_told_apart_from_a_backward_that_is(tmp_path):
    """The backward is the exact derivative of a wrong forward: the cause points at the forward."""
    root = package_with(tmp_path, ("activations.py", "return np.arctan(Z)", "return 2 * np.arctan(Z)", 1),
                        ("activations.py", "return dY / (1.0 + Z ** 2)", "return 2 * dY / (1.0 + Z ** 2)", 1))
    report = check_package(root, parts=["ArcTan.*"])
    forward, backward = report.findings
    assert forward.verdict == backward.verdict == "wrong"
    assert backward.rule == "forward-wrong" and "ArcTan.forward" in backward.cause


@pytest.mark.parametrize("edit, parts, hung, other", [
    (("layers.py", 'self.cache["in_dims"] = X.shape', "while True:\n            pass", 1), "Flatten.*", "Flatten",
     "ReLU.forward"),
    (("losses.py", "import numpy as np", "import numpy as np\nwhile True:\n    pass", 1), "CrossEntropy.*",
     "CrossEntropy", "Linear.forward"),
], ids=["a-hang-in-a-method", "a-hang-at-import"])
def test_a_hang_times_out_and_every_other_part_still_runs(tmp_path, edit, parts, hung, other):
    root = package_with(tmp_path, edit)
    report = check_package(root, parts=[parts, other], timeout=2)
    verdicts = {f.part: f.verdict for f in report.findings}
    assert verdicts == {f"{hung}.forward": "timeout", f"{hung}.backward": "timeout", other: "pass"}
    assert report.seconds < 30


def test_printing_megabytes_is_captured_and_cut(tmp_path):
    root = package_with(tmp_path, ("activations.py", "def forward(self, Z):\n        return Z",
                                   "def forward(self, Z):\n        print('x' * 10**7)\n        return Z * 2", 1))
    (finding,) = check_package(root, parts=["Linear.forward"]).findings
    assert finding.verdict == "wrong"
    printed = next(line for line in finding.detail if line.startswith("your code printed"))
    assert "of 10,000,001 bytes" in printed and len(printed) < 5000


def test_another_terms_package_is_graded_on_what_its_term_has():
    """Fall 2023's package (Identity for Linear, FullyConnected only): the classes its term lacks
    are not counted; everything it has passes; exit 0."""
    report = check_package(CHECK_FIXTURES / "identity_term")
    assert report.term.startswith("fa23")
    absent = sorted(f.part for f in report.findings if f.absent)
    assert absent == sorted(p for p in PART_NAMES if p.split(".")[0] in ("ArcTan", "Conv2D", "Pool2D", "Flatten")
                            or p.startswith(("L2.", "BatchNorm1D.", "Elman.")))
    assert all(f.verdict == "pass" for f in report.findings if not f.absent), report.findings
    assert report.exit_status == 0


def test_deleting_an_unfinished_class_does_not_hide_it(tmp_path):
    """A class of the term's homework that the package lacks is not implemented and counts."""
    root = package_with(tmp_path, ("layers.py", "class Conv2D(", "class _Gone(", 1))
    report = check_package(root, parts=["Conv2D.*", "Flatten.forward"])
    assert {f.part: (f.verdict, f.rule, f.absent) for f in report.findings} == {
        "Conv2D.forward": ("not implemented", "missing-class", False),
        "Conv2D.backward": ("not implemented", "missing-class", False), "Flatten.forward": ("pass", None, False)}
    assert report.exit_status == 1
    with_rubric = check_package(root, parts=["Conv2D.*", "Flatten.forward"], rubric={"Flatten.forward": 1.0})
    assert [f.absent for f in with_rubric.findings] == [True, True, False] and with_rubric.exit_status == 0


def test_the_blank_starter_is_not_implemented_or_does_not_load(tmp_path):
    blanks = [("activations.py", body, "return ...", 1) for body in
              ("return 1.0 / (1.0 + np.exp(-Z))", "return dY * s * (1.0 - s)", "return np.tanh(Z)",
               "return dY * (1.0 - t ** 2)", "return np.where(Z > 0, Z, 0.0)", "return np.where(Z > 0, dY, 0.0)",
               "return e / np.sum(e, axis=1, keepdims=True)")]
    blanks.append(("activations.py", "s = self.forward(Z)\n        inner = np.sum(s * dY, axis=1, keepdims=True)\n"
                   "        return s * (dY - inner)", "return ...", 1))
    blanks += [("losses.py", "return -np.sum(Y * np.log(Y_hat)) / m", "return ...", 1),
               ("losses.py", "return -(Y / Y_hat) / m", "return ...", 1),
               ("layers.py", "W = self.init_weights((self.n_in, self.n_out))", "W = # initialize weights", 1)]
    report = check_package(package_with(tmp_path, *blanks))
    verdicts = {f.part: (f.verdict, f.rule) for f in report.findings}
    for name in ("Sigmoid", "TanH", "ReLU", "SoftMax"):
        assert verdicts[f"{name}.forward"] == verdicts[f"{name}.backward"] == ("not implemented", "not-implemented")
    assert verdicts["CrossEntropy.forward"] == ("not implemented", "not-implemented")
    for part in ("FullyConnected.forward", "Conv2D.backward", "Flatten.forward", "NeuralNetwork.train"):
        assert verdicts[part] == ("error", "blank-left-in")
    assert report.exit_status == 1


def test_json_is_the_only_thing_on_stdout_and_the_exit_status_follows_the_verdicts(tmp_path):
    root = package_with(tmp_path, ("losses.py", "return -(Y / Y_hat) / m", "return -(Y / Y_hat)", 1))
    done = run_cli(root, "--json", "--parts", "CrossEntropy.*,Linear.forward")
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == {"path", "seed", "term", "isolation", "parts", "notes", "summary"}
    assert result["isolation"]["level"] in ("namespaces", "user", "process")
    parts = {p["part"]: p for p in result["parts"]}
    assert set(parts) == {"Linear.forward", "CrossEntropy.forward", "CrossEntropy.backward"}
    assert parts["CrossEntropy.backward"]["verdict"] == "wrong" and parts["CrossEntropy.backward"]["rule"] == "times-m"
    assert {"part", "verdict", "max_error", "cause", "detail", "seconds"} <= set(parts["Linear.forward"])
    assert run_cli(CORRECT, "--parts", "Linear.*").returncode == 0


def test_gradescope_results_with_a_rubric(tmp_path):
    """The rubric takes --parts' patterns (a later entry wins); parts worth 0 are left out and
    named; the summary agrees with the score; a cause is printed once per test."""
    root = package_with(tmp_path, ("activations.py", "return np.where(Z > 0, dY, 0.0)", "return dY", 1))
    rubric = tmp_path / "rubric.json"
    rubric.write_text(json.dumps({"relu": 2, "ReLU.backward": 3, "Linear.*": 1, "Linear.backward": 0}))
    results = tmp_path / "results.json"
    done = run_cli(root, "--parts", "ReLU.*,Linear.*,Sigmoid.forward", "--gradescope", results, "--rubric", rubric)
    assert done.returncode == 1, done.stderr
    graded = json.loads(results.read_text())
    tests = {t["name"]: t for t in graded["tests"]}
    assert set(tests) == {"ReLU.forward", "ReLU.backward", "Linear.forward"}
    assert tests["ReLU.forward"]["score"] == 2 and tests["ReLU.forward"]["status"] == "passed"
    assert tests["ReLU.backward"]["score"] == 0 and tests["ReLU.backward"]["max_score"] == 3
    output = tests["ReLU.backward"]["output"]
    assert tests["ReLU.backward"]["status"] == "failed" and output.startswith("wrong: ")
    assert output.count("does not match the derivative") == 1, output
    assert graded["score"] == 3 and "2 of 3 graded parts pass: 3 of 6 points" in graded["output"]
    assert "Linear.backward" in graded["output"] and "Sigmoid.forward" in graded["output"]
    again = run_cli(root, "--parts", "Linear.forward", "--gradescope", results, "--term", "sp24")
    assert again.returncode == 2 and "--overwrite" in again.stderr and "Traceback" not in again.stderr


@pytest.mark.parametrize("args, message", [
    (["{missing}"], "no such file or folder"),
    (["{empty}"], "holds no neural_networks"),
    (["{correct}", "--parts", "Conv3D.*"], "matches no part"),
    (["{correct}", "--timeout", "0"], "--timeout"),
    (["{correct}", "--rubric", "{rubric}", "--gradescope", "{out}"], "names no part"),
])
def test_usage_errors_are_one_line_and_exit_2(tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "rubric.json").write_text('{"Conv3D.forward": 1}')
    paths = {"missing": tmp_path / "nope", "empty": tmp_path / "empty", "correct": CORRECT,
             "rubric": tmp_path / "rubric.json", "out": tmp_path / "results.json"}
    done = run_cli(*[a.format(**paths) for a in args])
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_package_folder_itself_can_be_given():
    report = check_package(CORRECT / "neural_networks", parts=["Flatten.*"])
    assert [f.verdict for f in report.findings] == ["pass", "pass"]


def test_two_mistakes_in_one_part_are_both_named(tmp_path):
    """db m times too small and σ(Z) cached where Z is needed: the headline names both."""
    root = package_with(tmp_path, ("layers.py", 'self.cache["Z"] = Z\n        return self.activation(Z)',
                                   'self.cache["Z"] = self.activation(Z)\n        return self.activation(Z)', 1),
                        ("layers.py", 'self.gradients["b"] = np.sum(dZ, axis=0, keepdims=True)',
                         'self.gradients["b"] = np.sum(dZ, axis=0, keepdims=True) / X.shape[0]', 1))
    (finding,) = check_package(root, parts=["FullyConnected.backward"]).findings
    assert finding.verdict == "wrong" and set(finding.rules) == {"cached-output", "over-m"}, finding.causes
    assert "σ(Z) in its cache" in finding.cause and "m = 5 times too small" in finding.cause


def test_a_class_name_alone_selects_its_parts_whatever_its_case(tmp_path):
    report = check_package(CORRECT, parts=["conv2d", "FLATTEN.forward"])
    assert [f.part for f in report.findings] == ["Conv2D.forward", "Conv2D.backward", "Flatten.forward"]


def test_one_root_cause_is_shown_once_and_the_summary_adds_up(tmp_path):
    """The starter's blank in layers.py: one block under which every part it stops is named,
    and a summary whose counts add up to the parts counted."""
    root = package_with(tmp_path, ("layers.py", "W = self.init_weights((self.n_in, self.n_out))",
                                   "W = # initialize weights using self.init_weights", 1),
                        ("activations.py", "class ArcTan(", "class _Gone(", 1))
    report = check_package(root)
    text = table(report, width=120)
    assert text.count("Python cannot load the file") == 1, text
    assert "the same as FullyConnected.forward" in text
    s = report.summary()
    assert s["pass"] + s["wrong"] + s["not implemented"] + s["error"] + s["timeout"] == s["parts"] == 27
    assert f"{s['pass']} of 27 parts pass (6 not in your term's homework, not counted); 2 not implemented, 13 error" \
        in text
    assert all(f.max_error is None for f in report.findings if f.verdict != "pass")


def test_a_class_the_grader_does_not_know_is_reported(tmp_path):
    root = package_with(tmp_path, ("layers.py", "class Flatten(",
                                   "class Dropout(Layer):\n    def forward(self, X):\n        return X\n\n"
                                   "    def backward(self, dY):\n        return dY\n\n\nclass Flatten(", 1))
    report = check_package(root, parts=["Flatten.forward"])
    assert report.notes == ["your package has Dropout (layers.py), which this grader does not check"]
    assert "Dropout (layers.py), which this grader does not check" in table(report)


#: causes produced by tests other than the mutations, with the test that produces each
PRODUCED_ELSEWHERE = {
    "timeout": "test_a_hang_times_out_and_every_other_part_still_runs",
    "absent": "test_another_terms_package_is_graded_on_what_its_term_has",
    "missing-class": "test_deleting_an_unfinished_class_does_not_hide_it",
    "model-layers-wrong": "test_a_layer_is_judged_with_a_right_activation",
    "malformed-result": "test_check_attacks.py",
    "reference-implementation": "test_check_attacks.py",
    "tampering": "test_check_attacks.py",
}
#: causes any kind may name: from comparing arrays (judge.explain, judge_array, fd_check), from what
#: a call returned (not implemented, an exception), or from the part's process
GENERIC = {"times-m", "over-m", "sign", "transposed", "integer-result", "not-finite", "empty", "wrong-shape",
           "not-derivative", "forward-wrong", "input-modified"}


def test_every_cause_of_the_catalogue_is_produced_and_every_kind_declares_what_it_names():
    from backproplab.check.causes import CATALOGUE, ENVIRONMENT_RULES, VERDICT_RULES
    from backproplab.check.kinds import PARTS
    from check_term_mutations import TERM_MUTATIONS

    mutations = [*MUTATIONS, *TERM_MUTATIONS]
    here = Path(__file__).parent
    for rule, where in PRODUCED_ELSEWHERE.items():
        source = (here / where).read_text() if where.endswith(".py") else Path(__file__).read_text()
        assert (where.endswith(".py") or f"def {where}(" in source) and rule in source, (rule, where)
    assert CATALOGUE == {m.rule for m in mutations} | set(PRODUCED_ELSEWHERE)
    kinds = {part.name: part.kind for part in PARTS}
    for m in mutations:
        allowed = set(kinds[m.part].causes) | GENERIC | set(VERDICT_RULES) | set(ENVIRONMENT_RULES)
        assert m.rule in allowed, f"{m.name}: {kinds[m.part].name} names {m.rule}, not in its causes"
