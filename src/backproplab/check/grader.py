"""``backproplab check PATH``: grade a learner's ``neural_networks`` package part by part.

1. Find the package (PATH holds ``neural_networks/``, or is the package folder itself) and
   read its source (``scan``) for uses of a reference implementation.
2. Start a sandbox (``sandbox``) at the strongest isolation this machine offers.
3. Import each of its modules once (``probe``): a module that does not load gives every
   part in it that verdict at once; the classes it has tell the package's term (``terms``),
   and a class the term's homework has but the package lacks is *not implemented*.
4. Run every other part in the sandbox, each in a process of its own, and judge what came
   back (``kinds``); ``NeuralNetwork.train`` runs last, so that a failure can name the parts
   it relies on.
"""

from __future__ import annotations

import fnmatch
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from . import isolation as isolation_levels
from . import reference, terms
from .causes import result_cause
from .judge import VERDICTS, Context, Finding, error_problem
from .kind import COMMON_LABELS, Part
from .kinds import KINDS, PART_NAMES, PARTS
from .sandbox import Limits, Outcome, Sandbox, SandboxError
from .scan import scan_package

MODULE_FILES = ("activations.py", "layers.py", "losses.py", "models.py")
PROBE_LABELS = {"import", "classes", "harness"}


@dataclass
class Report:
    path: str
    seed: int
    findings: list[Finding]
    seconds: float
    isolation: dict = field(default_factory=dict)  # the level, what it gives, what the sandbox could set
    term: str = ""
    notes: list[str] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)

    @property
    def exit_status(self) -> int:
        """0 when every part that counts passes (the classes of other terms' homework do not count)."""
        return 0 if all(f.verdict == "pass" for f in self.findings if not f.absent) else 1

    def summary(self) -> dict:
        counted = [f for f in self.findings if not f.absent]
        counts = {v: sum(f.verdict == v for f in counted) for v in VERDICTS}
        return {**counts, "parts": len(counted), "absent": len(self.findings) - len(counted),
                "seconds": round(self.seconds, 2), "exit_status": self.exit_status}


def locate_package(path: str | os.PathLike) -> tuple[Path, Path]:
    """(the package folder, the folder that holds it)."""
    where = Path(path)
    if not where.exists():
        raise UsageError(f"{path}: no such file or folder; give the folder that holds your neural_networks/ "
                         "package (or the package folder itself)")
    if (where / "neural_networks").is_dir():
        return (where / "neural_networks").resolve(), where.resolve()
    if where.is_dir() and any((where / name).is_file() for name in MODULE_FILES):
        return where.resolve(), where.resolve().parent
    raise UsageError(f"{path}: holds no neural_networks/ package and none of {', '.join(MODULE_FILES)}; give the "
                     "folder that holds your neural_networks/ package, or the package folder itself")


def matching(patterns: list[str]) -> list[Part]:
    """The parts matching any pattern: a part name or shell pattern ('Conv2D.*'), or a class
    name alone ('conv2d'); case is ignored."""
    names = [p.strip().lower() for pattern in patterns for p in pattern.split(",") if p.strip()]
    return [part for part in PARTS if any(fnmatch.fnmatchcase(part.name.lower(), n) or part.cls.name.lower() == n
                                          or fnmatch.fnmatchcase(part.name.lower(), n + ".*") for n in names)]


def select_parts(patterns: list[str] | None) -> list[Part]:
    if not patterns:
        return list(PARTS)
    chosen = matching(patterns)
    if not chosen:
        raise UsageError(f"--parts {','.join(patterns)} matches no part; the parts are: {', '.join(PART_NAMES)}")
    return chosen


def check_package(path, seed: int = 0, parts: list[str] | None = None, timeout: float = 10.0,
                  memory_mb: int = 2048, isolation: str = "auto", term: str | None = None,
                  rubric: dict[str, float] | None = None, slot: int = 0) -> Report:
    package_dir, root = locate_package(path)
    chosen = select_parts(parts)
    level = isolation_levels.choose(isolation)
    limits = Limits(timeout=timeout, memory_mb=memory_mb)
    start = time.monotonic()
    try:
        with Sandbox(package_dir, level, limits, slot) as box:
            ctx = Context(str(box.package_copy.parent), timeout, reference)  # file:line relative to the package
            grading = _Grading(box, seed, ctx, scan_package(box.package_copy))
            probes = {module: grading.probe(module) for module in dict.fromkeys(c.module for k in KINDS
                                                                                for c in k.classes)}
            found = {name: cls for p in probes.values() for name, cls in _classes(p).items() if cls}
            the_term = terms.BY_NAME[term] if term else terms.detect(set(found.values()))
            expected = _expected(the_term, rubric)
            findings = grading.grade(chosen, probes, found, the_term, expected)
            ready = box.ready
    except SandboxError as err:
        raise UsageError(f"{path}: {err}") from None
    notes = _unknown_classes(probes)
    info = {"level": level.level, "detail": level.detail, "seccomp": ready.get("seccomp") is None,
            "landlock": ready.get("landlock") is None, "limits": ready.get("limits", {})}
    if not info["seccomp"] or (level.level == "user" and not info["landlock"]):
        missing = [name for name in ("seccomp", "landlock") if not info[name]]
        info["detail"] += f" (without {' and '.join(missing)} on this system)"
    return Report(str(path), seed, findings, time.monotonic() - start, info,
                  f"{the_term.name} ({'given' if term else 'recognised by its classes'}): {the_term.title}", notes,
                  limits)


def _expected(term: terms.Term, rubric: dict[str, float] | None) -> set[str] | None:
    """The classes a package must have: the rubric's (parts worth points), else the term's (None)."""
    if rubric is None:
        return None
    return {part.cls.name for part in PARTS if rubric.get(part.name, 0) > 0}


def _classes(probe: Outcome) -> dict[str, str | None]:
    found = probe.result.note("classes", "found", {}, dict)
    return {k: v for k, v in found.items() if isinstance(v, str) or v is None}


def _unknown_classes(probes: dict[str, Outcome]) -> list[str]:
    notes = []
    for module, probe in probes.items():
        for name in probe.result.names("classes", "others"):
            notes.append(f"your package has {name} ({module}.py), which this grader does not check")
    return notes


class _Grading:
    """One package's parts, run in its sandbox and judged."""

    def __init__(self, box: Sandbox, seed: int, ctx: Context, scan) -> None:
        self.box, self.seed, self.ctx, self.scan = box, seed, ctx, scan

    def probe(self, module: str) -> Outcome:
        specs = [c.as_task() for k in KINDS for c in k.classes if c.module == module]
        task = {"part": f"probe {module}", "kind": "probe", "module": module, "classes": specs, "seed": self.seed}
        return self.box.run(task, {}, self.ctx.timeout, PROBE_LABELS)

    def grade(self, chosen: list[Part], probes, found, term, expected) -> list[Finding]:
        findings = {}
        for part in sorted(chosen, key=lambda p: p.kind.timeout_factor > 1):  # training last
            early = self._before_running(part, probes[part.cls.module], found, term, expected)
            findings[part.name] = early or self.run(part, term)
            self.ctx.findings[part.name] = findings[part.name]
        return [findings[p.name] for p in chosen]

    def _before_running(self, part: Part, probe: Outcome, found, term, expected) -> Finding | None:
        """The part's finding when its class is not in the package or its module did not load; else None."""
        module = f"{part.cls.module}.py"
        f = Finding(part.name)
        wanted = (part.cls.name in expected) if expected is not None else terms.has(term, part.cls)
        if not found.get(part.cls.name) and not wanted:
            f.absent = True
            return f.worse("not implemented", f"{module} has no class {part.cls.name}: not in your term's homework "
                                              f"({term.name}); not counted", "absent")
        if probe.status == "timeout":
            return f.worse("timeout", f"importing {module} did not finish within {self.ctx.timeout:g} s (code at the "
                                      "top level of a file that runs forever or far too long?)", "timeout")
        problem = _process_problem(probe, f"importing {module}")
        if problem:
            return f.worse(*problem)
        info = probe.result.call("import")
        if info and info.get("kind") == "error":
            verdict, cause, rule = error_problem(info, f"importing {module}", self.ctx)
            f.worse("error" if verdict != "not implemented" else verdict, cause, rule)
            _attach_output(f, probe, self.ctx.package_root)
            return f
        if found.get(part.cls.name):
            return None
        return f.worse("not implemented", f"{module} has no class {part.cls.name}, which the homework of your term "
                                          f"({term.name}) has", "missing-class")

    def run(self, part: Part, term) -> Finding:
        prepared = part.kind.draw(part, self.seed, reference, term)
        allowed = set(COMMON_LABELS) | set(part.kind.labels(prepared))
        limit = self.ctx.timeout * part.kind.timeout_factor
        outcome = self.box.run(prepared.task, prepared.inputs, limit, allowed)
        f = self._judged(part, prepared, outcome, limit)
        f.seconds = round(outcome.seconds, 2)
        _flagged(f, outcome.flags, self.scan.flagged(part.cls.module))
        _attach_output(f, outcome, self.ctx.package_root)
        return f

    def _judged(self, part: Part, prepared, outcome: Outcome, limit: float) -> Finding:
        f = Finding(part.name)
        if outcome.status == "timeout":
            return f.worse("timeout", f"did not finish within {limit:g} s: an endless loop, or far too slow for these "
                                      "small inputs (--timeout gives it longer)", "timeout")
        problem = _process_problem(outcome, part.name)
        if problem:
            return f.worse(*problem)
        info = outcome.result.call("import")
        if info and info.get("kind") == "error":
            return f.worse(*error_problem(info, f"importing {part.cls.module}.py", self.ctx))
        harness = outcome.result.call("harness")
        if harness:
            return f.worse("error", f"the grader could not go on with what your code returned: {harness.get('type')}: "
                                    f"{harness.get('message')}", None)
        if outcome.result.note("absent", "absent", False, bool):
            return f.worse("error", f"the class {part.cls.name} was found when the package was first imported, but "
                                    "not when this part ran", None)
        return part.kind.judge(prepared, outcome.result, self.ctx)


def _process_problem(outcome: Outcome, what: str) -> tuple[str, str, str] | None:
    """(verdict, cause, rule) when the part's process sent nothing the grader can read."""
    if outcome.malformed:
        return "error", f"{what}: what the part's process sent is not what the grader reads ({outcome.malformed}); " \
                        "does your code write to the grader's pipes?", "malformed-result"
    if outcome.status == "crashed":
        how = (f"was killed by signal {outcome.signal}" if outcome.signal else
               f"ended with exit status {outcome.exit}" if outcome.exit is not None else "ended")
        return "error", f"{what}: the process {how} inside your code before it returned (os._exit? a crash in a C " \
                        "library? the memory limit? a signal to the sandbox?)", "exit"
    return None


def _flagged(f: Finding, flags: list[dict], uses: list[str]) -> None:
    """A part whose code used a reference implementation, or reached for the grader, is an
    error whatever its arrays say."""
    found = {rule: list(dict.fromkeys((uses if rule == "reference-implementation" else [])
                                      + [flag["what"] for flag in flags if flag["flag"] == rule]))
             for rule in ("reference-implementation", "tampering")}
    if not any(found.values()):
        return
    f.causes, f.verdict, f.max_error = [], "pass", None
    for rule, what in found.items():
        if what:
            f.worse("error", result_cause(rule, what="; ".join(what)), rule)


def _attach_output(f: Finding, outcome: Outcome, package_root: str) -> None:
    if f.verdict != "pass" and outcome.output.strip():
        shown = outcome.output[:2000].replace(package_root + os.sep, "")  # paths as the learner knows them
        cut = f" (the first 2,000 of {outcome.output_bytes:,} bytes)" if outcome.output_bytes > len(shown) else ""
        f.detail.append(f"your code printed{cut}:\n" + "\n".join("    " + line for line in shown.splitlines()))
