"""Running a learner's code in a child process, with limits, so that nothing it does can
take the grader down.

Each part runs in a new Python process (the interpreter and environment that run
backproplab, so the learner's code sees the same installed packages) in its own
temporary working folder and its own process group. The child sets its own
limits before it imports the learner's package (``child.set_limits``: address space, CPU
seconds, file size, no core dumps); the grader enforces the wall-clock limit by killing the whole group.
What the learner's code prints is read as it comes and kept up to ``MAX_OUTPUT`` bytes.

This isolates faults (an infinite loop, a huge allocation, ``sys.exit``, a crash), not
malice: the child runs as the same user with the same files; it is not a security sandbox.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..bounded import read_bounded
from ..errors import BackproplabError

#: the folder that holds the ``backproplab`` package, put on the child's path
SOURCE_ROOT = str(Path(__file__).resolve().parents[2])
BOOT = "import sys; sys.path.append(sys.argv.pop(1)); from backproplab.check.child import main; main()"
#: what is kept of the learner's printed output per part
MAX_OUTPUT = 16 * 1024
MAX_RESULT_BYTES = 4 * 2**20
MAX_OUTPUT_ARRAYS_BYTES = 64 * 2**20


class ChildError(BackproplabError):
    """The child's result files are missing or not what the child writes."""


@dataclass
class ChildOutcome:
    status: str  # "done", "timeout" or "crashed" (ended without writing its result)
    seconds: float
    returncode: int | None = None
    output: str = ""  # what the learner's code printed (stdout and stderr), truncated
    output_bytes: int = 0
    calls: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)
    setup: str = "ok"


def _drain(stream, kept: list[bytes], counted: list[int]) -> None:
    size = 0
    for chunk in iter(lambda: stream.read(65536), b""):
        if size < MAX_OUTPUT:
            kept.append(chunk[: MAX_OUTPUT - size])
        size += len(chunk)
    counted.append(size)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


def run_child(task_dir: Path, timeout: float) -> ChildOutcome:
    """Run the task in ``task_dir`` (task.json, inputs.npz) and collect what it wrote."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "MPLBACKEND": "Agg"}
    command = [sys.executable, "-B", "-u", "-c", BOOT, SOURCE_ROOT, str(task_dir)]
    start = time.monotonic()
    proc = subprocess.Popen(command, cwd=task_dir / "work", env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=(os.name == "posix"))
    kept: list[bytes] = []
    counted: list[int] = []
    reader = threading.Thread(target=_drain, args=(proc.stdout, kept, counted), daemon=True)
    reader.start()
    try:
        proc.wait(timeout=timeout)
        status = "done"
    except subprocess.TimeoutExpired:
        status = "timeout"
    seconds = time.monotonic() - start
    _kill_group(proc)  # a timeout, or what the learner's code left running
    proc.wait()
    reader.join(timeout=5)
    outcome = ChildOutcome(status, seconds, proc.returncode, b"".join(kept).decode("utf-8", "replace"),
                           counted[0] if counted else sum(map(len, kept)))
    if status == "done":
        _read_result(task_dir, outcome)
    return outcome


def _read_result(task_dir: Path, outcome: ChildOutcome) -> None:
    result_path, arrays_path = task_dir / "result.json", task_dir / "outputs.npz"
    if not result_path.is_file() or not arrays_path.is_file():
        outcome.status = "crashed"
        return
    try:
        result = json.loads(read_bounded(result_path, MAX_RESULT_BYTES, ChildError, "result file"))
        outcome.calls, outcome.setup = result["calls"], result["setup"]
        with zipfile.ZipFile(arrays_path) as archive:
            if sum(i.file_size for i in archive.infolist()) > MAX_OUTPUT_ARRAYS_BYTES:
                raise ChildError(f"{arrays_path}: larger than {MAX_OUTPUT_ARRAYS_BYTES:,} bytes")
        with np.load(arrays_path, allow_pickle=False) as archive:
            outcome.arrays = {k: archive[k] for k in archive.files}
    except (ChildError, ValueError, KeyError, TypeError, OSError, zipfile.BadZipFile):
        outcome.status = "crashed"  # the result files were damaged (by the learner's code)
