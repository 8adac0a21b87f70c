"""The IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed.

Layout (big-endian): two zero bytes, a dtype code, the number of dimensions d, then d
unsigned 32-bit sizes, then the data in C order. Every field is checked, and a file
that is shorter or longer than its header says is refused with the numbers.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from .errors import DataError

DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped if it starts with the gzip magic number."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path}: corrupt or truncated gzip file ({err}); download it again") from None


def read_idx(path: str | Path) -> np.ndarray:
    """Return the array an IDX file holds (native byte order)."""
    path = Path(path)
    data = read_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    if data[0] != 0 or data[1] != 0:
        raise DataError(f"{path}: not an IDX file (magic number starts {data[:2].hex()}, expected 0000)")
    code, ndim = data[2], data[3]
    if code not in DTYPES:
        raise DataError(f"{path}: unknown IDX dtype code 0x{code:02x}; expected one of "
                        f"{', '.join(f'0x{c:02x}' for c in DTYPES)}")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header ({len(data)} bytes, need {header})")
    shape = tuple(int(v) for v in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(DTYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found != expected:
        problem = "truncated" if found < expected else "has trailing bytes"
        raise DataError(f"{path}: {problem}: the header declares shape {shape} ({expected} bytes of data), "
                        f"the file holds {found}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))
