"""``backproplab grade``: every submission graded in parallel, then the gradebook, the class
report and the feedback written from the records.

Each submission is graded in a worker process of its own (``worker.run_job``), at most
``jobs`` at a time, each with a *slot* no other running worker has (the sandbox's user at
the "user" isolation level). A worker is forked from a server that has imported the grader
once, so a submission costs no interpreter start. Whatever one submission does — hang,
crash, allocate, print, hand in a zip bomb — ends inside its own worker with its own limits;
a worker that outlives every limit its parts could use together (``wall_limit``) is stopped,
and the submission is an error that ``--resume`` grades again.

Ctrl-C (or SIGTERM) stops the workers (each ends its sandbox and scratch folder), keeps the
records written so far, and says how to go on; ``--resume`` grades only what has no record.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path

from ...progress import Lines, progress
from ...runs.files import write_json, write_text
from ..grader import select_parts
from . import outfolder, worker
from .submissions import Submission

#: how long stopped workers get to end their sandboxes before they are killed
GRACE_SECONDS = 10.0


@dataclass
class Running:
    proc: multiprocessing.Process
    sub: Submission
    slot: int
    started: float


def wall_limit(settings: worker.Settings) -> float:
    """The longest one submission may take: every part and probe at its limit, the sandbox's
    start and a margin."""
    parts = select_parts(list(settings.parts) if settings.parts else None)
    return 120.0 + settings.timeout * (8 + sum(p.kind.timeout_factor for p in parts))


def _context():
    try:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([worker.__name__])
    except ValueError:  # no fork server on this system
        ctx = multiprocessing.get_context("spawn")
    return ctx


def _stopped_record(sub: Submission, why: str) -> dict:
    return {"submission": sub.name, "students": [vars(s) for s in sub.students], "status": "error", "reason": why,
            "retry": True, "package": None, "fingerprint": None, "term": None, "notes": [], "isolation": None,
            "parts": [], "feedback": f"backproplab check: error: {sub.name}: {why}\n", "seconds": 0.0}


class Pool:
    """At most ``jobs`` workers at a time, each with a slot of its own."""

    def __init__(self, jobs: int, settings: worker.Settings, out: Path) -> None:
        self.jobs, self.settings, self.out = jobs, settings, out
        self.limit = wall_limit(settings)
        self.ctx = _context()
        self.running: dict[int, Running] = {}

    def run(self, todo: list[Submission], on_done) -> None:
        """Grade ``todo``; ``on_done(record)`` after each. A KeyboardInterrupt stops every
        worker before it propagates."""
        pending, free = deque(todo), list(range(self.jobs - 1, -1, -1))
        try:
            while pending or self.running:
                while pending and free:
                    self._start(pending.popleft(), free.pop())
                ready = wait([r.proc.sentinel for r in self.running.values()], timeout=1.0)
                for sentinel in ready:
                    free.append(self._finish(self.running.pop(sentinel), on_done))
                now = time.monotonic()
                for sentinel, r in list(self.running.items()):
                    if now - r.started > self.limit:
                        self._end([r])
                        write_json(outfolder.record_path(self.out, r.sub.name), _stopped_record(
                            r.sub, f"grading it took longer than {self.limit:g} s, more than all its parts' limits "
                                   "together, and was stopped"))
                        free.append(self._finish(self.running.pop(sentinel), on_done))
        except BaseException:
            self._end(list(self.running.values()))
            self.running.clear()
            raise

    def _start(self, sub: Submission, slot: int) -> None:
        path = outfolder.record_path(self.out, sub.name)
        path.unlink(missing_ok=True)  # a record left to retry
        proc = self.ctx.Process(target=worker.run_job, args=(sub, self.settings, slot, str(path)),
                                name=f"grade {slot}", daemon=True)
        proc.start()
        self.running[proc.sentinel] = Running(proc, sub, slot, time.monotonic())

    def _finish(self, r: Running, on_done) -> int:
        r.proc.join()
        record = outfolder.read_record(self.out, r.sub.name)
        if record is None:
            code = r.proc.exitcode
            how = f"was killed by signal {-code}" if code and code < 0 else f"ended with exit status {code}"
            record = _stopped_record(r.sub, f"the grader's process for it {how} without a result (out of memory? "
                                            "a bug?); --resume grades it again")
            write_json(outfolder.record_path(self.out, r.sub.name), record)
        on_done(record)
        return r.slot

    @staticmethod
    def _end(workers: list[Running]) -> None:
        """Ask each worker to stop (it ends its sandbox), then kill those that do not."""
        for r in workers:
            if r.proc.is_alive():
                try:
                    os.kill(r.proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + GRACE_SECONDS
        for r in workers:
            r.proc.join(max(0.0, deadline - time.monotonic()))
            if r.proc.is_alive():
                r.proc.kill()
                r.proc.join()


class Progress:
    """The progress bar with the submissions done, passed (full marks), failed (points
    lost) and errors (not graded)."""

    def __init__(self, total: int, done: list[dict], enabled: bool) -> None:
        self.counts = {"passed": 0, "failed": 0, "errors": 0}
        for record in done:
            self._count(record)
        self.bar = progress(total, "grading", unit="submission", enabled=enabled)

    def _count(self, record: dict) -> None:
        if record["status"] != "graded":
            self.counts["errors"] += 1
        elif all(p["verdict"] == "pass" for p in record["parts"] if p["counted"]):
            self.counts["passed"] += 1
        else:
            self.counts["failed"] += 1

    def __call__(self, record: dict) -> None:
        self._count(record)
        if isinstance(self.bar, Lines):
            self.bar.n += 1  # one line per submission, with the counts
        else:
            self.bar.update(1)
        self.bar.set_postfix(dict(self.counts))

    def close(self) -> None:
        self.bar.close()


def grade_all(subs: list[Submission], settings: worker.Settings, out: Path, jobs: int, show_progress: bool
              ) -> list[dict]:
    """Every submission's record, grading those without one (KeyboardInterrupt keeps those written)."""
    done = {s.name: r for s in subs if (r := outfolder.read_record(out, s.name)) and not r.get("retry")}
    todo = [s for s in subs if s.name not in done]
    if done:
        print(f"{len(done)} of {len(subs)} submissions already graded in {out}; grading the other {len(todo)}",
              file=sys.stderr)
    bar = Progress(len(todo), list(done.values()), show_progress)
    try:
        Pool(max(1, min(jobs, len(todo) or 1)), settings, out).run(todo, bar)
    except KeyboardInterrupt:
        kept = sum(outfolder.read_record(out, s.name) is not None for s in subs)
        raise KeyboardInterrupt(f"{kept} of {len(subs)} submissions graded are kept in {out}; the same command with "
                                "--resume goes on") from None
    finally:
        bar.close()
    return [outfolder.read_record(out, s.name) for s in subs]


def write_feedback(out: Path, records: list[dict]) -> Path:
    folder = out / "feedback"
    folder.mkdir(mode=0o700, exist_ok=True)
    names = outfolder.feedback_names([r["submission"] for r in records])
    for record in records:
        write_text(folder / names[record["submission"]], record["feedback"])
    return folder
