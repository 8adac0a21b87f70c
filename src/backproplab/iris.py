"""The Iris pipeline: a two-layer NumPy network, one run or a hyperparameter sweep.

One run reads top to bottom: check the config → load and split the data → open the
run folder → build the model → train, keeping the epoch with the best validation
error → test that model → write metrics, plots, parameters and the summary.

A sweep trains one run per (learning rate, hidden size) pair inside one sweep folder,
picks the best run by validation error (ties: lower validation loss) and writes
``sweep.csv``, ``sweep.md`` and the chosen run's loss plot. Test error is reported,
never used to choose.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data.dataset import Dataset
from .data.tabular import iris_path, read_csv, split_tabular
from .nn.models import NeuralNetwork
from .nn.optimizers import initialize_optimizer
from .nn.schedulers import SCHEDULES
from .runs import RunFolder
from .runs.environment import versions
from .runs.log import ERROR_COLUMNS, EpochLog


@dataclass
class IrisConfig:
    hidden: int = 4  # units in the hidden layer (chosen by 5-fold CV on the non-test rows)
    lr: float = 0.05  # initial learning rate η₀ (chosen with hidden by the same CV)
    epochs: int = 100  # passes over the 105 training rows
    batch_size: int = 25  # rows per mini-batch
    momentum: float = 0.9  # SGD momentum μ
    seed: int = 0  # model seed: weight init and the per-epoch shuffle
    schedule: str = "constant"  # learning-rate schedule: constant | exponential | cosine
    decay: float = 0.5  # exponential: factor per stage
    stage_length: int = 25  # exponential: epochs per stage (staircase)
    activation: str = "relu"  # hidden-layer non-linearity
    weight_init: str = "xavier_uniform"  # initialiser of both layers
    data: str | None = None  # a CSV of your own; None = the Iris data shipped with the package
    label_column: str | None = None  # the CSV's label column (default: the last)
    split_seed: int = 2  # seed of the stratified 70/10/20 split (docs/iris.md: why 2, and every split 0..9)


def check_config(c: IrisConfig) -> None:
    """Raise ValueError naming the first bad hyperparameter."""
    if not (isinstance(c.lr, (int, float)) and c.lr > 0):
        raise ValueError(f"--lr must be positive; got {c.lr}")
    for name in ("epochs", "batch_size", "hidden"):
        value = getattr(c, name)
        if not (isinstance(value, int) and value >= 1):
            flag = "--" + name.replace("_", "-")
            raise ValueError(f"{flag} must be an integer >= 1; got {value}")
    if not 0 <= c.momentum < 1:
        raise ValueError(f"--momentum must be in [0, 1); got {c.momentum}")
    if c.schedule not in SCHEDULES:
        raise ValueError(f"unknown --schedule {c.schedule!r}; choose one of {', '.join(sorted(SCHEDULES))}")


def run_name(c: IrisConfig) -> str:
    data = "iris" if c.data is None else Path(c.data).stem
    return f"{data}-h{c.hidden}-lr{c.lr:g}-m{c.momentum:g}-bs{c.batch_size}-e{c.epochs}-{c.schedule}-s{c.seed}"


def load_data(c: IrisConfig) -> Dataset:
    """The CSV (Iris by default), split 70/10/20 and standardised on the training rows."""
    X, y, class_names, _ = read_csv(c.data or iris_path(), c.label_column)
    splits = split_tabular(X, y, seed=c.split_seed)
    return Dataset(splits, n_classes=len(class_names), batch_size=c.batch_size, class_names=class_names)


def build_model(c: IrisConfig) -> NeuralNetwork:
    """Two layers: hidden (activation) → output (softmax, one unit per class)."""
    layers = [
        {"name": "fully_connected", "n_out": c.hidden, "activation": c.activation, "weight_init": c.weight_init},
        {"name": "fully_connected", "activation": "softmax", "weight_init": c.weight_init},
    ]
    schedule_args = {
        "constant": {},
        "exponential": {"decay": c.decay, "stage_length": c.stage_length, "staircase": True},
        "cosine": {"total_epochs": c.epochs},
    }[c.schedule]
    optimizer = initialize_optimizer("sgd", lr=c.lr, momentum=c.momentum, lr_scheduler=c.schedule, **schedule_args)
    return NeuralNetwork(layers, loss="cross_entropy", optimizer=optimizer, seed=c.seed)


def train_run(c: IrisConfig, out: str | Path = "experiments", name: str | None = None,
              overwrite: bool = False, show_progress: bool = True) -> dict:
    """Train one model and write its run folder; returns the summary."""
    check_config(c)
    data = load_data(c)
    start = time.perf_counter()
    with RunFolder(Path(out) / (name or run_name(c)), overwrite=overwrite) as run:
        run.write_json("config.json", {"pipeline": "iris", **dataclasses.asdict(c), "versions": versions(),
                                       "splits": {s: data.size(s) for s in ("train", "validate", "test")}})
        model = build_model(c)
        log = EpochLog(run, ERROR_COLUMNS, c.epochs, desc=name or run_name(c), show_progress=show_progress)
        best, best_params = None, None
        for epoch in range(c.epochs):
            record = model.train_epoch(data, epoch)
            log.add(record)
            if best is None or (record["val_error"], record["val_loss"]) < (best["val_error"], best["val_loss"]):
                best, best_params = record, model.get_parameters()
        log.close()
        model.set_parameters(best_params)  # test the epoch that validation chose
        summary = {
            "pipeline": "iris",
            **model.test(data),
            "best_epoch": best["epoch"],
            "best_val_error": best["val_error"],
            "best_val_loss": best["val_loss"],
            "epochs": c.epochs,
            "wall_seconds": time.perf_counter() - start,
        }
        model.save(run.file("params.npz"), extra=data.standardizer.to_arrays())
        log.plot(name or run_name(c), second="error")
        run.write_json("summary.json", summary)
    return {**summary, "path": str(run.final)}


# -- the sweep ----------------------------------------------------------------------------

#: the grid `backproplab iris` runs with no --lr/--hidden: two decades of learning rate
#: around the default, and hidden sizes from 4 to 64
DEFAULT_GRID = {"lr": [0.005, 0.05, 0.5], "hidden": [4, 16, 64]}

SWEEP_COLUMNS = ["lr", "hidden", "best_val_error", "best_val_loss", "best_epoch", "test_error", "epochs", "seconds", "run"]


def run_sweep(lrs: list[float], hiddens: list[int], base: IrisConfig, out: str | Path = "experiments",
              name: str | None = None, overwrite: bool = False, show_progress: bool = True) -> dict:
    """Train every (lr, hidden) pair; choose by validation error; write the sweep folder."""
    grid = [dataclasses.replace(base, lr=lr, hidden=h) for lr, h in itertools.product(lrs, hiddens)]
    for c in grid:
        check_config(c)
    load_data(base)  # fail on bad data before any folder exists
    sweep_name = name or f"iris-sweep-lr{','.join(f'{v:g}' for v in lrs)}-h{','.join(map(str, hiddens))}-s{base.seed}"
    with RunFolder(Path(out) / sweep_name, overwrite=overwrite) as sweep:
        rows = []
        for c in grid:
            run = f"lr{c.lr:g}-h{c.hidden}"
            s = train_run(c, out=sweep.path, name=run, show_progress=show_progress)
            rows.append({"lr": c.lr, "hidden": c.hidden, "best_val_error": s["best_val_error"],
                         "best_val_loss": s["best_val_loss"], "best_epoch": s["best_epoch"],
                         "test_error": s["test_error"], "epochs": c.epochs,
                         "seconds": s["wall_seconds"], "run": run})
        best = min(rows, key=lambda r: (r["best_val_error"], r["best_val_loss"]))
        sweep.write_csv("sweep.csv", rows, SWEEP_COLUMNS)
        (sweep.path / "best_loss.png").write_bytes((sweep.path / best["run"] / "loss.png").read_bytes())
        sweep.write_text("sweep.md", sweep_markdown(rows, best, base))
        summary = {"best": best, "rows": rows, "config": dataclasses.asdict(base), "lrs": lrs, "hiddens": hiddens}
        sweep.write_json("summary.json", {"pipeline": "iris-sweep", **summary})
    return {**summary, "path": str(sweep.final)}


def sweep_markdown(rows: list[dict], best: dict, base: IrisConfig) -> str:
    lines = [
        "# Iris sweep: learning rate × hidden size",
        "",
        f"Two-layer network (hidden {base.activation}, softmax output), SGD with momentum {base.momentum:g}, "
        f"batch {base.batch_size}, {base.epochs} epochs, {base.schedule} schedule, seed {base.seed}. "
        "Each run keeps the epoch with the lowest validation error; the best run is chosen by "
        "validation error (ties: lower validation loss). Test error is reported, never used to choose.",
        "",
        "| lr | hidden | best val error | best epoch | test error | seconds |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        mark = " **(chosen)**" if r is best else ""
        lines.append(f"| {r['lr']:g} | {r['hidden']} | {r['best_val_error']:.1%} | {r['best_epoch']} | "
                     f"{r['test_error']:.1%}{mark} | {r['seconds']:.2f} |")
    lines += ["", f"**Chosen:** lr = {best['lr']:g}, hidden = {best['hidden']} — validation error "
              f"{best['best_val_error']:.1%}, test error {best['test_error']:.1%} "
              f"(test accuracy {1 - best['test_error']:.1%}).", "", describe_trends(rows), "",
              "![Training and validation loss of the chosen run](best_loss.png)", ""]
    return "\n".join(lines)


def describe_trends(rows: list[dict]) -> str:
    """One generated sentence per hyperparameter: how mean test error moved with it."""
    sentences = []
    for key, label, other in (("lr", "learning rate", "hidden sizes"), ("hidden", "hidden size", "learning rates")):
        values = sorted({r[key] for r in rows})
        if len(values) < 2:
            continue
        means = [float(np.mean([r["test_error"] for r in rows if r[key] == v])) for v in values]
        points = ", ".join(f"{v:g}: {m:.1%}" for v, m in zip(values, means))
        diffs = np.diff(means)
        if np.all(diffs == 0):
            trend = "left the mean test error unchanged"
        elif np.all(diffs <= 0):
            trend = f"lowered the mean test error from {means[0]:.1%} to {means[-1]:.1%}"
        elif np.all(diffs >= 0):
            trend = f"raised the mean test error from {means[0]:.1%} to {means[-1]:.1%}"
        else:
            k = int(np.argmin(means))
            trend = f"moved the mean test error non-monotonically, lowest at {values[k]:g} ({means[k]:.1%})"
        sentences.append(f"Raising the {label} from {values[0]:g} to {values[-1]:g} {trend} "
                         f"(averaged over {other}; {points}).")
    return " ".join(sentences)
