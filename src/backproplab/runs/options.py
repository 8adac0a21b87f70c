"""The options every pipeline's run shares (where it is written and how), declared once."""

from __future__ import annotations

from dataclasses import dataclass

from ..settings import setting


@dataclass
class Display:
    progress: bool = setting(True, "progress bars (piped: a line per epoch)")
    verbose: bool = setting(False, "a sweep shows every epoch of every member too (otherwise a line per member)")


@dataclass
class RunOptions(Display):
    out: str = setting("experiments", "folder that holds the run folders")
    name: str | None = setting(None, "run folder name", unset="derived from the settings")
    overwrite: bool = setting(False, "replace an existing run (or interrupted run) of the same name")
    new_version: bool = setting(False, "if the name is taken, write NAME-v2 (-v3, ...) and keep the old run")
    resume: bool = setting(False, "continue an interrupted run from its checkpoint")
    tensorboard: bool = setting(False, "also write TensorBoard event files into the run folder "
                                "(pip install backproplab[tensorboard])")
