"""The gradient-check table: every analytic gradient of the library against finite
differences. ``backproplab gradcheck`` prints the table and writes it to a run folder
like every other command (``table.txt``, the rows in ``summary.json``, config.json with
the machine), so that ``backproplab report`` shows it; it is also the first stage of
``backproplab all``. A gradient that disagrees fails the command (exit status 1) after
the folder is written."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .. import settings
from ..errors import CheckFailed
from ..nn.gradcheck import TOLERANCE, format_table, gradient_check_table
from ..report import sections
from ..runs.folder import RunFolder
from ..runs.naming import run_name
from ..runs.options import RunOptions
from ..runs.run import config_record
from ..progress import write
from ..settings import SEED, setting
from .bars import GradientsBar
from .declaration import Pipeline, Stage


@dataclass
class GradcheckConfig:
    seed: int = setting(0, "seed of the random inputs", range=SEED)


class GradientCheckFailed(CheckFailed):
    """A gradient of the library disagrees with finite differences (a bug in backproplab)."""


def run(c: GradcheckConfig, options: RunOptions | None = None) -> dict:
    """Check every gradient, print the table, write the run folder; GradientCheckFailed
    (after writing) when one disagrees."""
    options = options or RunOptions()
    settings.check(c)
    with RunFolder(options.out, options.name or run_name("gradcheck", c, [f"s{c.seed}"]), overwrite=options.overwrite,
                   new_version=options.new_version) as folder:  # a folder that may not be written: refused first
        folder.write_json("config.json", config_record("gradcheck", dataclasses.asdict(c), device="cpu (numpy)",
                                                       precision="float64"))
        rows = gradient_check_table(seed=c.seed)
        table = format_table(rows)
        write(table)
        summary = {"pipeline": "gradcheck", "count": len(rows), "passed_count": sum(r.passed for r in rows),
                   "worst_error": max(r.error for r in rows),
                   "rows": [{"component": r.component, "wrt": r.wrt, "shape": list(r.shape), "error": r.error,
                             "passed": r.passed} for r in rows]}
        folder.write_text("table.txt", table + "\n")
        folder.write_json("summary.json", summary)
    if not all(r.passed for r in rows):
        raise GradientCheckFailed(f"a gradient check failed (see the table; written to {folder.final})")
    return {**summary, "path": str(folder.final)}


def describe_result(s: dict) -> str:
    return f"{s['passed_count']}/{s['count']} gradients pass\nrun folder: {s['path']}"


PIPELINE = Pipeline(
    name="gradcheck", help="check every analytic gradient against finite differences (writes a run folder)",
    config=GradcheckConfig, run=run, describe_result=describe_result, section=sections.gradcheck,
    data="random inputs", stages=(Stage("gradient checks", "gradcheck"),),
    bars=(GradientsBar("Gradients of every layer, activation and loss", TOLERANCE),))
