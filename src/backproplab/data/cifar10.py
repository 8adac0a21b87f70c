"""CIFAR-10 in its official Python format (``cifar-10-batches-py/``), read safely.

The batch files are pickles, and unpickling can call any importable function. We read
them with ``safe_pickle``, which builds only numpy arrays, lists, strings and ints,
refuses every other name with a clear error before anything runs, and never lets a
small file become a large array.

50,000 training images (``data_batch_1..5``) and 10,000 test images (``test_batch``),
each a row of 3,072 uint8 values: the 1,024 red, then green, then blue pixels of a
32 × 32 image. We return NHWC uint8 arrays (n, 32, 32, 3).
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from .discovery import DataSpec, cache_dir, find_data
from . import prepared, safe_pickle
from .download import fetch
from .errors import DataError
from .npy import read_npy

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
FILES = TRAIN_FILES + ["test_batch", "batches.meta"]
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"  # published on the CIFAR-10 page
SIZE = 170498071  # bytes of that tarball


def load_pickle(path: Path) -> dict:
    """A batch file's dict, keys decoded to str (``safe_pickle``: no code, bounded memory)."""
    obj = safe_pickle.load(path)
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
    if not isinstance(labels, list) or not all(type(v) is int for v in labels):
        raise DataError(f"{path}: 'labels' must be a list of ints")
    bad = next((v for v in labels if not 0 <= v < len(CLASSES)), None)
    if bad is not None:
        raise DataError(f"{path}: labels must lie in 0..9; found {bad}")
    y = np.array(labels, dtype=np.int64)
    if len(y) != len(data):
        raise DataError(f"{path}: {len(data)} images but {len(y)} labels")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), y


def check_meta(path: Path) -> None:
    names = load_pickle(path).get("label_names")
    names = [n.decode("latin1") if isinstance(n, bytes) else n for n in names] if isinstance(names, list) else names
    if names != CLASSES:
        raise DataError(f"{path}: class names {names} are not CIFAR-10's {CLASSES}")


def download(folder: Path) -> None:
    """Fetch the official tarball (size and checksum verified), extract it safely, and move
    its files into ``folder`` (other files there are left alone)."""
    cache = cache_dir()
    tarball = fetch(URL, cache / "cifar-10-python.tar.gz", MD5, SIZE)
    tmp = Path(tempfile.mkdtemp(dir=cache, prefix=".cifar-extract-"))
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            for member in tar.getmembers():
                parts = Path(member.name).parts
                if member.name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()) \
                        or parts[0] != "cifar-10-batches-py" or member.size > safe_pickle.MAX_PICKLE_BYTES:
                    raise DataError(f"{tarball}: refusing unexpected archive entry {member.name!r}")
            tar.extractall(tmp, filter="data")
        folder.mkdir(parents=True, exist_ok=True)
        for item in (tmp / "cifar-10-batches-py").iterdir():
            os.replace(item, folder / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # our own temporary folder


SPEC = DataSpec(
    folder="cifar-10-batches-py",
    files=FILES,
    fetch="backproplab download cifar (the official 163 MB tarball, checksum verified, into the cache)",
    local="put cifar-10-batches-py/ in a folder FOLDER",
    download=download,
)


def fetch_to_cache() -> Path:
    """`backproplab download cifar`: the data set in the cache (found there, or downloaded)."""
    folder = cache_dir() / SPEC.folder
    if not all((folder / f).is_file() for f in FILES):
        download(folder)
    return folder


def load(data_dir=None, download: bool = False) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{"train": (X, y), "test": (X, y)} as NHWC uint8 from the first folder discovery finds."""
    folder = find_data(SPEC, data_dir, download)
    return prepared.cached("cifar10", [folder / f for f in FILES], lambda: read_folder(folder),
                           prepared.image_splits_check("CIFAR-10", (32, 32, 3), len(CLASSES)))


def read_folder(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    check_meta(folder / "batches.meta")
    parts = [read_batch(folder / f) for f in TRAIN_FILES]
    train = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    return {"train": train, "test": read_batch(folder / "test_batch")}


def read_image_array(path: str | Path) -> np.ndarray:
    """A homework-style test array (.npy, N × 3072 rows in CIFAR's channel-major order, or
    N × 32 × 32 × 3) → NHWC uint8; read with bounded memory and no pickles (``npy``)."""
    X = read_npy(path, "--predict-on")
    if X.dtype != np.uint8:
        raise DataError(f"--predict-on {path}: expected uint8 pixels (0..255); got {X.dtype}")
    if X.ndim == 2 and X.shape[1] == 3072:
        X = X.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    elif not (X.ndim == 4 and X.shape[1:] == (32, 32, 3)):
        raise DataError(f"--predict-on {path}: expected shape (N, 3072) or (N, 32, 32, 3); got {X.shape}")
    if len(X) == 0:
        raise DataError(f"--predict-on {path}: holds no images (shape {X.shape}); give at least one")
    return np.ascontiguousarray(X)
