"""Reading a file a user hands us with bounded memory: only a regular file (a FIFO, a
device or a socket is refused at once, never waited on), at most ``limit`` bytes, checked
against the file's size before reading and again while reading. Every problem raises
``error`` naming the file."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


def open_regular(path: str | Path, error: type[Exception], what: str = "file", *, follow_symlinks: bool = True):
    """The file opened for reading if it is a regular file; ``error`` otherwise. Opening does
    not block on a FIFO. A link is followed (reading through it changes nothing) unless
    ``follow_symlinks`` is false: then a link as the last part of the path is refused with
    O_NOFOLLOW, for a file whose contents we echo (a predictions.csv linked to another file
    must not show that file's first line)."""
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
        if not hasattr(os, "O_NOFOLLOW") and path.is_symlink():  # Windows: no flag, a check before opening
            raise error(f"{path}: is a symbolic link; give the file itself")
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a {what}") from None
    except OSError as err:
        # O_NOFOLLOW on a link fails with ELOOP (Linux, macOS) or EMLINK (FreeBSD)
        if not follow_symlinks and err.errno in (errno.ELOOP, errno.EMLINK) and path.is_symlink():
            raise error(f"{path}: is a symbolic link; give the file itself") from None
        raise error(f"{path}: cannot be read ({err.strerror})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
        raise error(f"{path}: is {kind}, not a {what}; only regular files are read")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_bounded(path: str | Path, limit: int, error: type[Exception], what: str = "file", *,
                 follow_symlinks: bool = True) -> bytes:
    """The whole file, at most ``limit`` bytes, opened as ``open_regular`` opens it."""
    path = Path(path)
    with open_regular(path, error, what, follow_symlinks=follow_symlinks) as f:
        size = os.fstat(f.fileno()).st_size
        if size > limit:
            raise error(f"{path}: {size:,} bytes, more than the {limit:,} a {what} may have here")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise error(f"{path}: more than the {limit:,} bytes a {what} may have here")
    return data
