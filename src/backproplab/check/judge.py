"""Judging a part: the learner's arrays against backproplab's, the verdict, the likely
cause from the catalogue (``causes``) and the detail a learner reads.

A result passes when max |yours − right| ≤ ``TOLERANCE`` × max |right| (the *max error*
printed is that ratio: 1e-5 means five digits at the array's scale; float64 code lands
near 1e-15, float32 near 1e-7, a real mistake near 1). A wrong result is then compared
with transformations of the right one (×m, transposed, …); the first that matches within
``RULE_TOLERANCE`` names the cause. Where none does, the learner's backward is compared
with central finite differences of the learner's *own* forward: agreeing, the forward is
to blame; disagreeing, the backward's formula.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .causes import environment_cause, result_cause, where

TOLERANCE = 1e-5
RULE_TOLERANCE = 1e-4
FD_TOLERANCE = 1e-4
#: verdicts from best to worst; a part with several cases takes its worst
VERDICTS = ("pass", "wrong", "not implemented", "error", "timeout")


@dataclass
class Finding:
    """The outcome of one part (or of one of its cases, before they are combined)."""

    part: str
    verdict: str = "pass"
    max_error: float | None = None
    cause: str = ""
    rule: str | None = None
    detail: list[str] = field(default_factory=list)
    seconds: float = 0.0
    absent: bool = False  # the class is not in this term's package: not counted against it
    incomparable: bool = False  # a result of the wrong shape: no max error can be given

    def worse(self, verdict: str, cause: str = "", rule: str | None = None, line: str = "") -> "Finding":
        """Record a problem; the first problem of the worst verdict gives the cause."""
        if VERDICTS.index(verdict) > VERDICTS.index(self.verdict):
            self.verdict, self.cause, self.rule = verdict, cause, rule
        if line or cause:
            self.detail.append(line or cause)
        return self


@dataclass
class Context:
    """What every judge needs besides the part's own arrays."""

    package_root: str  # the folder that holds ``neural_networks``, for file:line
    timeout: float
    findings: dict = field(default_factory=dict)  # the parts judged so far (training names those it relies on)


# -- comparing arrays ------------------------------------------------------------------------------


def relative_error(yours: np.ndarray, right: np.ndarray) -> float:
    if yours.shape != right.shape:
        return float("inf")
    if right.size == 0:
        return 0.0
    diff = float(np.max(np.abs(yours - right)))
    scale = float(np.max(np.abs(right)))
    if not np.isfinite(diff):
        return float("inf")
    return diff / scale if scale > 0 else diff


def matches(yours: np.ndarray | None, right: np.ndarray | None, tolerance: float = TOLERANCE) -> bool:
    return yours is not None and right is not None and relative_error(yours, right) <= tolerance


def first_difference(yours: np.ndarray, right: np.ndarray) -> str:
    scale = float(np.max(np.abs(right))) if right.size else 0.0
    bad = ~np.isfinite(yours) | (np.abs(yours - right) > TOLERANCE * max(scale, 1e-300))
    if not bad.any():
        return ""
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"first differing entry {list(index)}: yours {yours[index]:.6g}, right {right[index]:.6g}"


def same_up_to_singletons(yours: np.ndarray, right: np.ndarray) -> bool:
    """A (n,) bias gradient for a (1, n) bias: the same numbers, a shape NumPy broadcasts."""
    return (yours.shape != right.shape and yours.size == right.size
            and [d for d in yours.shape if d != 1] == [d for d in right.shape if d != 1])


def explain(yours: np.ndarray, right: np.ndarray, alternatives: list[tuple[str, np.ndarray | None]],
            gradient: bool, m: int) -> str | None:
    """The first catalogue rule whose transformation of the right result is what the learner got."""
    candidates = list(alternatives)
    if gradient:
        candidates += [("times-m", right * m), ("over-m", right / m), ("sign", -right)]
        if right.ndim == 2 and right.shape[0] != right.shape[1]:
            candidates.append(("transposed", right.T))
    if (right.shape == yours.shape and np.all(np.isfinite(yours)) and np.array_equal(yours, np.round(yours))
            and np.any(yours) and np.any(np.trunc(right))):
        candidates.append(("integer-result", np.trunc(right)))
    for rule, alternative in candidates:
        if alternative is None or alternative.shape != yours.shape:
            continue
        if matches(yours, alternative, RULE_TOLERANCE) and not matches(right, alternative, RULE_TOLERANCE):
            return rule
    return None


# -- what a call returned ------------------------------------------------------------------------


def call_problem(info: dict | None, what: str, ctx: Context) -> tuple[str, str, str | None] | None:
    """(verdict, cause, rule) when a call into the learner's code gave no usable array."""
    if info is None:
        return "error", f"{what} was not reached", None
    kind = info.get("kind")
    if kind == "ellipsis":
        return "not implemented", f"{what} returns ... (the starter's blank is not filled in)", "not-implemented"
    if kind == "none":
        said = "is not set after backward (None)" if "gradients[" in what else "returns None"
        return "not implemented", f"{what} {said}", "not-implemented"
    if kind == "error":
        return error_problem(info, what, ctx)
    if kind == "too large":
        return "wrong", f"{what} returns an array of shape {tuple(info['shape'])}, far larger than expected", \
            "wrong-shape"
    if kind == "other":
        return "wrong", f"{what} returns a {info.get('type')}, not a NumPy array of numbers", "wrong-shape"
    return None


def error_problem(info: dict, what: str, ctx: Context) -> tuple[str, str, str | None]:
    at = where(info, ctx.package_root)
    if info.get("type") == "NotImplementedError":
        return "not implemented", f"{what} raises NotImplementedError{' at ' + at if at else ''}", "not-implemented"
    if info.get("blank"):
        return "not implemented", (f"{what} is still the starter's blank: at {at} it returns a name it never "
                                   f"sets ({info.get('message')})"), "not-implemented"
    found = environment_cause(info, ctx.package_root)
    if found:
        return "error", found[1], found[0]
    callers = info.get("outer") or []
    called = f" (called from {where(callers[-1], ctx.package_root)}, {callers[-1]['function']})" if callers else ""
    return "error", f"{what} raises {info.get('type')}: {info.get('message')}{' at ' + at if at else ''}{called}", None


def array_of(outcome, label: str) -> np.ndarray | None:
    info = outcome.calls.get(label) or {}
    return outcome.arrays.get(label) if info.get("kind") == "array" else None


def check_call(finding: Finding, outcome, label: str, what: str, ctx: Context) -> np.ndarray | None:
    """The array a call returned, or None after recording why there is none."""
    problem = call_problem(outcome.calls.get(label), what, ctx)
    if problem:
        verdict, cause, rule = problem
        finding.worse(verdict, cause, rule)
        return None
    return outcome.arrays.get(label)


def judge_array(finding: Finding, what: str, yours: np.ndarray, right: np.ndarray,
                alternatives: list[tuple[str, np.ndarray | None]] = (), gradient: bool = False, m: int = 1,
                fields: dict | None = None, accept_singletons: bool = False) -> bool:
    """Compare one array; on a difference record the verdict, the cause and the detail."""
    if accept_singletons and same_up_to_singletons(yours, right) and matches(yours.reshape(right.shape), right):
        finding.detail.append(f"{what} has shape {yours.shape} for a parameter of shape {right.shape}: accepted "
                              "(NumPy broadcasts it), though a gradient usually has its parameter's shape")
        yours = yours.reshape(right.shape)
    error = relative_error(yours, right)
    if yours.shape != right.shape:
        finding.incomparable = True
    elif np.isfinite(error):
        finding.max_error = max(finding.max_error or 0.0, error)
    if error <= TOLERANCE:
        return True
    fields = {"what": what, "m": m, "shape": yours.shape, "expected_shape": right.shape, **(fields or {})}
    rule = explain(yours, right, list(alternatives), gradient, m)
    if rule is None and not np.all(np.isfinite(yours)):
        rule = "not-finite"
    if rule is None and yours.size == 0 and right.size > 0:
        rule = "empty"
    if rule is None and yours.shape != right.shape:
        rule = "wrong-shape"
    if yours.shape == right.shape and np.isfinite(error):
        line = f"{what} differs: max error {error:.3g}; {first_difference(yours, right)}"
    else:
        line = f"{what}: shape {yours.shape}, right shape {right.shape}"
    finding.worse("wrong", result_cause(rule, **fields) if rule else "", rule, line)
    if rule and finding.detail[-1] == line:
        finding.detail[-1] = f"{line} — {result_cause(rule, **fields)}"
    return False


def fd_check(finding: Finding, outcome, inputs: dict, prefix: str, names: list[tuple[str, str]],
             forward_ok: bool, forward_name: str) -> None:
    """After a wrong gradient that no rule explains: compare it with finite differences of
    the learner's own forward. ``names``: (gradient label, input name) pairs."""
    if finding.verdict != "wrong" or finding.rule not in (None, "wrong-values"):
        return
    disagreements, compared = [], 0
    for label, input_name in names:
        yours, fd = array_of(outcome, prefix + label), array_of(outcome, f"{prefix}fd_{input_name}")
        indices = inputs.get(f"{prefix}idx_{input_name}")
        if yours is None or fd is None or indices is None or yours.size <= int(indices.max()):
            continue
        compared += 1
        sampled = yours.reshape(-1)[indices]
        scale = max(float(np.max(np.abs(fd))), float(np.max(np.abs(sampled))), 1e-12)
        bad = np.flatnonzero(np.abs(sampled - fd) > FD_TOLERANCE * scale)
        if bad.size:
            k = bad[0]
            index = [int(i) for i in np.unravel_index(int(indices[k]), yours.shape)]
            disagreements.append((label, bad.size, index, sampled[k], fd[k]))
    if not compared:
        return
    if disagreements:
        label, count, index, y, f = disagreements[0]
        cause = result_cause("not-derivative", what=label, count=count, index=index, yours=f"{y:.6g}", fd=f"{f:.6g}")
        rule = "not-derivative"
    elif not forward_ok:
        cause, rule = result_cause("forward-wrong", forward=forward_name), "forward-wrong"
    else:
        return
    finding.cause, finding.rule = cause, rule
    finding.detail.append(cause)


def modified_inputs(finding: Finding, outcome, labels: list[str], what: str) -> None:
    """An input changed in place: wrong even when the values are right (it corrupts caches)."""
    names = sorted({n for label in labels for n in (outcome.calls.get(label) or {}).get("modified", [])})
    if names:
        cause = result_cause("input-modified", what=what, names=", ".join(names))
        if finding.verdict == "pass":
            finding.worse("wrong", cause, "input-modified")
        else:
            finding.detail.append(cause)


def combine(part: str, cases: list[tuple[str, Finding]]) -> Finding:
    """One finding from a part's cases: the worst verdict; the detail of each case that has
    one (cases with the same detail are listed together)."""
    total = Finding(part)
    for label, case in cases:
        if VERDICTS.index(case.verdict) > VERDICTS.index(total.verdict):
            total.verdict, total.cause, total.rule = case.verdict, case.cause, case.rule
        if case.max_error is not None:
            total.max_error = max(total.max_error or 0.0, case.max_error)
        total.incomparable |= case.incomparable
    groups: dict[tuple, list[str]] = {}
    for label, case in cases:
        if case.detail:
            groups.setdefault(tuple(case.detail), []).append(label)
    for detail, labels in groups.items():
        total.detail.append(f"{'case' if len(labels) == 1 else 'cases'} {'; '.join(labels)}:")
        total.detail += [f"  {line}" for line in detail]
    failing = [label for label, case in cases if case.verdict == total.verdict]
    if total.verdict != "pass" and total.cause and len(failing) < len(cases):
        total.cause = f"{total.cause} (case {failing[0]})"
    if total.verdict in ("not implemented", "error", "timeout") or total.incomparable:
        total.max_error = None
    return total
