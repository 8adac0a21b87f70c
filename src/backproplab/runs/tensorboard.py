"""TensorBoard event files (``--tensorboard``): every metrics.csv column of every epoch as a
scalar, written with the ``tensorboard`` package's own event writer (no TensorFlow, no
PyTorch), into ``<run>/tensorboard/``. In a notebook: ``%load_ext tensorboard`` then
``%tensorboard --logdir experiments``."""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import UsageError

#: metrics.csv columns shown in TensorBoard, grouped as TensorBoard draws them
TAGS = {"train_loss": "loss/train", "val_loss": "loss/validation", "train_accuracy": "accuracy/train",
        "val_accuracy": "accuracy/validation", "lr": "learning_rate", "seconds": "seconds/epoch"}


class EventWriter:
    def __init__(self, folder: Path) -> None:
        try:
            from tensorboard.compat.proto import event_pb2, summary_pb2
            from tensorboard.summary.writer.event_file_writer import EventFileWriter
        except ImportError:
            raise UsageError("--tensorboard needs the tensorboard package: pip install 'backproplab[tensorboard]'")\
                from None
        self._event, self._summary = event_pb2.Event, summary_pb2.Summary
        self.writer = EventFileWriter(str(folder))

    def add(self, record: dict) -> None:
        values = [self._summary.Value(tag=tag, simple_value=float(record[key]))
                  for key, tag in TAGS.items() if isinstance(record.get(key), (int, float))]
        self.writer.add_event(self._event(wall_time=time.time(), step=int(record["epoch"]),
                                          summary=self._summary(value=values)))
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
