"""Reading the pickles of CIFAR-10's Python format without running code or exhausting memory.

Unpickling can call any importable function, so ``load`` resolves only the four names a
numpy pickle of protocol 2 uses, and each through a guard rather than the real thing:

| name in the pickle              | what it gets                                            |
|---------------------------------|---------------------------------------------------------|
| ``_codecs.encode``              | latin-1 encoding only (how Python 3 pickles bytes); any |
|                                 | other codec (zlib, base64, …) could inflate data        |
| ``numpy…multiarray._reconstruct`` | an empty array, only for the exact arguments numpy    |
|                                 | writes (``ndarray, (0,), b"b"``)                        |
| ``numpy.ndarray``               | a token for ``_reconstruct``; calling it is refused     |
|                                 | (``ndarray(shape)`` allocates any size)                 |
| ``numpy.dtype``                 | plain numeric dtypes only                               |

The array's contents arrive in ``__setstate__``; ours checks, before numpy allocates,
that the shape's size times the item size equals the bytes in the file that back it,
so a small file can never become a large array. Files over ``MAX_PICKLE_BYTES`` are
refused before they are read. Every refusal is a DataError naming the file.
"""

from __future__ import annotations

import io
import math
import pickle
from pathlib import Path

import numpy as np

from ..bounded import read_bounded
from .errors import DataError

#: the largest batch file read (a CIFAR-10 batch has 30.7 MB)
MAX_PICKLE_BYTES = 64 * 2**20
NUMERIC_KINDS = "biuf"


class _NdarrayToken:
    """Stands for numpy.ndarray inside a pickle: fine as _reconstruct's argument, refused as a call."""

    def __call__(self, *args, **kwargs):
        raise DataError("the pickle calls numpy.ndarray(...) directly, which no CIFAR-10 batch does")


_NDARRAY = _NdarrayToken()


class _CheckedArray(np.ndarray):
    """An empty array whose ``__setstate__`` refuses contents that the pickle's bytes do not back."""

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5):
            raise DataError("an array's state is not numpy's (version, shape, dtype, order, bytes)")
        _, shape, dtype, _, raw = state
        if not (isinstance(shape, tuple) and len(shape) <= 8 and all(type(n) is int and n >= 0 for n in shape)):
            raise DataError(f"an array's shape {shape!r} is not a tuple of at most 8 sizes")
        if not isinstance(dtype, np.dtype) or dtype.kind not in NUMERIC_KINDS or dtype.shape or dtype.fields:
            raise DataError(f"an array's dtype {dtype!r} is not a plain numeric type")
        if not isinstance(raw, bytes) or math.prod(shape) * dtype.itemsize != len(raw):
            raise DataError(f"an array of shape {shape} ({dtype}) is backed by {len(raw) if isinstance(raw, bytes) else 0}"
                            " bytes, not the size it claims")
        super().__setstate__(state)


def _reconstruct(cls, shape, typecode):
    if cls is not _NDARRAY or shape != (0,) or typecode != b"b":
        raise DataError(f"_reconstruct({cls!r}, {shape!r}, {typecode!r}) is not how numpy pickles an array")
    return _CheckedArray((0,), dtype=np.uint8)


def _encode(text, encoding="utf-8"):
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise DataError(f"the pickle asks for the codec {encoding!r}; a CIFAR-10 batch uses latin1 only")
    return text.encode("latin1")


def _dtype(spec, align=False, copy=False):
    if not isinstance(spec, str) or len(spec) > 4:
        raise DataError(f"the pickle asks for the dtype {spec!r}")
    dtype = np.dtype(spec)
    if dtype.kind not in NUMERIC_KINDS:
        raise DataError(f"the pickle asks for the dtype {spec!r}; only plain numbers are allowed")
    return dtype


SAFE = {
    ("_codecs", "encode"): _encode,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _dtype,
}


class RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, source: str) -> None:
        super().__init__(file, encoding="bytes")
        self.source = source

    def find_class(self, module: str, name: str):
        if (module, name) not in SAFE:
            raise DataError(f"{self.source}: refused to load {module}.{name} — a CIFAR-10 batch holds only numpy "
                            "arrays, lists, strings and ints, so this file is not one (it may be crafted to run code)")
        return SAFE[(module, name)]


def _plain(obj):
    """The unpickled object with our guarded arrays turned back into plain ndarrays."""
    if isinstance(obj, _CheckedArray):
        return obj.view(np.ndarray)
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


def load(path: Path) -> object:
    """The object a pickle file holds, read under the rules above."""
    raw = read_bounded(path, MAX_PICKLE_BYTES, DataError, "batch file")
    try:
        return _plain(RestrictedUnpickler(io.BytesIO(raw), str(path)).load())
    except DataError as err:
        raise DataError(f"{path}: {err}" if not str(err).startswith(str(path)) else str(err)) from None
    except RecursionError:
        raise DataError(f"{path}: nested too deeply to be a CIFAR-10 batch") from None
    except MemoryError:
        raise DataError(f"{path}: asks for more memory than a CIFAR-10 batch needs") from None
    except Exception as err:  # EOFError, UnpicklingError, ValueError … from a cut or damaged file
        raise DataError(f"{path}: truncated or corrupt batch file ({type(err).__name__}: {err}); "
                        "get the data again") from None
