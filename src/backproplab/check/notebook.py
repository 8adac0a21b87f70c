"""``check_part``: judge one class of the learner's from a notebook cell, with the same
inputs, verdicts and causes as ``backproplab check``.

What runs where: here the learner's object runs in the notebook's own process — it is
their code in their kernel, so there is no sandbox, no time limit and no memory limit
(an endless loop is stopped with the kernel's interrupt). ``backproplab check`` keeps the
sandbox; use it for a grade. The part's records go through the same bounded reading as
the sandbox's (``protocol``), so a value the command would refuse is refused here too.

    from backproplab.check import check_part
    check_part(ReLU, "ReLU")            # both parts of the class; shows a table in Jupyter
    check_part(layer, "FullyConnected.backward")
"""

from __future__ import annotations

import inspect
import os
import time
from dataclasses import dataclass

from . import protocol, reference
from .grader import Report, matching
from .harness import Calls, describe_exception
from .judge import Context, Finding, Result
from .kind import COMMON_LABELS
from .output import _error_text, table
from .text import html

IN_PROCESS = ("none: your code ran in this notebook's own process (your code, your kernel); `backproplab check` "
              "runs it in a sandbox")


@dataclass
class PartResults:
    """The findings of ``check_part``: a table in Jupyter, text elsewhere."""

    report: Report

    @property
    def findings(self) -> list[Finding]:
        return self.report.findings

    @property
    def passed(self) -> bool:
        return all(f.verdict == "pass" for f in self.findings)

    def __str__(self) -> str:
        return table(self.report)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{html(f.part)}</code></td><td>{html(f.verdict)}</td><td>{html(_error_text(f))}</td>"
            f"<td>{html(f.cause)}{_details(f)}</td></tr>" for f in self.findings)
        return (f"<table><thead><tr><th>part</th><th>verdict</th><th>max error</th><th>cause</th></tr></thead>"
                f"<tbody>{rows}</tbody></table><p><small>{html(IN_PROCESS)}</small></p>")


def _details(f: Finding) -> str:
    if not f.detail:
        return ""
    text = "\n".join(f.detail)
    return f"<details><summary>detail</summary><pre>{html(text, keep_newlines=True)}</pre></details>"


def check_part(obj, part: str, seed: int = 0) -> PartResults:
    """Judge ``obj`` (a class of the learner's, or an object of it) on the parts ``part``
    names: a part ('ReLU.backward'), a class ('ReLU': all its parts) or a pattern."""
    cls = obj if isinstance(obj, type) else type(obj)
    parts = matching([part])
    if not parts:
        raise ValueError(f"{part!r} names no part of the grader (e.g. 'ReLU.backward', 'Conv2D', 'Pool2D.max.*')")
    start = time.monotonic()
    findings = [_judge(p, cls, seed) for p in parts]
    report = Report(cls.__qualname__, seed, findings, time.monotonic() - start,
                    {"level": "in-process", "detail": IN_PROCESS}, "")
    return PartResults(report)


def _judge(part, cls, seed: int) -> Finding:
    where = _source_dir(cls)
    prepared = part.kind.draw(part, seed, reference, None)
    calls = Calls(where)
    start = time.monotonic()
    try:
        part.kind.run(prepared.task, {k: v.copy() for k, v in prepared.inputs.items()}, calls, cls)
    except Exception as err:  # the grader's code failed on what the learner's code did
        calls.meta["harness"] = describe_exception(err, calls.package_dir)
    header, arrays = protocol.read_message(protocol.Stream(data=calls.message()))
    allowed = set(COMMON_LABELS) | set(part.kind.labels(prepared))
    ctx = Context(os.path.dirname(where), 0.0, reference)
    try:
        result = Result(protocol.check_result(header, arrays, allowed), arrays)
    except protocol.ProtocolError as err:
        return Finding(part.name).worse("error", f"what your code returned cannot be read: {err}", "malformed-result")
    harness = result.call("harness")
    if harness:
        finding = Finding(part.name).worse("error", f"the grader could not go on with what your code returned: "
                                                    f"{harness.get('type')}: {harness.get('message')}")
    else:
        finding = part.kind.judge(prepared, result, ctx)
    finding.seconds = round(time.monotonic() - start, 2)
    return finding


def _source_dir(cls) -> str:
    """The folder of the file that defines ``cls`` (a notebook cell's file included), for file:line."""
    try:
        return os.path.dirname(os.path.realpath(inspect.getsourcefile(cls) or ""))
    except (TypeError, OSError):
        return ""
