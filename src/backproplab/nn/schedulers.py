"""Learning-rate schedules: the learning rate as a function of training time t.

t is measured in epochs and may be fractional (t = epoch + batch / batches_per_epoch),
so a schedule can change the rate every step; ``staircase`` floors it to whole stages.

| name        | η(t)                                                                 |
|-------------|----------------------------------------------------------------------|
| constant    | η₀                                                                   |
| exponential | η₀ · decay^(t / stage_length), or decay^⌊t / stage_length⌋ (staircase) |
| cosine      | η_min + ½(η₀ − η_min)(1 + cos(π t / T)), after an optional linear warm-up |
| triangle    | linear from s·η₀ at t = 0 up to η₀ at t = p·T, then linear down to e·η₀ at t = T |
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number; got {value!r}")


@dataclass
class Constant:
    lr: float

    def __post_init__(self):
        _positive("lr", self.lr)

    def __call__(self, t: float) -> float:
        return self.lr


@dataclass
class Exponential:
    lr: float
    decay: float = 0.9  # factor per stage, in (0, 1]
    stage_length: float = 1.0  # epochs per stage
    staircase: bool = False  # floor t / stage_length: the rate changes once per stage

    def __post_init__(self):
        _positive("lr", self.lr)
        _positive("stage_length", self.stage_length)
        if not 0 < self.decay <= 1:
            raise ValueError(f"decay must be in (0, 1]; got {self.decay!r}")

    def __call__(self, t: float) -> float:
        stages = t / self.stage_length
        if self.staircase:
            stages = math.floor(stages)
        return self.lr * self.decay**stages


@dataclass
class Cosine:
    lr: float
    total_epochs: float  # T: the rate reaches lr_min at t = T
    lr_min: float = 0.0
    warmup: float = 0.0  # epochs of linear warm-up from 0 to lr (then the cosine over the rest)

    def __post_init__(self):
        _positive("lr", self.lr)
        _positive("total_epochs", self.total_epochs)
        if not 0 <= self.warmup < self.total_epochs:
            raise ValueError(f"warmup must be in [0, total_epochs); got {self.warmup!r}")

    def __call__(self, t: float) -> float:
        if t < self.warmup:
            return self.lr * t / self.warmup
        progress = min(1.0, (t - self.warmup) / (self.total_epochs - self.warmup))
        return self.lr_min + 0.5 * (self.lr - self.lr_min) * (1 + math.cos(math.pi * progress))


@dataclass
class Triangle:
    """A linear rise and a linear fall (the fast-CIFAR recipes' one-cycle schedule)."""

    lr: float
    total_epochs: float  # T: the fall ends at t = T
    peak: float = 0.25  # p: the fraction of T at which the rate is lr
    start: float = 0.2  # s: the rate at t = 0, as a fraction of lr
    end: float = 0.0  # e: the rate at t = T, as a fraction of lr

    def __post_init__(self):
        _positive("lr", self.lr)
        _positive("total_epochs", self.total_epochs)
        if not 0 < self.peak < 1:
            raise ValueError(f"peak must be in (0, 1); got {self.peak!r}")
        for name in ("start", "end"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1]; got {getattr(self, name)!r}")

    def __call__(self, t: float) -> float:
        x = min(max(t / self.total_epochs, 0.0), 1.0)
        if x < self.peak:
            return self.lr * (self.start + (1 - self.start) * x / self.peak)
        return self.lr * (1 + (self.end - 1) * (x - self.peak) / (1 - self.peak))


SCHEDULES = {"constant": Constant, "exponential": Exponential, "cosine": Cosine, "triangle": Triangle}


def initialize_scheduler(name: str, lr: float, **kwargs):
    """Return the named schedule, e.g. ``initialize_scheduler("exponential", 0.1, decay=0.5,
    stage_length=10, staircase=True)``."""
    if name not in SCHEDULES:
        raise KeyError(f"unknown learning-rate schedule {name!r}; expected one of {sorted(SCHEDULES)}")
    try:
        return SCHEDULES[name](lr, **kwargs)
    except TypeError as err:
        raise ValueError(f"bad arguments for the {name!r} schedule: {err}") from None
