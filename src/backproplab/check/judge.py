"""Judging a part: the learner's arrays against what the grader computed, the verdict, the
likely cause from the catalogue (``causes``) and the detail a learner reads.

A result passes when max |yours − right| ≤ ``TOLERANCE`` × max |right| (the *max error*
printed is that ratio: 1e-5 means five digits at the array's scale; float64 code lands
near 1e-15, float32 near 1e-7, a real mistake near 1). A wrong result is then compared
with transformations of the right one (×m, transposed, …, and each of those ×m or ÷m,
so that two mistakes in one array are both named); the first that matches within
``RULE_TOLERANCE`` names the cause. Where none does, the learner's backward is compared
with central finite differences of the learner's *own* forward: agreeing, the forward is
to blame; disagreeing, the backward's formula.

What the part's process sent is a ``Result``: the learner's claims, read through
``Result.need`` (an array, or the reason there is none recorded as the part's verdict) —
never a pass for something that is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .causes import CATALOGUE, environment_cause, result_cause, where

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
    causes: list[tuple[str | None, str]] = field(default_factory=list)  # (rule, sentence) of the verdict
    detail: list[str] = field(default_factory=list)
    seconds: float = 0.0
    absent: bool = False  # the class is not in this term's homework: not counted
    incomparable: bool = False  # a result of the wrong shape: no max error can be given

    @property
    def cause(self) -> str:
        """The headline: one sentence per distinct cause of the verdict (two mistakes are both
        named; one mistake seen in dX, dW and db is named once)."""
        texts, rules = [], set()
        for rule, text in self.causes:
            if text and text not in texts and (rule is None or rule not in rules):
                texts.append(text)
                rules.add(rule)
        return "; and ".join(texts)

    @property
    def rule(self) -> str | None:
        return next((rule for rule, _ in self.causes if rule), None)

    @property
    def rules(self) -> list[str]:
        return list(dict.fromkeys(rule for rule, _ in self.causes if rule))

    def worse(self, verdict: str, cause: str = "", rule: str | None = None, line: str = "") -> "Finding":
        """Record a problem. A worse verdict replaces the causes; the same verdict adds one."""
        if rule is not None and rule not in CATALOGUE:
            raise ValueError(f"cause {rule!r} is not in the catalogue")
        rank, mine = VERDICTS.index(verdict), VERDICTS.index(self.verdict)
        if rank > mine:
            self.verdict, self.causes = verdict, [(rule, cause)]
        elif rank == mine and verdict != "pass" and (rule, cause) not in self.causes:
            self.causes.append((rule, cause))
        if line or cause:
            self.detail.append(line or cause)
        return self

    def set_cause(self, rule: str | None, cause: str) -> None:
        """Replace the headline (a better explanation found after the comparison)."""
        self.causes = [(rule, cause)]


@dataclass
class Context:
    """What every judge needs besides the part's own arrays."""

    package_root: str  # the folder that holds ``neural_networks``, for file:line
    timeout: float
    ours: object = None  # what the grader judges against (``reference``: backproplab.nn and the data)
    findings: dict = field(default_factory=dict)  # the parts judged so far (training names those it relies on)


# -- what the part's process sent -----------------------------------------------------------------------


class Result:
    """The records (label → what a call returned or raised) and arrays a part's process sent."""

    def __init__(self, records: dict[str, dict] | None = None, arrays: dict[str, np.ndarray] | None = None) -> None:
        self.records = records or {}
        self.arrays = arrays or {}

    def call(self, label: str) -> dict | None:
        return self.records.get(label)

    def array(self, label: str) -> np.ndarray | None:
        """The array a call returned, or None (it returned something else, or was not reached)."""
        info = self.records.get(label) or {}
        return self.arrays.get(label) if info.get("kind") == "array" else None

    def need(self, finding: Finding, label: str, what: str, ctx: Context) -> np.ndarray | None:
        """The array a call returned, or None after recording on ``finding`` why there is none."""
        problem = call_problem(self.records.get(label), what, ctx)
        if problem:
            finding.worse(*problem)
            return None
        return self.arrays[label]

    def note(self, label: str, key: str, default=None, kind: type | tuple = object):
        """A note the part's process made on ``label`` (e.g. which inputs a call changed);
        ``default`` unless it is of the ``kind`` expected."""
        value = (self.records.get(label) or {}).get(key, default)
        return value if isinstance(value, kind) else default

    def names(self, label: str, key: str) -> list[str]:
        """A note that is a list of names (anything else in it is left out)."""
        return [str(v) for v in self.note(label, key, [], list) if isinstance(v, str)]


def call_problem(info: dict | None, what: str, ctx: Context) -> tuple[str, str, str | None] | None:
    """(verdict, cause, rule) when a call into the learner's code gave no usable array."""
    if info is None:
        return "error", f"{what} was not reached (the part's process sent no result for it)", None
    kind = info.get("kind")
    if kind == "array":
        return None
    if kind == "ellipsis":
        return "not implemented", f"{what} returns ... (the starter's blank is not filled in)", "not-implemented"
    if kind == "none":
        said = "is not set after backward (None)" if "gradients[" in what else "returns None"
        return "not implemented", f"{what} {said}", "not-implemented"
    if kind == "error":
        return error_problem(info, what, ctx)
    if kind == "too large":
        return "wrong", f"{what} returns an array of shape {tuple(info.get('shape', ()))}, far larger than expected", \
            "wrong-shape"
    if kind == "other":
        return "wrong", f"{what} returns a {info.get('type')}, not a NumPy array of numbers", "wrong-shape"
    return "error", f"{what}: the part's process sent no usable result for it", None


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
    called = f" (called from {where(callers[-1], ctx.package_root)}, {callers[-1].get('function')})" if callers else ""
    return "error", f"{what} raises {info.get('type')}: {info.get('message')}{' at ' + at if at else ''}{called}", None


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
            gradient: bool, m: int) -> list[str]:
    """The catalogue rules whose transformation of the right result is what the learner got:
    one rule, or two when a rule's result is also ×m or ÷m (two mistakes in one array)."""
    candidates = [([rule], alternative) for rule, alternative in alternatives]
    if gradient:
        scaled = [("times-m", m), ("over-m", 1 / m), ("sign", -1)]
        candidates += [([rule], right * factor) for rule, factor in scaled]
        if right.ndim == 2 and right.shape[0] != right.shape[1]:
            candidates.append((["transposed"], right.T))
        if m > 1:
            candidates += [([rule, scale], alternative * factor) for rule, alternative in alternatives
                           if alternative is not None for scale, factor in scaled[:2]]
    if (right.shape == yours.shape and np.all(np.isfinite(yours)) and np.array_equal(yours, np.round(yours))
            and np.any(yours) and np.any(np.trunc(right))):
        candidates.append((["integer-result"], np.trunc(right)))
    for rules, alternative in candidates:
        if alternative is None or alternative.shape != yours.shape:
            continue
        if matches(yours, alternative, RULE_TOLERANCE) and not matches(right, alternative, RULE_TOLERANCE):
            return rules
    return []


def judge_array(finding: Finding, what: str, yours: np.ndarray, right: np.ndarray,
                alternatives: list[tuple[str, np.ndarray | None]] = (), gradient: bool = False, m: int = 1,
                fields: dict | None = None, accept_singletons: bool = False) -> bool:
    """Compare one array; on a difference record the verdict, the cause(s) and the detail."""
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
    rules = explain(yours, right, list(alternatives), gradient, m)
    if not rules and not np.all(np.isfinite(yours)):
        rules = ["not-finite"]
    if not rules and yours.size == 0 and right.size > 0:
        rules = ["empty"]
    if not rules and yours.shape != right.shape:
        rules = ["wrong-shape"]
    if yours.shape == right.shape and np.isfinite(error):
        line = f"{what} differs: max error {error:.3g}; {first_difference(yours, right)}"
    else:
        line = f"{what}: shape {yours.shape}, right shape {right.shape}"
    sentences = [result_cause(rule, **fields) for rule in rules]
    if not rules:
        finding.worse("wrong", line, None)
    for rule, sentence in zip(rules, sentences):
        finding.worse("wrong", sentence, rule, f"{line} — {'; and '.join(sentences)}" if rule == rules[0] else "")
    return False


def fd_check(finding: Finding, result: Result, inputs: dict, labels: list[tuple[str, str, str]],
             forward_ok: bool, forward_name: str) -> None:
    """After a wrong gradient that no rule explains: compare it with finite differences of
    the learner's own forward. ``labels``: (gradient label, finite-difference label, the
    input's sample-indices label) triples."""
    if finding.verdict != "wrong" or finding.rules:
        return
    disagreements, compared = [], 0
    for label, fd_label, idx_label in labels:
        yours, fd = result.array(label), result.array(fd_label)
        indices = inputs.get(idx_label)
        if yours is None or fd is None or indices is None or fd.shape != indices.shape:
            continue
        indices = indices.astype(np.int64)
        if indices.size == 0 or yours.size <= int(indices.max()):
            continue
        compared += 1
        sampled = yours.reshape(-1)[indices]
        scale = max(float(np.max(np.abs(fd))), float(np.max(np.abs(sampled))), 1e-12)
        bad = np.flatnonzero(~(np.abs(sampled - fd) <= FD_TOLERANCE * scale))
        if bad.size:
            k = bad[0]
            index = [int(i) for i in np.unravel_index(int(indices[k]), yours.shape)]
            name = label.rsplit(".", 1)[-1]
            disagreements.append((name, bad.size, index, sampled[k], fd[k]))
    if not compared:
        return
    if disagreements:
        name, count, index, y, f = disagreements[0]
        cause = result_cause("not-derivative", what=name, count=count, index=index, yours=f"{y:.6g}", fd=f"{f:.6g}")
        rule = "not-derivative"
    elif not forward_ok:
        cause, rule = result_cause("forward-wrong", forward=forward_name), "forward-wrong"
    else:
        return
    finding.set_cause(rule, cause)
    finding.detail.append(cause)


def modified_inputs(finding: Finding, result: Result, labels: list[str], what: str) -> None:
    """An input changed in place: wrong even when the values are right (it corrupts caches)."""
    names = sorted({n for label in labels for n in result.names(label, "modified")})
    if names:
        cause = result_cause("input-modified", what=what, names=", ".join(names))
        if finding.verdict == "pass":
            finding.worse("wrong", cause, "input-modified")
        else:
            finding.detail.append(cause)


def judge_cases(prepared, judge_case) -> Finding:
    """The part's finding from its cases': ``judge_case(f, c, case)`` records on a finding of its
    own what is wrong in case ``c``; the cases are then combined."""
    cases = []
    for c, case in enumerate(prepared.cases):
        f = Finding(prepared.part.name)
        judge_case(f, c, case)
        cases.append((case["label"], f))
    return combine(prepared.part.name, cases)


def combine(part: str, cases: list[tuple[str, Finding]]) -> Finding:
    """One finding from a part's cases: the worst verdict; the detail of each case that has
    one (cases with the same detail are listed together)."""
    total = Finding(part)
    for label, case in cases:
        if VERDICTS.index(case.verdict) > VERDICTS.index(total.verdict):
            total.verdict, total.causes = case.verdict, list(case.causes)
        elif case.verdict == total.verdict:
            total.causes += [c for c in case.causes if c not in total.causes]
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
    if total.verdict != "pass" and total.causes and len(failing) < len(cases):
        rule, text = total.causes[0]
        total.causes[0] = (rule, f"{text} (case {failing[0]})")
    if total.verdict in ("not implemented", "error", "timeout") or total.incomparable:
        total.max_error = None
    return total
