"""A *part kind* — activation, fully connected, convolution, pooling, loss, model, … — is
one declaration (``PartKind``) in one module of ``kinds/``: the classes and methods it
grades, the inputs it draws, what runs beside the learner's code, how the grader judges
what came back, and the causes it can name. See ``check/README.md`` for how to add one.

A *part* is one method of one class (``Conv2D.backward``; ``Pool2D.max.forward`` for a
variant). Its inputs come from a generator seeded by ``--seed`` and the part's name, so a
part sees the same arrays whether it runs alone (``--parts``) or with the others.

This module is shipped into the sandbox (numpy and the standard library only).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from .protocol import case_label

#: labels every part may send, whatever its kind (written by the part's process itself)
COMMON_LABELS = ("import", "absent", "construct", "harness")


@dataclass(frozen=True)
class ClassSpec:
    """One class of the learner's package, as the homework names it."""

    name: str  # e.g. "ReLU"
    module: str  # the learner's module that holds it, e.g. "activations"
    aliases: tuple[str, ...] = ()  # its name in other terms' packages, e.g. ("Relu",)
    factory: str | None = None  # the module's builder, e.g. "initialize_activation"
    build: str | None = None  # what the builder is asked for, e.g. "relu"
    terms: tuple[str, ...] | None = None  # the terms whose homework has it (None: every term)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def as_task(self) -> dict:
        return {"name": self.name, "module": self.module, "aliases": list(self.aliases), "factory": self.factory,
                "build": self.build}


@dataclass(frozen=True)
class Part:
    name: str  # as printed, e.g. "Pool2D.max.backward"
    kind: "PartKind" = field(repr=False, compare=False)
    cls: ClassSpec
    method: str  # "forward", "backward" or "train"
    variant: str | None = None  # e.g. Pool2D's "max"


@dataclass
class Prepared:
    """What one part's process is given (``task``, ``inputs``: never an expected result) and
    what judging it needs (``expected``, ``cases``), which stays in the grader."""

    part: Part
    task: dict
    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    expected: dict = field(default_factory=dict)
    cases: list[dict] = field(default_factory=list)

    def add_case(self, settings: dict, inputs: dict[str, np.ndarray], **expected) -> int:
        """A case: its settings (sent), its input arrays (sent, labelled ``c{n}.name``) and
        what the grader keeps to judge it."""
        c = len(self.cases)
        self.cases.append({**settings, **expected})
        self.task.setdefault("cases", []).append(settings)
        for name, array in inputs.items():
            self.inputs[case_label(c, name)] = np.asarray(array, dtype=np.float64)
        return c


@dataclass(frozen=True)
class PartKind:
    """The whole of one kind of part. ``draw(part, seed, ours, term)`` prepares the inputs and
    what the grader expects (``ours``: ``reference``, backproplab's library, which the test
    suite proves against torch; ``term``: the package's, None in a notebook);
    ``run(task, inputs, calls, cls)`` calls the learner's class in its process;
    ``judge(prepared, result, ctx)`` gives the ``Finding``; ``labels(prepared)`` are the
    labels its process may send; ``causes`` are the catalogue ids it can name."""

    name: str
    order: int  # where its parts are listed (activations first, the model last)
    classes: tuple[ClassSpec, ...]
    methods: tuple[str, ...]
    draw: Callable
    run: Callable
    judge: Callable
    labels: Callable[[Prepared], Iterable[str]]
    causes: tuple[str, ...]
    variants: tuple[str, ...] = (None,)
    timeout_factor: float = 1.0  # training runs many steps: its time limit is this many part limits

    @property
    def parts(self) -> list[Part]:
        return [Part(".".join(x for x in (cls.name, variant, method) if x), self, cls, method, variant)
                for cls in self.classes for variant in self.variants for method in self.methods]


def part_rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def new_prepared(part: Part, seed: int) -> Prepared:
    task = {"part": part.name, "kind": part.kind.name, "method": part.method, "variant": part.variant,
            "class": part.cls.as_task(), "seed": seed}
    return Prepared(part, task)


def case_labels(prepared: Prepared, *names: str) -> set[str]:
    """``names`` for every case of the part."""
    return {case_label(c, n) for c in range(len(prepared.cases)) for n in names}


def away_from_zero(A: np.ndarray) -> np.ndarray:
    """Entries at least 0.1 from 0, where ReLU's kink would spoil finite differences."""
    return A + 0.1 * np.where(A >= 0, 1.0, -1.0)


#: how many entries of each array the finite differences sample
FD_SAMPLES = 12


def samples(rng: np.random.Generator, A: np.ndarray) -> np.ndarray:
    return np.sort(rng.choice(A.size, size=min(FD_SAMPLES, A.size), replace=False))
