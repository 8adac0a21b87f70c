"""The gradient-check table as a stage of ``backproplab all``: every analytic gradient of
the library against finite differences, written to a run folder (``table.txt`` and the
rows in ``summary.json``) for the report. ``backproplab gradcheck`` prints the same
table without a folder."""

from __future__ import annotations

from dataclasses import dataclass

from ..nn.gradcheck import TOLERANCE, format_table, gradient_check_table
from ..report import sections
from ..runs.folder import RunFolder
from ..runs.options import RunOptions
from ..progress import write
from ..settings import Range, setting
from .bars import GradientsBar
from .declaration import Pipeline, Stage


@dataclass
class GradcheckConfig:
    seed: int = setting(0, "seed of the random inputs", range=Range(0, 2**32 - 1))


class GradientCheckFailed(AssertionError):
    """A gradient of the library disagrees with finite differences (a bug in backproplab)."""


def run(c: GradcheckConfig, options: RunOptions) -> dict:
    rows = gradient_check_table(seed=c.seed)
    table = format_table(rows)
    write(table)
    summary = {"pipeline": "gradcheck", "count": len(rows), "passed_count": sum(r.passed for r in rows),
               "worst_error": max(r.error for r in rows),
               "rows": [{"component": r.component, "wrt": r.wrt, "shape": list(r.shape), "error": r.error,
                         "passed": r.passed} for r in rows]}
    with RunFolder(options.out, options.name or "gradcheck", overwrite=options.overwrite) as folder:
        folder.write_text("table.txt", table + "\n")
        folder.write_json("summary.json", summary)
    if not all(r.passed for r in rows):
        raise GradientCheckFailed("a gradient check failed (see the table)")
    return {**summary, "path": str(folder.final)}


def describe_result(s: dict) -> str:
    return f"{s['passed_count']}/{s['count']} gradients pass\nrun folder: {s['path']}"


PIPELINE = Pipeline(
    name="gradcheck", help="every analytic gradient against finite differences", config=GradcheckConfig, run=run,
    describe_result=describe_result, section=sections.gradcheck, command=False,
    stages=(Stage("gradient checks", "gradcheck"),),
    bars=(GradientsBar("Gradients of every layer, activation and loss", TOLERANCE),))
