"""The summary table: each homework deliverable, its bar, our number, pass or fail, judged
from the run folders by the bars the pipelines declare (``pipelines.bars``): every run a
bar applies to gets its row; a bar no run applies to gets a "skipped" row."""

from __future__ import annotations

from dataclasses import dataclass

from .collect import NOT_AS_WRITTEN, ReportRun


@dataclass
class Deliverable:
    name: str  # what the homework asks for
    bar: str  # the bar it must pass
    ours: str  # our measured number
    passed: bool | None  # None: skipped (no run), or not judged


def deliverables(runs: list[ReportRun], pipelines, problem) -> list[Deliverable]:
    """The rows, in the order of the pipelines (their declarations, ``pipelines``) and their
    bars. ``problem(run, error)`` records a run whose summary lacks a value its bar needs."""
    out = []
    for pipeline in pipelines:
        mine = [r for r in runs if r.pipeline in pipeline.run_kinds]
        for bar in pipeline.bars:
            judged = [r for r in mine if bar.applies(r)]
            if not judged:
                out.append(Deliverable(bar.name, bar.text(), "—", None))
            for r in judged:
                try:
                    ours, passed = bar.judge(r, runs)
                except NOT_AS_WRITTEN as err:
                    problem(r, err)
                    ours, passed = "— (its summary lacks a value; see the folders that could not be read)", None
                name = f"{bar.name} [{r.path.name}]" if len(judged) > 1 else bar.name
                out.append(Deliverable(name, bar.text(), ours, passed))
    return out
