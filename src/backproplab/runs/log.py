"""The per-epoch record of a run: metrics.csv rewritten (atomically) after every epoch,
and the progress bar, which moves with every batch.

Every pipeline and both engines write the same columns, so any two runs can be
compared and plotted alike: loss, accuracy and error on the training batches (as they
were seen, in training mode) and on the validation split (in evaluation mode after the
epoch), the learning rate of the epoch's last step, the seconds of the training pass,
and the seconds spent after it on validation and the checkpoint.
"""

from __future__ import annotations

from .folder import RunFolder
from ..progress import progress
from .tensorboard import EventWriter

COLUMNS = ["epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy", "train_error", "val_error", "lr",
           "seconds", "eval_seconds"]
#: the columns no seed can fix (wall-clock time); everything else reproduces byte for byte
TIME_COLUMNS = ("seconds", "eval_seconds")


class EpochLog:
    def __init__(self, run: RunFolder | None, epochs: int, desc: str, show_progress: bool = True,
                 tensorboard: bool = False) -> None:
        self.run = run
        self.rows: list[dict] = []
        self.events = EventWriter(run.file("tensorboard")) if tensorboard and run is not None else None
        self.bar = progress(epochs, desc=desc, enabled=show_progress)

    def restore(self, rows: list[dict]) -> None:
        """Continue after the epochs of a checkpoint."""
        self.rows = list(rows)
        self.bar.n = len(self.rows)
        self.bar.refresh()

    def batch_done(self, fraction: float) -> None:
        """Move the bar by ``fraction`` of an epoch (tqdm throttles the redraws); never past
        the epoch's end, however the fractions round."""
        self.bar.update(min(fraction, len(self.rows) + 1 - self.bar.n))

    def add(self, record: dict) -> None:
        self.rows.append(record)
        if self.run is not None:
            self.run.write_csv("metrics.csv", self.rows, COLUMNS)
        if self.events is not None:
            self.events.add(record)
        self.bar.n = len(self.rows)  # exact, whatever the fractions added up to
        self.bar.set_postfix({k: f"{record[k]:.4f}" for k in ("train_loss", "val_loss", "val_accuracy")})

    def close(self) -> None:
        self.bar.close()
        if self.events is not None:
            self.events.close()
