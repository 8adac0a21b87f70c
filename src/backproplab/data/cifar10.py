"""CIFAR-10 in its official Python format (``cifar-10-batches-py/``), read safely.

The batch files are pickles, and unpickling can call any importable function. We read
them with ``RestrictedUnpickler``, which resolves only the handful of names the format
needs (numpy's array reconstruction, ndarray, dtype, and latin-1 encoding of Python 2
strings) and refuses every other name with a clear error, before anything runs.

50,000 training images (``data_batch_1..5``) and 10,000 test images (``test_batch``),
each a row of 3,072 uint8 values: the 1,024 red, then green, then blue pixels of a
32 × 32 image. We return NHWC uint8 arrays (n, 32, 32, 3).
"""

from __future__ import annotations

import importlib
import io
import os
import pickle
import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from .discovery import DataSpec, cache_dir, find_data
from .download import fetch
from .errors import DataError
from .splits import stratified_split

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
FILES = TRAIN_FILES + ["test_batch", "batches.meta"]
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"  # published on the CIFAR-10 page
VALIDATION_SIZE = 5000

#: (module, name) pairs a CIFAR-10 pickle may reference, and where each really lives
ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "numpy.core.multiarray"),
    ("numpy._core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "numpy.core.multiarray"),
    ("numpy", "ndarray"): ("numpy",),
    ("numpy", "dtype"): ("numpy",),
    ("_codecs", "encode"): ("_codecs",),  # how Python 3 pickles bytes at protocol 2
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can build only numpy arrays and built-in containers/strings/ints."""

    def __init__(self, file, source: str) -> None:
        super().__init__(file, encoding="bytes")
        self.source = source

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED:
            raise DataError(
                f"{self.source}: refused to load {module}.{name} — a CIFAR-10 batch holds only numpy arrays, "
                "lists, strings and ints, so this file is not one (it may be crafted to run code)"
            )
        for where in ALLOWED[(module, name)]:  # numpy 2 moved numpy.core to numpy._core
            try:
                return getattr(importlib.import_module(where), name)
            except (ImportError, AttributeError):
                continue
        raise DataError(f"{self.source}: this numpy cannot rebuild {module}.{name}")


def load_pickle(path: Path) -> dict:
    """A batch file's dict, keys decoded to str; refuses anything the format does not hold."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    try:
        obj = RestrictedUnpickler(io.BytesIO(raw), str(path)).load()
    except DataError:
        raise
    except Exception as err:  # EOFError, UnpicklingError, ValueError … from a cut or damaged file
        raise DataError(f"{path}: truncated or corrupt batch file ({type(err).__name__}: {err}); "
                        "get the data again") from None
    if not isinstance(obj, dict):
        raise DataError(f"{path}: expected a dict, found {type(obj).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, 32, 32, 3) uint8 NHWC, labels (n,) int64) with shapes and ranges checked."""
    batch = load_pickle(path)
    for key in ("data", "labels"):
        if key not in batch:
            raise DataError(f"{path}: no {key!r} entry (found {sorted(batch)})")
    data, labels = batch["data"], batch["labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DataError(f"{path}: 'data' must be a uint8 array of shape (n, 3072); got "
                        f"{getattr(data, 'dtype', type(data).__name__)} {getattr(data, 'shape', '')}")
    if not isinstance(labels, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in labels):
        raise DataError(f"{path}: 'labels' must be a list of ints")
    y = np.array(labels, dtype=np.int64)
    if len(y) != len(data):
        raise DataError(f"{path}: {len(data)} images but {len(y)} labels")
    if len(y) and (y.min() < 0 or y.max() >= len(CLASSES)):
        raise DataError(f"{path}: labels must lie in 0..9; found {int(y.min())}..{int(y.max())}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), y


def check_meta(path: Path) -> None:
    names = load_pickle(path).get("label_names")
    names = [n.decode("latin1") if isinstance(n, bytes) else n for n in (names or [])]
    if names != CLASSES:
        raise DataError(f"{path}: class names {names} are not CIFAR-10's {CLASSES}")


def download(folder: Path) -> None:
    """Fetch the official tarball (checksum verified), extract it safely, rename into place."""
    cache = cache_dir()
    tarball = fetch(URL, cache / "cifar-10-python.tar.gz", MD5)
    tmp = Path(tempfile.mkdtemp(dir=cache, prefix=".cifar-extract-"))
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            for member in tar.getmembers():
                parts = Path(member.name).parts
                if member.name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()) \
                        or parts[0] != "cifar-10-batches-py":
                    raise DataError(f"{tarball}: refusing unexpected archive entry {member.name!r}")
            tar.extractall(tmp, filter="data")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp / "cifar-10-batches-py", folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


SPEC = DataSpec(
    folder="cifar-10-batches-py",
    files=FILES,
    how_to_get=("  - rerun with --download (fetches the official 163 MB tarball into the cache, checksum verified)\n"
                "  - or put cifar-10-batches-py/ in a folder and pass --data-dir FOLDER or set BACKPROPLAB_DATA=FOLDER\n"
                "  - in the backproplab workplace: .venv/bin/python ../shared/bin/cifar10-batches ~/.cache/backproplab"),
    download=download,
)


def load(data_dir=None, download: bool = False) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{"train": (X, y), "test": (X, y)} as NHWC uint8 from the first folder discovery finds."""
    folder = find_data(SPEC, data_dir, download)
    check_meta(folder / "batches.meta")
    parts = [read_batch(folder / f) for f in TRAIN_FILES]
    train = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    return {"train": train, "test": read_batch(folder / "test_batch")}


def split(data: dict, seed: int = 0, validation: int = VALIDATION_SIZE) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Hold ``validation`` training images out (seeded, stratified); test stays as it is."""
    X, y = data["train"]
    idx = stratified_split(y, {"validate": validation}, seed)
    return {"train": (X[idx["train"]], y[idx["train"]]), "validate": (X[idx["validate"]], y[idx["validate"]]),
            "test": data["test"]}


def read_image_array(path: str | Path) -> np.ndarray:
    """A homework-style test array (.npy, N × 3072 rows in CIFAR's channel-major order, or
    N × 32 × 32 × 3) → NHWC uint8. Loaded with allow_pickle=False."""
    path = Path(path)
    try:
        X = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"--predict-on {path}: file not found") from None
    except ValueError as err:
        raise DataError(f"--predict-on {path}: not a plain .npy array ({err})") from None
    if not isinstance(X, np.ndarray):
        raise DataError(f"--predict-on {path}: expected one .npy array, found an archive")
    if X.dtype != np.uint8:
        raise DataError(f"--predict-on {path}: expected uint8 pixels (0..255); got {X.dtype}")
    if X.ndim == 2 and X.shape[1] == 3072:
        return X.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    if X.ndim == 4 and X.shape[1:] == (32, 32, 3):
        return X
    raise DataError(f"--predict-on {path}: expected shape (N, 3072) or (N, 32, 32, 3); got {X.shape}")
