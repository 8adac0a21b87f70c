"""Each homework deliverable's bar, declared once, as data.

The report's summary table prints ``bar.text()`` and judges a run with
``bar.judge(run, runs)``; both read the same fields, so the bar printed is the bar checked.
A bar judges the runs whose recorded settings match its ``where``; with no such run its
row says so ("skipped"). Pipelines declare their bars (``Pipeline.bars``).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from .. import settings
from ..runs.environment import hardware_label, machine_label
from ..runs.values import finite, number, pct


def matches(run, where: dict) -> bool:
    """Whether the run's recorded settings are ``where`` (a value ending in * is a prefix)."""
    for key, want in where.items():
        have = str(run.get(key, ""))
        if not (have.startswith(want[:-1]) if want.endswith("*") else have == want):
            return False
    return True


class Selects:
    """A bar judges the runs whose recorded settings match its ``where``."""

    where: dict

    def applies(self, run) -> bool:
        return matches(run, self.where)


@dataclass(frozen=True)
class Bar(Selects):
    """``label`` of the run's ``metric`` >= ``at_least`` [after >= ``min_epochs`` epochs]
    [within ``within`` seconds, the sum of the summary's ``time`` values]."""

    name: str  # the deliverable, e.g. "Fashion-MNIST MLP (PyTorch): our bar"
    where: dict  # the runs it judges, e.g. {"engine": "torch", "model": "mlp"}
    metric: str  # the summary value judged, e.g. "test_accuracy"
    label: str  # that value's name in the text, e.g. "test accuracy"
    at_least: float
    min_epochs: int | None = None
    time: tuple[str, ...] = ()  # summary values whose sum is the time judged
    time_label: str = ""  # what that time spans, e.g. "from the first step to predictions.csv"
    within: float | None = None  # seconds
    time_on_cpu_only: bool = False  # the time condition holds for a run on the CPU only

    def text(self) -> str:
        words = [f"{self.label} >= {self.at_least:.0%}"]
        if self.min_epochs:
            words.append(f"after >= {self.min_epochs} epochs")
        if self.within is not None:
            words.append(f"within {self.within:g} s" + (f" {self.time_label}" if self.time_label else "")
                         + (" on the CPU" if self.time_on_cpu_only else ""))
        return " ".join(words)

    def judge(self, run, runs) -> tuple[str, bool | None]:
        value = number(run, self.metric)
        if value is None:
            return f"— (the run recorded no {self.label})", None
        ours, passed = f"{pct(value)} {self.label}", value >= self.at_least
        if self.min_epochs:
            epochs = number(run, "epochs")
            if epochs is None:
                return f"{ours} (the run recorded no number of epochs)", None
            ours += f" after {epochs:.0f} epochs"
            passed = passed and epochs >= self.min_epochs
        if self.within is not None:
            times = [number(run, key) for key in self.time]
            if None in times:
                return f"{ours} (the run recorded no {' + '.join(self.time)})", None
            seconds = sum(times)
            timed = not self.time_on_cpu_only or str(run.get("device", "")).startswith("cpu")
            ours += f" in {seconds:.0f} s on {machine_label(run.config)}"
            passed = passed and (not timed or seconds <= self.within)
        return ours, passed


@dataclass(frozen=True)
class GradientsBar(Selects):
    """Every gradient of the check table within the checker's tolerance."""

    name: str
    tolerance: float
    where: dict = field(default_factory=dict)

    def text(self) -> str:
        return f"relative error < {self.tolerance:g} against finite differences (float64)"

    def judge(self, run, runs) -> tuple[str, bool | None]:
        passed, count, worst = number(run, "passed_count"), number(run, "count"), number(run, "worst_error")
        return f"{passed:.0f}/{count:.0f} pass (worst {worst:.1e})", passed == count and worst < self.tolerance


@dataclass(frozen=True)
class SweepBar(Selects):
    """A sweep of at least ``min_combinations`` settings, chosen without the test data."""

    name: str
    min_combinations: int
    where: dict = field(default_factory=dict)

    def text(self) -> str:
        return f">= {self.min_combinations} combinations, best chosen without the test data"

    def judge(self, run, runs) -> tuple[str, bool | None]:
        chosen, rows = run.summary["chosen"], run.summary["rows"]
        return (f"{len(rows)} combinations; chosen lr {float(chosen['lr']):g}, hidden {int(chosen['hidden'])}: "
                f"test accuracy {pct(1 - float(chosen['test_error']))}", len(rows) >= self.min_combinations)


@dataclass(frozen=True)
class ParityBar(Selects):
    """One engine's run against the other engine's run *with the same settings*: test
    accuracy within ``points`` percentage points, training time within ``time_factor``.

    The time judged is the median of the epoch-by-epoch ratios (metrics.csv: epoch i of
    one run against epoch i of the other, the same work — mixup or clean, the same
    schedule): the two runs trained minutes apart, and a busy stretch of a shared machine,
    which can last a minute and slows one engine more than the other, then moves a minority
    of the epochs, not the verdict. The totals are shown beside it (and judged where the
    runs recorded no common epochs)."""

    name: str
    where: dict  # the runs judged, e.g. {"engine": "numpy", "model": "mlp"}
    reference: dict  # their partner's settings that differ, e.g. {"engine": "torch"}
    same: tuple[str, ...]  # the settings that must be equal for a pair
    reference_label: str  # e.g. "the PyTorch MLP"
    points: float = 0.5
    time_factor: float = 1.05

    def text(self) -> str:
        return (f"test accuracy within {self.points:g} points of {self.reference_label} trained with the same "
                f"settings; training no slower (within {100 * (self.time_factor - 1):.0f}%, the median of the "
                "epoch-by-epoch time ratios)")

    def partner(self, run, runs):
        return next((r for r in runs if r is not run and matches(r, {**self.where, **self.reference})
                     and all(r.config.get(k) == run.config.get(k) for k in self.same)), None)

    def judge(self, run, runs) -> tuple[str, bool | None]:
        test, train = number(run, "test_accuracy"), number(run, "train_seconds")
        if test is None or train is None:
            return "— (the run recorded no test accuracy or no training time)", None
        other = self.partner(run, runs)
        if other is None:
            return f"{pct(test)} (no run of {self.reference_label} with the same settings to compare)", None
        ref, ref_train = number(other, "test_accuracy"), number(other, "train_seconds")
        if ref is None or ref_train is None:
            return f"{pct(test)} ({other.path.name}, the run to compare with, recorded no test accuracy or no " \
                   "training time)", None
        gap = abs(test - ref)
        mine, theirs = hardware_label(run.config), hardware_label(other.config)
        where = f"both on {mine}" if mine == theirs else f"on {mine} and {theirs}"
        ratio = epoch_ratio(run, other)
        if ratio is None:
            timed, per_epoch = train <= ref_train * self.time_factor, ""
        else:
            timed, per_epoch = ratio <= self.time_factor, f" (epoch by epoch, median {ratio:.2f}×)"
        return (f"{pct(test)} ({100 * gap:.2f} points from {pct(ref)}, {other.path.name}); training {train:.0f} s "
                f"vs {ref_train:.0f} s{per_epoch}, {where}", 100 * gap <= self.points and timed)


def epoch_seconds(run) -> dict[int, float]:
    """Epoch number → its training seconds, from the run's metrics.csv (what is not a number is left out)."""
    out = {}
    for row in run.rows if isinstance(run.rows, list) else []:
        epoch, seconds = (finite(row.get(k)) if isinstance(row, dict) else None for k in ("epoch", "seconds"))
        if epoch is not None and seconds is not None and seconds > 0:
            out[int(epoch)] = seconds
    return out


def epoch_ratio(run, other) -> float | None:
    """The median over the epochs both runs trained of run's epoch time / other's (None: none in common)."""
    mine, theirs = epoch_seconds(run), epoch_seconds(other)
    ratios = [mine[e] / theirs[e] for e in mine.keys() & theirs.keys()]
    return statistics.median(ratios) if ratios else None


def compared_settings(config_class, *differing: str) -> tuple[str, ...]:
    """The settings that make two runs comparable: every declared setting that changes the
    result (not the resumable ones: device, threads, data folder), less ``differing``."""
    return tuple(f.name for f in settings.result_settings(config_class) if f.name not in differing)
