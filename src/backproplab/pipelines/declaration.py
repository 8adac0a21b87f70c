"""What a pipeline declares, once, and what reads the declaration.

A ``Pipeline`` names everything the rest of backproplab needs to know about it: its
command and help (``cli``), its settings class (flags, checks and config.json derive from
it: ``settings``), how to run it and say its result in one line, whether a run of these
settings needs PyTorch, the data sets it reads (``backproplab download``) and how the runs
table names its data, its stages in ``backproplab all`` (``pipelines.homework``), its
deliverables' bars (``pipelines.bars``, read by the report's summary table), the run kinds
its folders record, and the report section that describes its runs (a function of
``report.sections``, or of its own module, with the facts about the pipeline it needs
bound in). The report and the runs table receive the declarations from their caller
and never import a pipeline.

Adding a pipeline is a module that declares ``PIPELINE`` (tests/toy_pipeline.py is one)
and its entry in the list of ``pipelines/__init__.py``, or ``pipelines.register`` for a
plug-in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Stage:
    """One stage of ``backproplab all``: the pipeline run with these settings into ``folder``."""

    title: str  # as printed and reported, e.g. "Fashion-MNIST MLP (PyTorch)"
    folder: str  # the run folder inside ``all --out``
    settings: dict = field(default_factory=dict)  # settings that differ from the pipeline's defaults


def never(config) -> bool:
    return False


@dataclass(frozen=True)
class Pipeline:
    name: str  # its command, and the "pipeline" its runs record in summary.json
    help: str  # one line for --help
    config: type  # the settings dataclass (declared with settings.setting; imports no torch)
    run: Callable[[Any, Any], dict]  # run(config, RunOptions) -> summary (with "path"); checks the settings first
    describe_result: Callable[[dict], str]  # the summary in a line or two, for the terminal
    section: Callable  # section(doc, runs): its part of the report, from its run folders
    bars: tuple = ()  # its deliverables (pipelines.bars)
    stages: tuple[Stage, ...] = ()  # its stages in ``backproplab all``
    datasets: tuple[str, ...] = ()  # the data sets it reads (data.DATASETS keys)
    data: str = ""  # its data as the runs table names them, e.g. "fashion-mnist" (a run's own CSV wins)
    needs_torch: Callable[[Any], bool] = never  # whether a run of these settings needs PyTorch
    writes: tuple[str, ...] = ()  # the "pipeline" values its run folders record (default: name)
    command: bool = True  # False: a stage of ``all`` and a report section only (no subcommand)

    @property
    def run_kinds(self) -> tuple[str, ...]:
        return self.writes or (self.name,)
