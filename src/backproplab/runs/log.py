"""The per-epoch record of a run: metrics.csv rewritten (atomically) after every epoch,
the progress bar, and the training-curve plots at the end. Every pipeline uses it."""

from __future__ import annotations

from .folder import RunFolder

#: metrics.csv columns of the pipelines that report accuracy (Fashion-MNIST, CIFAR-10)
ACCURACY_COLUMNS = ["epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy", "lr", "seconds"]
#: and of the Iris pipeline, which reports error as the homework asks
ERROR_COLUMNS = ["epoch", "train_loss", "val_loss", "train_error", "val_error", "lr", "seconds"]
from .plots import plot_curves
from .progress import progress


class EpochLog:
    def __init__(self, run: RunFolder, columns: list[str], epochs: int, desc: str,
                 show_progress: bool = True, rows: list[dict] | None = None) -> None:
        self.run, self.columns = run, columns
        self.rows: list[dict] = list(rows or [])  # earlier epochs when resuming
        self.bar = progress(epochs, desc=desc, enabled=show_progress)
        self.bar.update(len(self.rows))

    def add(self, record: dict) -> None:
        self.rows.append(record)
        self.run.write_csv("metrics.csv", self.rows, self.columns)
        shown = {k: f"{record[k]:.4f}" for k in ("train_loss", "val_loss", "val_accuracy", "val_error") if k in record}
        self.bar.set_postfix(shown)
        self.bar.update()

    def close(self) -> None:
        self.bar.close()

    def plot(self, title: str, second: str = "accuracy") -> None:
        """loss.png, and accuracy.png or error.png, from the rows."""
        plot_curves(self.rows, "loss", self.run.file("loss.png"), title, ylabel="cross-entropy loss")
        plot_curves(self.rows, second, self.run.file(f"{second}.png"), title, ylabel=f"{second} (%)", percent=True)
