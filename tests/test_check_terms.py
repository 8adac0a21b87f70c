"""`backproplab check` on the terms whose homework has a class of its own: Spring 2020
(Elman, L2), Spring 2025 (BatchNorm1D) and Fall 2023 (Identity). Each term's fixture passes
every part of its term and is recognised; each catalogue mistake of L2, BatchNorm1D and
Elman, planted alone, gives its verdict and names its cause; a forger gains nothing."""

import pytest

from backproplab.check.causes import RESULT_RULES
from backproplab.check.grader import check_package
from backproplab.check.kinds import BY_NAME, PART_NAMES
from check_term_mutations import FIXTURES, TERM_MUTATIONS, package_in

#: the kinds added with these terms, and the catalogue rules only they name
NEW_KINDS = ("L2 loss", "batch normalisation", "recurrent")
NEW_RULES = sorted(r for r in RESULT_RULES if r.startswith(("l2-", "bn-", "elman-")))

#: fixture → (its term, the classes of other terms' homework: their parts are absent)
TERMS = {
    "elman_term": ("sp20", {"ArcTan", "Pool2D", "Flatten", "BatchNorm1D"}),
    "batchnorm_term": ("sp25", {"Elman", "L2"}),
    "identity_term": ("fa23", {"ArcTan", "Conv2D", "Pool2D", "Flatten", "BatchNorm1D", "Elman", "L2"}),
}


@pytest.mark.parametrize("fixture", sorted(TERMS))
def test_each_terms_package_passes_every_part_of_its_term(fixture):
    term, others = TERMS[fixture]
    report = check_package(FIXTURES / fixture)
    assert report.term.startswith(term), report.term
    assert [f.part for f in report.findings] == PART_NAMES
    absent = {f.part.split(".")[0] for f in report.findings if f.absent}
    assert absent == others
    assert all(f.verdict == "not implemented" and f.rule == "absent" for f in report.findings if f.absent)
    failing = {f.part: (f.verdict, f.cause) for f in report.findings if not f.absent and f.verdict != "pass"}
    assert not failing
    assert report.exit_status == 0
    assert all(f.max_error is None or f.max_error < 1e-12 for f in report.findings if not f.absent)


@pytest.mark.parametrize("mutation", TERM_MUTATIONS, ids=[m.name for m in TERM_MUTATIONS])
def test_each_mistake_of_a_terms_class_gives_its_verdict_and_cause(tmp_path, mutation):
    root = package_in(tmp_path, mutation.fixture, *mutation.edits)
    (finding,) = check_package(root, parts=[mutation.part], timeout=20).findings
    assert (finding.verdict, finding.rule) == (mutation.verdict, mutation.rule), (finding.cause, finding.detail)
    assert finding.cause


def test_every_rule_of_the_new_kinds_is_produced_by_a_mutation():
    named = {rule for name in NEW_KINDS for rule in BY_NAME[name].causes}
    produced = {m.rule for m in TERM_MUTATIONS}
    assert set(NEW_RULES) <= named
    assert named <= produced, sorted(named - produced)


def test_l2_passes_in_either_convention_and_says_which(tmp_path):
    """The ½ convention (Spring 2021–23) in a Spring 2020 package: accepted, and named."""
    root = package_in(tmp_path, "elman_term", ("losses.py", "return np.sum((Y - Y_hat) ** 2) / m",
                                               "return np.sum((Y - Y_hat) ** 2) / (2 * m)", 1),
                      ("losses.py", "return 2.0 * (Y_hat - Y) / m", "return (Y_hat - Y) / m", 1))
    forward, backward = check_package(root, parts=["L2.*"]).findings
    assert forward.verdict == backward.verdict == "pass"
    assert any("J = (1/(2m)) Σ (y − ŷ)² (the Spring 2021–23 convention)" in line for line in forward.detail)
    assert any("your term (sp20)" in line for line in forward.detail)
    assert any("∂J/∂Ŷ = (Ŷ − Y)/m" in line for line in backward.detail)


def test_l2_backward_is_judged_by_the_term_when_the_forward_fits_neither(tmp_path):
    """A summed forward (wrong) beside a right Spring 2020 backward: the backward passes."""
    root = package_in(tmp_path, "elman_term", ("losses.py", "return np.sum((Y - Y_hat) ** 2) / m",
                                               "return np.sum((Y - Y_hat) ** 2)", 1))
    forward, backward = check_package(root, parts=["L2.*"]).findings
    assert (forward.verdict, forward.rule) == ("wrong", "times-m")
    assert backward.verdict == "pass"
    assert any("matches neither convention" in line for line in backward.detail)


def test_a_spring_2025_package_without_batchnorm_is_graded_as_spring_2024_and_says_so(tmp_path):
    """BatchNorm1D is the only class that tells Spring 2025 from Spring 2024: deleted, the package
    is recognised as Spring 2024 (the header says so, and that it was recognised by its classes),
    BatchNorm1D's parts are not counted and it exits 0. Given --term sp25, they are missing."""
    edits = [("layers.py", "class BatchNorm1D(Layer):", "class _Deleted(Layer):", 1)]
    report = check_package(package_in(tmp_path, "batchnorm_term", *edits))
    assert report.term.startswith("sp24 (recognised by its classes)")
    verdicts = {f.part: (f.verdict, f.rule, f.absent) for f in report.findings if f.part.startswith("BatchNorm1D")}
    assert verdicts == {p: ("not implemented", "absent", True) for p in ("BatchNorm1D.forward", "BatchNorm1D.backward")}
    assert report.exit_status == 0
    given = check_package(package_in(tmp_path / "given", "batchnorm_term", *edits), term="sp25",
                          parts=["BatchNorm1D.*"])
    assert [(f.verdict, f.rule, f.absent) for f in given.findings] == [("not implemented", "missing-class", False)] * 2
    assert given.exit_status == 1


FORGERIES = [
    ("an L2 of constants", "elman_term", "losses.py",
     [("return np.sum((Y - Y_hat) ** 2) / m", "return 1.0"), ("return 2.0 * (Y_hat - Y) / m", "return 0 * Y_hat")],
     "L2.*"),
    ("a BatchNorm1D that returns X unchanged", "batchnorm_term", "layers.py",
     [("return gamma * X_hat + beta", "return X"),
      ("return inv_std / B * (B * dX_hat", "return dY\n        return (B * dX_hat")], "BatchNorm1D.*"),
    ("an Elman of zeros", "elman_term", "layers.py",
     [("        return out\n", "        return np.zeros((X.shape[0], self.n_out))\n"),
      ("        return dLdX\n", "        return [np.zeros((dLdY.shape[0], self.n_in))] * len(Xs)\n")], "Elman.*"),
]


@pytest.mark.parametrize("name, fixture, file, edits, parts", FORGERIES, ids=[f[0] for f in FORGERIES])
def test_a_forger_gains_nothing(tmp_path, name, fixture, file, edits, parts):
    root = package_in(tmp_path, fixture, *((file, old, new, 1) for old, new in edits))
    findings = check_package(root, parts=[parts]).findings
    assert [f.verdict for f in findings] == ["wrong", "wrong"], [(f.part, f.cause) for f in findings]
