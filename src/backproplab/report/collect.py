"""Reading finished run folders, and judging each homework deliverable against its bar."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..runs.folder import read_metrics


@dataclass
class Run:
    path: Path
    pipeline: str  # gradcheck | iris | iris-sweep | fashion | cifar
    config: dict
    summary: dict
    rows: list[dict] = field(default_factory=list)  # metrics.csv

    def file(self, name: str) -> Path | None:
        p = self.path / name
        return p if p.is_file() else None


@dataclass
class Deliverable:
    name: str  # what the homework asks for
    bar: str  # the bar it must pass
    ours: str  # our measured number
    passed: bool | None  # None: skipped (no run)
    section: str = ""  # the report section that shows it


def read_run(path: Path) -> Run | None:
    summary_path = path / "summary.json"
    if path.name.endswith(".partial") or not summary_path.is_file():
        return None
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    config = json.loads((path / "config.json").read_text(encoding="utf-8")) if (path / "config.json").is_file() else {}
    pipeline = summary.get("pipeline") or config.get("pipeline")
    if pipeline is None:
        return None
    rows = read_metrics(path / "metrics.csv") if (path / "metrics.csv").is_file() else []
    return Run(path, pipeline, config, summary, rows)


def collect(dirs: list[str | Path]) -> list[Run]:
    """The runs named, or the runs one level inside each folder named; refuses a folder with none."""
    runs: list[Run] = []
    for d in map(Path, dirs):
        if not d.is_dir():
            raise FileNotFoundError(f"{d} is not a folder (give run or sweep folders, or the folder holding them)")
        direct = read_run(d)
        found = [direct] if direct else [r for r in (read_run(p) for p in sorted(d.iterdir()) if p.is_dir()) if r]
        if not found:
            raise ValueError(f"{d} holds no finished run (no summary.json in it or in its subfolders)")
        runs += found
    return runs


def pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def deliverables(runs: list[Run]) -> list[Deliverable]:
    """One row per homework deliverable, measured from the runs (skipped when missing)."""
    by = {}
    for r in runs:
        key = r.pipeline if r.pipeline not in ("fashion",) else f"fashion-{r.summary['engine']}-{r.summary['model']}"
        by.setdefault(key, r)
    out = []

    g = by.get("gradcheck")
    out.append(Deliverable(
        "Gradients of every layer, activation and loss", "relative error < 1e-7 against finite differences (float64)",
        f"{g.summary['passed_count']}/{g.summary['count']} pass (worst {g.summary['worst_error']:.1e})" if g else "—",
        (g.summary["passed_count"] == g.summary["count"]) if g else None, "gradients"))

    s = by.get("iris-sweep")
    if s:
        best = s.summary["best"]
        out.append(Deliverable(
            "Iris: two-layer network, learning rate × hidden size", ">= 4 combinations, best chosen by validation",
            f"{len(s.summary['rows'])} combinations; chosen lr {best['lr']:g}, hidden {best['hidden']}: "
            f"test accuracy {pct(1 - best['test_error'])}", len(s.summary["rows"]) >= 4, "iris"))
    else:
        out.append(Deliverable("Iris: two-layer network, learning rate × hidden size",
                               ">= 4 combinations, best chosen by validation", "—", None, "iris"))

    t = by.get("fashion-torch-mlp")
    out.append(Deliverable(
        "Fashion-MNIST MLP (PyTorch): homework bar", "validation accuracy >= 82% after >= 8 epochs",
        f"{pct(t.summary['final_val_accuracy'])} validation after {t.summary['epochs']} epochs" if t else "—",
        (t.summary["final_val_accuracy"] >= 0.82 and t.summary["epochs"] >= 8) if t else None, "fashion"))
    on_cpu = t is not None and t.summary.get("device") == "cpu"
    out.append(Deliverable(
        "Fashion-MNIST MLP (PyTorch): our bar", "test accuracy >= 90%" + (" within 3 minutes on the CPU" if on_cpu else ""),
        f"{pct(t.summary['test_accuracy'])} test in {t.summary['wall_seconds']:.0f} s ({t.summary['device']})" if t else "—",
        (t.summary["test_accuracy"] >= 0.90 and (not on_cpu or t.summary["wall_seconds"] <= 180)) if t else None,
        "fashion"))

    n = by.get("fashion-numpy-mlp")
    gap = abs(n.summary["test_accuracy"] - t.summary["test_accuracy"]) if (n and t) else None
    out.append(Deliverable(
        "Fashion-MNIST MLP (NumPy library, same recipe)", "test accuracy within 0.5 points of the PyTorch MLP",
        f"{pct(n.summary['test_accuracy'])} ({100 * gap:.2f} points from PyTorch)" if gap is not None else
        (f"{pct(n.summary['test_accuracy'])} (no PyTorch run to compare)" if n else "—"),
        (gap <= 0.005) if gap is not None else None, "fashion"))

    c = by.get("fashion-numpy-cnn")
    out.append(Deliverable(
        "Fashion-MNIST CNN (NumPy library)", "test accuracy >= 90%",
        f"{pct(c.summary['test_accuracy'])} test in {c.summary['wall_seconds'] / 60:.1f} min" if c else "—",
        (c.summary["test_accuracy"] >= 0.90) if c else None, "fashion-cnn"))

    k = by.get("cifar")
    acc = k.summary.get("test_accuracy") if k else None
    out.append(Deliverable(
        "CIFAR-10 CNN, predictions.csv", "test accuracy >= 75% after >= 8 epochs",
        f"{pct(acc)} test after {k.summary['epochs']} epochs" if acc is not None else "—",
        (acc >= 0.75 and k.summary["epochs"] >= 8) if acc is not None else None, "cifar"))
    if k and k.summary.get("profile") == "cpu":
        out.append(Deliverable(
            "CIFAR-10 on the CPU", "training within 5 minutes", f"{k.summary['train_seconds'] / 60:.1f} min",
            k.summary["train_seconds"] <= 300, "cifar"))
    return out
