"""Reading a file a user hands us with bounded memory: only a regular file (a FIFO, a
device or a socket is refused at once, never waited on), at most ``limit`` bytes, checked
against the file's size before reading and again while reading. Every problem raises
``error`` naming the file."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def open_regular(path: str | Path, error: type[Exception], what: str = "file"):
    """The file opened for reading if it is a regular file (following links: reading
    through a link changes nothing); ``error`` otherwise. Opening does not block on a FIFO."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a {what}") from None
    except OSError as err:
        raise error(f"{path}: cannot be read ({err.strerror})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
        raise error(f"{path}: is {kind}, not a {what}; only regular files are read")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_bounded(path: str | Path, limit: int, error: type[Exception], what: str = "file") -> bytes:
    path = Path(path)
    with open_regular(path, error, what) as f:
        size = os.fstat(f.fileno()).st_size
        if size > limit:
            raise error(f"{path}: {size:,} bytes, more than the {limit:,} a {what} may have here")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise error(f"{path}: more than the {limit:,} bytes a {what} may have here")
    return data
