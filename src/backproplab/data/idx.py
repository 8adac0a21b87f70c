"""The IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed, read with bounded memory.

Layout (big-endian): two zero bytes, a dtype code, the number of dimensions d, then d
unsigned 32-bit sizes, then the data in C order. Every field is checked, and a file
whose data is shorter or longer than its header says is refused with the numbers.

Memory: the header is read first (from the decompressed stream for ``.gz`` files), the
data size it announces is computed with Python's unbounded integers and refused above
``MAX_IDX_BYTES`` (and, for a raw file, above what the file holds) before anything is
allocated; the data are then read in chunks, stopping at the announced size. A
compressed file that would inflate past its header's claim is refused at that point.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from pathlib import Path

import numpy as np

from ..bounded import open_regular
from .errors import DataError

DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
#: the most data an IDX file may announce (Fashion-MNIST's largest holds 47 MB)
MAX_IDX_BYTES = 1 << 30
CHUNK = 1 << 20


def _open(path: Path) -> tuple[io.BufferedIOBase, bool]:
    """The file's byte stream, through gunzip when it starts with the gzip magic number."""
    f = open_regular(path, DataError, "IDX file")
    if f.read(2) == b"\x1f\x8b":
        f.seek(0)
        return gzip.GzipFile(fileobj=f, mode="rb"), True
    f.seek(0)
    return f, False


def _read(stream, n: int, path: Path) -> bytes:
    """Up to n bytes, in chunks (memory grows only as real data arrive)."""
    parts, got = [], 0
    try:
        while got < n:
            part = stream.read(min(CHUNK, n - got))
            if not part:
                break
            parts.append(part)
            got += len(part)
    except (EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path}: corrupt or truncated gzip file ({err}); download it again") from None
    return b"".join(parts)


def read_header(stream, path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    head = _read(stream, 4, path)
    if len(head) < 4:
        raise DataError(f"{path}: too short for an IDX header ({len(head)} bytes)")
    if head[0] != 0 or head[1] != 0:
        raise DataError(f"{path}: not an IDX file (magic number starts {head[:2].hex()}, expected 0000)")
    code, ndim = head[2], head[3]
    if code not in DTYPES:
        raise DataError(f"{path}: unknown IDX dtype code 0x{code:02x}; expected one of "
                        f"{', '.join(f'0x{c:02x}' for c in DTYPES)}")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions")
    dims = _read(stream, 4 * ndim, path)
    if len(dims) < 4 * ndim:
        raise DataError(f"{path}: truncated IDX header ({4 + len(dims)} bytes, need {4 + 4 * ndim})")
    shape = tuple(int.from_bytes(dims[4 * i : 4 * i + 4], "big") for i in range(ndim))
    return np.dtype(DTYPES[code]), shape


def read_idx(path: str | Path, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Return the array an IDX file holds (native byte order)."""
    path = Path(path)
    stream, compressed = _open(path)
    with stream:
        dtype, shape = read_header(stream, path)
        expected = math.prod(shape) * dtype.itemsize  # exact: Python integers do not wrap
        if expected > max_bytes:
            raise DataError(f"{path}: the header declares shape {shape} ({expected:,} bytes of data), more than "
                            f"the {max_bytes:,} an IDX file may hold here; it is not a data set file")
        if not compressed:
            found = os.fstat(stream.fileno()).st_size - 4 - 4 * len(shape)
            if found != expected:
                raise DataError(f"{path}: {'truncated' if found < expected else 'has trailing bytes'}: the header "
                                f"declares shape {shape} ({expected} bytes of data), the file holds {found}")
        data = _read(stream, expected, path)
        if len(data) < expected:
            raise DataError(f"{path}: truncated: the header declares shape {shape} ({expected} bytes of data), "
                            f"the file holds {len(data)}")
        if _read(stream, 1, path):
            raise DataError(f"{path}: has trailing bytes after the {expected} bytes of data its header declares "
                            f"(shape {shape})")
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
