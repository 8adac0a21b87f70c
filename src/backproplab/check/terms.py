"""The terms of the homework (UC Berkeley CS 189, homework 6, ``neural_networks``): which
classes each term's starter package has. A package's term is recognised by the classes it
has (``detect``) or given (``--term``); a class of its term that the package lacks is *not
implemented* and counts, a class its term does not have is *not in your term's homework*
and does not. A part kind says which terms have its classes (``ClassSpec.terms``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Term:
    name: str
    title: str
    marks: tuple[str, ...]  # the class names (as the package spells them) that identify the term
    builds: dict = field(default_factory=dict)  # the factories' names that differ in this term's package


#: most specific first: the first term whose marks the package has is its term
TERMS = (
    Term("sp20", "Spring 2020: the Elman recurrent layer and an L2 loss; no ArcTan, Pool2D or Flatten", ("Elman",)),
    Term("sp25", "Spring 2025: BatchNorm1D added", ("BatchNorm1D",)),
    Term("fa23", "Fall 2023: Identity for the linear activation, FullyConnected only", ("Identity",),
         {"linear": "identity"}),
    Term("sp21", "Spring 2021–2023: convolution, pooling and an L2 loss", ("L2",)),
    Term("sp24", "Spring 2024: convolution and pooling, no L2 loss", ()),
)
BY_NAME = {term.name: term for term in TERMS}


def detect(present: set[str]) -> Term:
    """The term of a package that defines the classes named in ``present``."""
    return next(term for term in TERMS if all(mark in present for mark in term.marks))


def named(activations: list[str], term: Term | None) -> list[str]:
    """The activations' names as the term's ``initialize_activation`` takes them."""
    return [term.builds.get(a, a) for a in activations] if term else list(activations)


def has(term: Term, spec) -> bool:
    """Whether the term's homework has the class."""
    return spec.terms is None or term.name in spec.terms
