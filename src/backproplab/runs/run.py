"""The one skeleton every run shares: its name and folder, config.json, the clock, the
epoch log, and the summary at the end. A pipeline reads

    with start_run("fashion", config, options, default_name, epochs) as run:
        splits = load(...); run.write_config(splits, **facts)   # data
        trainer = build(...)                                     # model
        fitted = fit_epochs(run, trainer, epochs)                # train (runs.fit)
        ... evaluate on the test split, write_outputs(...) ...   # test, pictures
        return run.complete(summary)                             # summary.json

When resuming, the saved config.json is compared with the new settings before anything
else happens, and a difference refuses the resume with the names of the settings.
Under torchrun only rank 0 writes (``launch.rank``); the other ranks get a run whose
folder writes nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from .. import settings
from ..errors import RunError
from ..launch import rank as process_rank
from .environment import machine, started, versions
from .files import read_json
from .folder import RunFolder
from .log import EpochLog
from .options import RunOptions


class SilentFolder:
    """The run folder of a process that writes nothing (a torchrun rank other than 0): it
    knows the run's name and final path, and every write is a no-op."""

    def __init__(self, out: str, name: str, rank: int) -> None:
        self.name, self.final = name, Path(out) / name
        self.path = Path(f"/nonexistent/backproplab-rank-{rank}")  # a stray write would fail loudly

    def file(self, name: str) -> Path:
        return self.path / name

    def write_json(self, name: str, obj) -> None:
        pass

    def write_text(self, name: str, text: str) -> None:
        pass

    def write_csv(self, name: str, rows, columns) -> None:
        pass


@dataclass
class Run:
    pipeline: str
    folder: RunFolder
    log: EpochLog
    config: dict  # the resolved settings, as config.json records them
    options: RunOptions
    started: float  # time.perf_counter() when this process started the run
    wall_before: float = 0.0  # wall seconds spent on the run by earlier, interrupted processes
    writes: bool = True  # False for torchrun's ranks other than 0
    closers: list[Callable[[bool], None]] = field(default_factory=list)  # see on_close

    @property
    def name(self) -> str:
        return self.folder.name

    def wall_seconds(self) -> float:
        """Wall time of the whole run so far, the parts before an interruption included."""
        return self.wall_before + time.perf_counter() - self.started

    def on_close(self, close: Callable[[bool], None]) -> None:
        """Call ``close(completed)`` when the run ends, after its folder is committed (a
        resource the run opened, such as torchrun's process group)."""
        self.closers.append(close)

    def final_val_accuracy(self) -> float:
        return self.log.rows[-1]["val_accuracy"]

    def write_config(self, splits: dict | None = None, **extra) -> None:
        """config.json (``config_record``), not when resuming."""
        if not self.options.resume:
            self.folder.write_json("config.json", config_record(self.pipeline, self.config, splits, **extra))

    def complete(self, summary: dict) -> dict:
        """summary.json, with the wall time; returns the summary with the run's final path."""
        summary = {"pipeline": self.pipeline, **summary, "wall_seconds": self.wall_seconds()}
        self.folder.write_json("summary.json", summary)
        return {**summary, "path": str(self.folder.final)}


def config_record(pipeline: str, config: dict, splits: dict | None = None, **extra) -> dict:
    """What config.json holds: the run kind, every setting, the split sizes, the facts the
    pipeline adds (device, threads, precision), the machine, the software, the start time."""
    record = {"pipeline": pipeline, **config, **extra, "versions": versions(), "machine": machine(),
              "started": started()}
    if splits is not None:
        record["splits"] = {s: len(y) for s, (_, y) in splits.items()}
    return record


@contextlib.contextmanager
def start_run(pipeline: str, config, options: RunOptions, default_name: str, epochs: int,
              started: float | None = None) -> Iterator[Run]:
    """Open the run folder (see ``RunFolder``) and yield the run; commit it at the end, then
    close what the run opened (``Run.on_close``). Under torchrun only rank 0 writes; the
    other ranks get a run that writes nothing."""
    started = started or time.perf_counter()
    rank = process_rank()
    holder: list[Run] = []
    completed = False
    try:
        if rank != 0:
            name = options.name or default_name
            log = EpochLog(None, epochs, desc=name, show_progress=False)
            holder.append(Run(pipeline, SilentFolder(options.out, name, rank), log, dataclasses.asdict(config),
                              options, started, writes=False))
            yield holder[0]
        else:
            with RunFolder(options.out, options.name or default_name, overwrite=options.overwrite,
                           resume=options.resume, new_version=options.new_version) as folder:
                if options.resume:
                    check_resumable(folder, config)
                log = EpochLog(folder, epochs, desc=folder.name, show_progress=options.progress,
                               tensorboard=options.tensorboard)
                holder.append(Run(pipeline, folder, log, dataclasses.asdict(config), options, started))
                try:
                    yield holder[0]
                finally:
                    log.close()
        completed = True
    finally:
        for close in holder[0].closers if holder else []:
            close(completed)


def check_resumable(folder: RunFolder, config) -> None:
    """Refuse (changing nothing) a resume whose settings differ from the interrupted run's."""
    saved = read_json(folder.file("config.json"))
    changed = settings.changed_settings(saved, config)
    if changed:
        flags = ", ".join(f"{settings.flag_name(k)} (was {settings.fmt(saved.get(k))}, now "
                          f"{settings.fmt(getattr(config, k))})" for k in changed)
        raise RunError(f"cannot resume {folder.path}: it was started with other settings: {flags}; resume with "
                       "the same settings")
