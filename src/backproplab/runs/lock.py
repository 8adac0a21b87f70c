"""An operating-system lock on a run's name, so that two runs of one name never meet.

The lock is ``flock`` on ``<out>/.<name>.lock`` (``msvcrt.locking`` on Windows). The
kernel releases it when the process ends in any way, kill -9 included, so a stale lock
never blocks the next run: the file may stay behind, but nothing holds it.

The lock file is opened without following a link (``O_NOFOLLOW``) and must be a regular
file of our own (``lstat`` and ``fstat`` agree): a link planted at its name is refused,
so no file elsewhere is ever truncated or created through it.
"""

from __future__ import annotations

import os
import stat
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

    def __init__(self, out: Path, name: str, busy: str | None = None) -> None:
        self.path = out / f".{name}.lock"
        self.name = name
        self.busy = busy or (f"another backproplab process is running a run named {name!r} in {out} right now; "
                             "wait for it to finish, or choose another --name")
        self.fd: int | None = None

    def _open(self) -> int:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as err:
            if os.path.islink(self.path):
                raise RunError(f"{self.path} is a link; backproplab never follows it (it would write where it "
                               "points): remove it, or choose another --name or --out") from None
            raise RunError(f"cannot create the lock {self.path}: {err.strerror}") from None
        st, here = os.fstat(fd), os.lstat(self.path)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (here.st_dev, here.st_ino):
            os.close(fd)
            raise RunError(f"{self.path} is not a lock file backproplab made (it is not a plain file); remove it, or "
                           "choose another --name or --out")
        return fd

    def acquire(self) -> "NameLock":
        for _ in range(10):
            fd = self._open()
            if not _try_lock(fd):
                os.close(fd)
                raise RunBusyError(self.busy)
            try:  # the file we locked must still be the one at the path (a finishing run unlinks it)
                same = os.lstat(self.path).st_ino == os.fstat(fd).st_ino
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
