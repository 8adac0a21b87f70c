"""Reading a file a user hands us with bounded memory: at most ``limit`` bytes, checked
against the file's size before reading and again while reading (a device such as
/dev/zero or a pipe reports no size). Every problem raises ``error`` naming the file."""

from __future__ import annotations

import os
from pathlib import Path


def read_bounded(path: str | Path, limit: int, error: type[Exception], what: str = "file") -> bytes:
    path = Path(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise error(f"{path}: {size:,} bytes, more than the {limit:,} a {what} may have here")
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a {what}") from None
    if len(data) > limit:
        raise error(f"{path}: more than the {limit:,} bytes a {what} may have here")
    return data
