"""The summary table: each homework deliverable, its bar, our number, pass or fail,
measured from the run folders (every matching run gets its row)."""

from __future__ import annotations

from dataclasses import dataclass

from .collect import Run, number, pct


@dataclass
class Deliverable:
    name: str  # what the homework asks for
    bar: str  # the bar it must pass
    ours: str  # our measured number
    passed: bool | None  # None: skipped (no run)


def kind(run: Run) -> str:
    """gradcheck, iris-sweep, iris, fashion-<engine>-<model> or cifar."""
    if run.pipeline == "fashion":
        return f"fashion-{run.get('engine')}-{run.get('model')}"
    return run.pipeline


def _named(name: str, run: Run, several: bool) -> str:
    return f"{name} [{run.path.name}]" if several else name


def gradcheck_rows(g: Run, by: dict) -> list[Deliverable]:
    passed, count, worst = number(g, "passed_count"), number(g, "count"), number(g, "worst_error")
    return [Deliverable("Gradients of every layer, activation and loss",
                        "relative error < 1e-7 against finite differences (float64)",
                        f"{passed:.0f}/{count:.0f} pass (worst {worst:.1e})", passed == count)]


def iris_rows(s: Run, by: dict) -> list[Deliverable]:
    chosen = s.summary["chosen"]
    rows = s.summary["rows"]
    return [Deliverable("Iris: two-layer network, learning rate × hidden size",
                        ">= 4 combinations, best chosen without the test data",
                        f"{len(rows)} combinations; chosen lr {float(chosen['lr']):g}, hidden "
                        f"{int(chosen['hidden'])}: test accuracy {pct(1 - float(chosen['test_error']))}",
                        len(rows) >= 4)]


def fashion_torch_rows(t: Run, by: dict) -> list[Deliverable]:
    val, epochs, test, wall = (number(t, k) for k in ("final_val_accuracy", "epochs", "test_accuracy",
                                                      "wall_seconds"))
    on_cpu = str(t.get("device", "")).startswith("cpu")
    return [Deliverable("Fashion-MNIST MLP (PyTorch): homework bar", "validation accuracy >= 82% after >= 8 epochs",
                        f"{pct(val)} validation after {epochs:.0f} epochs", val >= 0.82 and epochs >= 8),
            Deliverable("Fashion-MNIST MLP (PyTorch): our bar",
                        "test accuracy >= 91%" + (" within 90 s on the CPU" if on_cpu else ""),
                        f"{pct(test)} test in {wall:.0f} s ({t.get('device')})",
                        test >= 0.91 and (not on_cpu or wall <= 90))]


def fashion_numpy_rows(n: Run, by: dict) -> list[Deliverable]:
    test, train = number(n, "test_accuracy"), number(n, "train_seconds")
    torch_runs = by.get("fashion-torch-mlp", [])
    ref = number(torch_runs[0], "test_accuracy") if torch_runs else None
    name = "Fashion-MNIST MLP (NumPy library, same recipe)"
    bar = "test accuracy within 0.5 points of the PyTorch MLP; training no slower (within 5%)"
    if ref is None:
        return [Deliverable(name, bar, f"{pct(test)} (no PyTorch run to compare)", None)]
    gap, ref_train = abs(test - ref), number(torch_runs[0], "train_seconds")
    return [Deliverable(name, bar, f"{pct(test)} ({100 * gap:.2f} points from PyTorch); training {train:.0f} s vs "
                        f"{ref_train:.0f} s", gap <= 0.005 and train <= ref_train * 1.05)]


def cnn_rows(c: Run, by: dict) -> list[Deliverable]:
    test, wall = number(c, "test_accuracy"), number(c, "wall_seconds")
    return [Deliverable("Fashion-MNIST CNN (NumPy library)", "test accuracy >= 90%",
                        f"{pct(test)} test in {wall / 60:.1f} min", test >= 0.90)]


def cifar_rows(k: Run, by: dict) -> list[Deliverable]:
    acc, epochs, train = number(k, "test_accuracy"), number(k, "epochs"), number(k, "train_seconds")
    rows = [Deliverable("CIFAR-10 CNN, predictions.csv", "test accuracy >= 75% after >= 8 epochs",
                        f"{pct(acc)} test after {epochs:.0f} epochs" if acc is not None else "— (no test labels)",
                        (acc >= 0.75 and epochs >= 8) if acc is not None else None)]
    if k.get("profile") == "cpu" and str(k.get("device", "")).startswith("cpu") and acc is not None:
        total = train + number(k, "eval_seconds") + number(k, "predict_seconds")
        rows.append(Deliverable("CIFAR-10 on the CPU (cpu profile)", "test accuracy >= 82% within 150 s from the "
                                "first step to predictions.csv", f"{pct(acc)} in {total:.0f} s",
                                acc >= 0.82 and total <= 150))
    return rows


MISSING = {
    "gradcheck": [("Gradients of every layer, activation and loss", "relative error < 1e-7 against finite "
                   "differences (float64)")],
    "iris-sweep": [("Iris: two-layer network, learning rate × hidden size", ">= 4 combinations, best chosen "
                    "without the test data")],
    "fashion-torch-mlp": [("Fashion-MNIST MLP (PyTorch): homework bar", "validation accuracy >= 82% after >= 8 "
                           "epochs"), ("Fashion-MNIST MLP (PyTorch): our bar", "test accuracy >= 90%")],
    "fashion-numpy-mlp": [("Fashion-MNIST MLP (NumPy library, same recipe)", "test accuracy within 0.5 points of "
                           "the PyTorch MLP")],
    "fashion-numpy-cnn": [("Fashion-MNIST CNN (NumPy library)", "test accuracy >= 90%")],
    "cifar": [("CIFAR-10 CNN, predictions.csv", "test accuracy >= 75% after >= 8 epochs")],
}


#: the deliverables in the order of the homework, each with the function that judges a run
MAKERS = [("gradcheck", gradcheck_rows), ("iris-sweep", iris_rows), ("fashion-torch-mlp", fashion_torch_rows),
          ("fashion-numpy-mlp", fashion_numpy_rows), ("fashion-numpy-cnn", cnn_rows), ("cifar", cifar_rows)]


def deliverables(runs: list[Run], problem) -> list[Deliverable]:
    """One row (or two) per homework deliverable and matching run; skipped rows where no
    run exists. ``problem(run, error)`` records a run whose summary lacks a number."""
    by: dict[str, list[Run]] = {}
    for r in runs:
        by.setdefault(kind(r), []).append(r)
    out = []
    for key, make in MAKERS:
        found = by.get(key, [])
        if not found:
            out += [Deliverable(name, bar, "—", None) for name, bar in MISSING[key]]
        for r in found:
            try:
                rows = make(r, by)
            except (TypeError, KeyError, ValueError, AttributeError) as err:
                problem(r, err)
                continue
            for d in rows:
                d.name = _named(d.name, r, len(found) > 1)
            out += rows
    return out
