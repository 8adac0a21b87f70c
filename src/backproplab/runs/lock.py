"""An operating-system lock on a run's name, so that two runs of one name never meet.

The lock is ``flock`` on ``<out>/.<name>.lock`` (``msvcrt.locking`` on Windows). The
kernel releases it when the process ends in any way, kill -9 included, so a stale lock
never blocks the next run: the file may stay behind, but nothing holds it.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import RunError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt


class RunBusyError(RunError):
    """Another process holds the run's name."""


def _try_lock(fd: int) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return True
    except OSError:
        return False


class NameLock:
    """Held from ``acquire()`` to ``release()``; refuses at once if another process has it."""

    def __init__(self, out: Path, name: str) -> None:
        self.path = out / f".{name}.lock"
        self.name = name
        self.fd: int | None = None

    def acquire(self) -> "NameLock":
        for _ in range(10):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if not _try_lock(fd):
                os.close(fd)
                raise RunBusyError(
                    f"another backproplab process is running a run named {self.name!r} in {self.path.parent} "
                    "right now; wait for it to finish, or choose another --name")
            try:  # the file we locked must still be the one at the path (a finishing run unlinks it)
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                return self
            os.close(fd)
        raise RunBusyError(f"could not lock {self.path}: it keeps changing; is another run starting?")

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.path)  # while still holding it: a waiting process will see the inode change
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None
