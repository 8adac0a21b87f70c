"""Reading a user's ``.npy`` array with bounded memory and no pickles.

The header (shape, dtype, order) is read and checked first: the data it announces must
be at most ``MAX_NPY_BYTES`` and exactly what the file holds after the header, so a
header claiming 10⁹ rows is refused before anything is allocated.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ..bounded import open_regular
from .errors import DataError

#: the largest array a user may hand us (10,000 CIFAR images are 30.7 MB)
MAX_NPY_BYTES = 2**30


def read_npy(path: str | Path, what: str, max_bytes: int = MAX_NPY_BYTES) -> np.ndarray:
    path = Path(path)
    with open_regular(path, DataError, f"{what} (.npy file)") as f:
        try:
            version = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            header = read_header(f, max_header_size=10000)
        except Exception as err:  # numpy's header parser raises many kinds on a damaged header
            raise DataError(f"{what} {path}: not a plain .npy array ({type(err).__name__}: {err})") from None
        shape, fortran, dtype = header
        if any(not isinstance(n, int) or n < 0 for n in shape):
            raise DataError(f"{what} {path}: its header announces shape {shape}; a dimension cannot be negative")
        if dtype.hasobject:
            raise DataError(f"{what} {path}: holds Python objects; only plain numbers are read (no pickles)")
        expected = math.prod(shape) * dtype.itemsize
        if expected > max_bytes:
            raise DataError(f"{what} {path}: its header announces {expected:,} bytes of data, more than the "
                            f"{max_bytes:,} allowed")
        found = os.fstat(f.fileno()).st_size - f.tell()
        if found != expected:
            raise DataError(f"{what} {path}: the header announces shape {shape} ({expected:,} bytes), the file "
                            f"holds {found:,} bytes of data")
        buffer = np.empty(expected, dtype=np.uint8)  # the bytes read straight into a writable array
        view, done = memoryview(buffer), 0
        while done < expected:
            n = f.readinto(view[done:])
            if not n:
                raise DataError(f"{what} {path}: the file ended after {done:,} of {expected:,} bytes of data")
            done += n
    array = buffer.view(dtype)
    return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)
