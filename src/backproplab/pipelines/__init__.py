"""The pipelines, each declared once (``declaration.Pipeline``), in the order of the homework:
the gradient checks, Iris, Fashion-MNIST, CIFAR-10.

Everything else reads this list: the command line's subcommands, the stages of
``backproplab all``, ``backproplab download``; the command line and ``all`` hand it to the
report and the runs table, which never import a pipeline. A new pipeline is a module that
declares ``PIPELINE`` (see ``declaration``) and its entry below, or ``register`` for a
plug-in. No module here imports PyTorch at its top; a PyTorch pipeline imports it when
it runs.
"""

from __future__ import annotations

from . import cifar, fashion, gradcheck, iris
from .declaration import Pipeline, Stage

PIPELINES: list[Pipeline] = [
    gradcheck.PIPELINE,
    iris.PIPELINE,
    fashion.PIPELINE,
    cifar.PIPELINE,
]


def register(pipeline: Pipeline) -> None:
    """Add a pipeline after the others (a plug-in, or a test's fake pipeline)."""
    if any(p.name == pipeline.name for p in PIPELINES):
        raise ValueError(f"a pipeline named {pipeline.name!r} is registered already")
    PIPELINES.append(pipeline)


def unregister(name: str) -> None:
    PIPELINES[:] = [p for p in PIPELINES if p.name != name]


def by_name(name: str) -> Pipeline:
    return next(p for p in PIPELINES if p.name == name)


def stages() -> list[tuple[Pipeline, Stage]]:
    """Every stage of ``backproplab all``, in order."""
    return [(p, s) for p in PIPELINES for s in p.stages]


__all__ = ["PIPELINES", "Pipeline", "Stage", "register", "unregister", "by_name", "stages"]
