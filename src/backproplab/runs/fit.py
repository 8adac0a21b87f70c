"""The training loop of every run, whatever the engine: one ``fit_epochs``.

    for each epoch:  train one pass  →  evaluate on the validation split  →
                     (remember the best epoch)  →  checkpoint  →  log the epoch

The engine is a *trainer* (``engines.numpy_engine.NumpyTrainer``,
``engines.torch_engine.TorchTrainer``) with the methods of ``Trainer``: the loop calls the
first six, the pipelines the other four. Both engines write the same metrics.csv columns
and the same checkpoint contents: model, optimizer and RNG states, the epoch, the rows so far,
the time spent, the settings and (when choosing by validation) the best epoch's model.
``--resume`` restores all of it and continues exactly where the checkpoint was taken.

A non-finite loss stops training at once with an error naming the epoch and step; the
checkpoint of the last good epoch is kept (``RunFolder`` keeps the partial folder).
"""

from __future__ import annotations

import math
import time
from typing import Callable, Protocol

import numpy as np

from ..errors import TrainingError
from .checkpoint import check_record
from .run import Run


class Trainer(Protocol):
    checkpoint_name: str  # "checkpoint.pt" or "checkpoint.npz"

    def train_epoch(self, epoch: int, on_batch: Callable[[float], None]) -> dict:
        """One pass over the training split: {"train_loss", "train_accuracy", "lr"}."""

    def evaluate(self, split: str) -> tuple[float, float]:
        """(mean loss, accuracy) on a split, in evaluation mode."""

    def save(self, path, meta: dict, with_best: bool) -> None:
        """Write the checkpoint: model, optimizer, RNG states, ``meta`` (and the best model)."""

    def load(self, path) -> dict:
        """Restore model, optimizer and RNG states from a checkpoint; return its ``meta``."""

    def keep_best(self) -> None:
        """Remember the current parameters as the best epoch's."""

    def use_best(self) -> None:
        """Put the remembered best parameters into the model."""

    def predict(self, split: str) -> np.ndarray:
        """The predicted class of every example of a split."""

    def first_layer_weights(self) -> np.ndarray:
        """The first layer's weights, for the picture of what it learned."""

    def parameter_count(self) -> int:
        """How many trainable numbers the model has."""

    def describe_model(self) -> str:
        """The model as built, layer by layer (for the summary and the report)."""


def fit_epochs(run: Run, trainer: Trainer, epochs: int, select_best: bool = False) -> dict:
    """Train to ``epochs`` (continuing the checkpoint when resuming).

    ``select_best``: keep the epoch with the lowest validation error (ties: lower
    validation loss) and end with its parameters, as the Iris homework asks; otherwise
    the final epoch's parameters are the result. Returns {"train_seconds",
    "eval_seconds", "best"} (best: {"epoch", "val_error", "val_loss"} or None).
    """
    path = run.folder.file(trainer.checkpoint_name)
    state = {"epoch": 0, "train_seconds": 0.0, "eval_seconds": 0.0, "best": None}
    if run.options.resume:
        state = trainer.load(path)
        check_record(path, state, epochs)
        run.log.restore(state["rows"])
        run.wall_before = state["wall"]
    for epoch in range(state["epoch"], epochs):
        t0 = time.perf_counter()
        record = {"epoch": epoch + 1, **trainer.train_epoch(epoch, run.log.batch_done)}
        t1 = time.perf_counter()
        val_loss, val_accuracy = trainer.evaluate("validate")
        if not math.isfinite(val_loss):
            raise TrainingError(f"the validation loss is {val_loss} after epoch {epoch + 1}: training diverged; "
                                "lower the learning rate")
        record.update(val_loss=val_loss, val_accuracy=val_accuracy, val_error=1.0 - val_accuracy,
                      train_error=1.0 - record["train_accuracy"], seconds=t1 - t0,
                      eval_seconds=time.perf_counter() - t1)
        best = state["best"]
        if select_best and (best is None or (record["val_error"], val_loss) < (best["val_error"], best["val_loss"])):
            state["best"] = {"epoch": epoch + 1, "val_error": record["val_error"], "val_loss": val_loss}
            trainer.keep_best()
        state.update(epoch=epoch + 1, train_seconds=state["train_seconds"] + record["seconds"],
                     rows=run.log.rows + [record], wall=run.wall_seconds(), config=run.config)
        t2 = time.perf_counter()
        trainer.save(path, state, with_best=select_best)
        record["eval_seconds"] += time.perf_counter() - t2  # the checkpoint is part of the overhead
        state["eval_seconds"] += record["eval_seconds"]
        run.log.add(record)
    if select_best:
        trainer.use_best()
    return {"train_seconds": state["train_seconds"], "eval_seconds": state["eval_seconds"], "best": state["best"]}
