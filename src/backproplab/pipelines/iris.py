"""The Iris pipeline: a two-layer NumPy network, one run or a hyperparameter sweep.

One run reads top to bottom: settings → data (a stratified 70/10/20 split,
standardised on the training rows) → model → fit, keeping the epoch with the best
validation error → test that model → write metrics, plots, parameters and summary.

A sweep (several learning rates or hidden sizes) chooses the combination by repeated
stratified k-fold cross-validation on the non-test rows (120 of Iris's 150) — not by the validation
flowers, which cannot tell good settings apart — then writes one run per combination
(so every combination has its curves), the chosen one's test accuracy on the fixed
split, and its mean and spread over ten other splits. Test data never choose anything.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import settings
from ..data.dataset import Standardizer
from ..data.splits import stratified_folds
from ..data.tabular import iris_path, read_csv, split_tabular
from ..engines.numpy_engine import NumpyTrainer
from ..nn.models import NeuralNetwork
from ..nn.optimizers import initialize_optimizer
from ..report import sections
from ..progress import write
from ..runs.files import csv_text
from ..runs.fit import fit_epochs
from ..runs.folder import RunFolder
from ..runs.naming import readable, run_name
from ..runs.options import RunOptions
from ..runs.outputs import write_outputs
from ..runs.run import config_record, start_run
from ..settings import SEED, Range, setting
from .bars import SweepBar
from .declaration import Pipeline, Stage

#: the kind a sweep's folder records (its members record "iris")
SWEEP = "iris-sweep"


@dataclass
class IrisConfig:
    hidden: list[int] = setting([4, 16, 64], "hidden units; several values make a sweep", range=Range(1, 4096),
                                quick=[4, 16])
    lr: list[float] = setting([0.005, 0.05, 0.5], "initial learning rate η₀; several values make a sweep",
                              range=Range(0, 10, low_open=True), quick=[0.05, 0.5])
    epochs: int = setting(100, "passes over the training rows", range=Range(1, 100000), quick=30)
    batch_size: int = setting(25, "rows per mini-batch", range=Range(1, 100000))
    momentum: float = setting(0.9, "SGD momentum μ", range=Range(0, 1, high_open=True))
    seed: int = setting(0, "model seed: weight initialisation and the per-epoch shuffle", range=SEED)
    schedule: str = setting("constant", "learning-rate schedule", choices=("constant", "exponential", "cosine"))
    decay: float = setting(0.5, "exponential schedule: factor per stage", range=Range(0, 1, low_open=True))
    stage_length: int = setting(25, "exponential schedule: epochs per stage", range=Range(1, 100000))
    activation: str = setting("relu", "hidden-layer non-linearity", choices=("relu", "tanh", "sigmoid", "linear"))
    weight_init: str = setting("xavier_uniform", "initialiser of both layers",
                               choices=("xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "uniform",
                                        "normal"))
    csv: str | None = setting(None, "train on your own CSV (header row, numeric features, a label column) "
                              "instead of Iris", unset="Iris, shipped with the package")
    label_column: str | None = setting(None, "the CSV's label column", unset="the last column")
    split_seed: int = setting(2, "seed of the stratified 70/10/20 split (docs/iris.md)", range=SEED)
    folds: int = setting(5, "sweep: folds of the cross-validation that chooses", range=Range(2, 20))
    repeats: int = setting(2, "sweep: repeats of the cross-validation, each with other folds", range=Range(1, 20))
    other_splits: int = setting(10, "sweep: the chosen model is also scored on this many other splits (seeds "
                                "0..N-1)", range=Range(0, 100), quick=3)


def combinations(c: IrisConfig) -> list[IrisConfig]:
    """One config per (learning rate, hidden size) pair."""
    return [dataclasses.replace(c, lr=[lr], hidden=[h]) for lr, h in itertools.product(c.lr, c.hidden)]


def iris_run_name(c: IrisConfig) -> str:
    data = "iris" if c.csv is None else readable(Path(c.csv).stem)
    if len(c.lr) * len(c.hidden) > 1:
        grid = f"lr{','.join(f'{v:g}' for v in c.lr)}-h{','.join(map(str, c.hidden))}"
        return run_name(f"{data}-sweep", c, [grid, f"s{c.seed}"])
    return run_name(data, c, [f"h{c.hidden[0]}", f"lr{c.lr[0]:g}", f"m{c.momentum:g}", f"bs{c.batch_size}",
                              f"e{c.epochs}", c.schedule, f"s{c.seed}"])


def describe_result(s: dict) -> str:
    if s["pipeline"] == SWEEP:
        b = s["chosen"]
        return (f"chosen by {s['folds']}-fold cross-validation ×{s['repeats']}: lr {b['lr']:g}, hidden {b['hidden']} "
                f"— test accuracy {1 - b['test_error']:.1%} on the fixed split, {s['splits_mean']:.1%} ± "
                f"{s['splits_std']:.1%} over {len(s['splits'])} other splits\nsweep folder: {s['path']}")
    return (f"test accuracy {s['test_accuracy']:.1%} (epoch {s['best_epoch']}, chosen by validation error)\n"
            f"run folder: {s['path']}")


# -- data and model -------------------------------------------------------------------------


def read_data(c: IrisConfig) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    return read_csv(c.csv or iris_path(), c.label_column)


def build_model(c: IrisConfig) -> NeuralNetwork:
    """Two layers: hidden (activation) → output (softmax, one unit per class)."""
    layers = [
        {"name": "fully_connected", "n_out": c.hidden[0], "activation": c.activation, "weight_init": c.weight_init},
        {"name": "fully_connected", "activation": "softmax", "weight_init": c.weight_init},
    ]
    schedule_args = {
        "constant": {},
        "exponential": {"decay": c.decay, "stage_length": c.stage_length, "staircase": True},
        "cosine": {"total_epochs": c.epochs},
    }[c.schedule]
    optimizer = initialize_optimizer("sgd", lr=c.lr[0], momentum=c.momentum, lr_scheduler=c.schedule,
                                     **schedule_args)
    return NeuralNetwork(layers, loss="cross_entropy", optimizer=optimizer, seed=c.seed)


def standardized(splits: dict) -> tuple[dict, Standardizer]:
    standardize = Standardizer.fit(splits["train"][0])
    return {s: (standardize(X), y) for s, (X, y) in splits.items()}, standardize


# -- one run ---------------------------------------------------------------------------------


def run(c: IrisConfig, options: RunOptions | None = None) -> dict:
    """One run, or a sweep when several learning rates or hidden sizes are given."""
    options = options or RunOptions()
    settings.check(c)
    data = read_data(c)  # a bad CSV is refused before any folder exists
    if len(c.lr) * len(c.hidden) > 1:
        return run_sweep(c, options, data)
    return train_one(c, options, data)


def train_one(c: IrisConfig, options: RunOptions, data, name: str | None = None) -> dict:
    """Train one model on the fixed split and write its run folder; returns the summary."""
    started = time.perf_counter()
    X, y, class_names, feature_names = data
    options = dataclasses.replace(options, name=name or options.name)
    with start_run("iris", c, options, iris_run_name(c), c.epochs, started) as run:
        splits = split_tabular(X, y, seed=c.split_seed)
        run.write_config(splits, classes=class_names, features=feature_names, device="cpu (numpy)",
                         precision="float32")
        arrays, standardize = standardized(splits)
        trainer = NumpyTrainer(build_model(c), arrays, c.batch_size, len(class_names))
        fitted = fit_epochs(run, trainer, c.epochs, select_best=True)
        test = trainer.model.evaluate(*arrays["test"])
        best = fitted["best"]
        write_outputs(run, run.name, splits["test"][1], trainer.predict("test"), class_names, second="error",
                      chosen_epoch=best["epoch"], first_weights=trainer.first_layer_weights(),
                      feature_names=feature_names)
        trainer.model.save(run.folder.file("params.npz"), extra=standardize.to_arrays())
        return run.complete({"test_loss": test["loss"], "test_accuracy": test["accuracy"], "test_error": test["error"],
                           "best_epoch": best["epoch"], "best_val_error": best["val_error"],
                           "best_val_loss": best["val_loss"], "epochs": c.epochs, "lr": c.lr[0],
                           "hidden": c.hidden[0], "train_seconds": fitted["train_seconds"]})


# -- the sweep ---------------------------------------------------------------------------------

SWEEP_COLUMNS = ["lr", "hidden", "cv_error", "cv_error_std", "cv_loss", "best_val_error", "best_epoch",
                 "test_error", "chosen", "run"]


def cross_validate(c: IrisConfig, X: np.ndarray, y: np.ndarray, n_classes: int) -> dict:
    """Mean and spread of the final-epoch error (and mean loss) on the held-out fold,
    over ``folds`` stratified folds × ``repeats`` reshuffles of the rows."""
    errors, losses = [], []
    for r in range(c.repeats):
        fold = stratified_folds(y, c.folds, seed=c.split_seed * 1000 + r)
        for k in range(c.folds):
            part = {"train": (X[fold != k], y[fold != k]), "validate": (X[fold == k], y[fold == k])}
            arrays, _ = standardized(part)
            model = build_model(c)
            model.build(n_classes)
            model.fit(*arrays["train"], epochs=c.epochs, batch_size=c.batch_size)
            result = model.evaluate(*arrays["validate"])
            errors.append(result["error"])
            losses.append(result["loss"])
    return {"cv_error": float(np.mean(errors)), "cv_error_std": float(np.std(errors)),
            "cv_loss": float(np.mean(losses))}


def run_sweep(c: IrisConfig, options: RunOptions, data) -> dict:
    """Score each combination by cross-validation and write its run, a line each (every
    epoch of every run with ``--verbose``); then choose, and write the sweep's tables."""
    started = time.perf_counter()
    X, y, class_names, _ = data
    grid = combinations(c)
    with RunFolder(options.out, options.name or iris_run_name(c), overwrite=options.overwrite,
                   new_version=options.new_version, kind="sweep") as sweep:
        sweep.write_json("config.json", config_record(SWEEP, dataclasses.asdict(c), device="cpu (numpy)",
                                                      precision="float32"))
        non_test = split_tabular(X, y, seed=c.split_seed)
        X_cv = np.concatenate([non_test["train"][0], non_test["validate"][0]])
        y_cv = np.concatenate([non_test["train"][1], non_test["validate"][1]])
        inner = dataclasses.replace(options, out=str(sweep.path), name=None, overwrite=False, new_version=False,
                                    resume=False, progress=options.progress and options.verbose)
        rows = []
        for k, g in enumerate(grid, start=1):
            row = {"lr": g.lr[0], "hidden": g.hidden[0], **cross_validate(g, X_cv, y_cv, len(class_names)),
                   "run": f"lr{g.lr[0]:g}-h{g.hidden[0]}"}
            s = train_one(g, inner, data, name=row["run"])
            row.update(best_val_error=s["best_val_error"], best_epoch=s["best_epoch"], test_error=s["test_error"])
            rows.append(row)
            if options.progress:
                write(f"sweep {k}/{len(grid)}: lr {row['lr']:g}, hidden {row['hidden']}: CV error "
                      f"{row['cv_error']:.1%} ± {row['cv_error_std']:.1%}; run {row['run']} kept epoch "
                      f"{row['best_epoch']}, test error {row['test_error']:.1%}")
        chosen = min(rows, key=lambda r: (r["cv_error"], r["cv_loss"]))
        for row in rows:
            row["chosen"] = row is chosen
        sweep.write_text("sweep.csv", csv_text(rows, SWEEP_COLUMNS))
        other = other_splits(combinations(dataclasses.replace(c, lr=[chosen["lr"]], hidden=[chosen["hidden"]]))[0],
                             data)
        sweep.write_text("splits.csv", csv_text(other, ["split_seed", "test_accuracy"]))
        accuracies = [r["test_accuracy"] for r in other]
        summary = {"pipeline": SWEEP, "chosen": chosen, "rows": rows, "folds": c.folds, "repeats": c.repeats,
                   "test_accuracy": 1 - chosen["test_error"], "epochs": c.epochs, "cv_rows": int(len(y_cv)),
                   "splits": other, "splits_mean": float(np.mean(accuracies)) if accuracies else None,
                   "splits_std": float(np.std(accuracies)) if accuracies else None,
                   "wall_seconds": time.perf_counter() - started}
        sweep.write_json("summary.json", summary)
    return {**summary, "path": str(sweep.final)}


def other_splits(c: IrisConfig, data) -> list[dict]:
    """The chosen model's test accuracy on the splits of seeds 0..other_splits−1 (each
    trained on its own training rows, the epoch chosen by its own validation rows)."""
    X, y, class_names, _ = data
    out = []
    for seed in range(c.other_splits):
        arrays, _ = standardized(split_tabular(X, y, seed=seed))
        model = build_model(c)
        model.build(len(class_names))
        model.fit(*arrays["train"], epochs=c.epochs, batch_size=c.batch_size, validation_data=arrays["validate"],
                  keep_best=True)
        out.append({"split_seed": seed, "test_accuracy": model.evaluate(*arrays["test"])["accuracy"]})
    return out


PIPELINE = Pipeline(
    name="iris", help="the two-layer NumPy network on Iris: one run, or a sweep chosen by cross-validation",
    config=IrisConfig, run=run, describe_result=describe_result,
    section=functools.partial(sections.iris, sweep_kind=SWEEP), writes=("iris", SWEEP), data="iris",
    stages=(Stage("Iris sweep (NumPy)", "iris-sweep"),),
    bars=(SweepBar("Iris: two-layer network, learning rate × hidden size", 4, {"pipeline": SWEEP}),))
