"""Decoded data sets kept in the cache as plain ``.npy`` arrays, so that a run opens its
images without unpickling or inflating anything.

One entry per data set and source: ``<cache>/prepared/<name>-<key>/`` holds one ``.npy``
per array ({"train": (X, y), "test": (X, y)} → ``train.X.npy`` …). The key hashes the
source files' resolved paths, sizes and modification times (and this format's version),
so a changed or moved copy gets a new entry and the old one is removed. An entry is
written into a temporary folder and renamed into place, so a reader sees a whole entry
or none; one that does not read back as the data set's reader would return it (shapes,
dtypes, labels: ``check``) is rebuilt. A cache that cannot be written only costs time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from .discovery import cache_dir
from .errors import DataError
from .npy import read_npy

VERSION = 1
Splits = dict[str, tuple[np.ndarray, np.ndarray]]
#: the largest array an entry may hold (CIFAR-10's training images are 153.6 MB)
MAX_BYTES = 2**29


def image_splits_check(name: str, image_shape: tuple[int, ...], n_classes: int) -> Callable[[Splits], None]:
    """A ``check`` for splits of uint8 images of ``image_shape`` with int64 labels below
    ``n_classes``, as the image readers return them; it raises DataError otherwise."""

    def check(splits: Splits) -> None:
        for part, (X, y) in splits.items():
            if X.dtype != np.uint8 or X.shape[1:] != image_shape or y.dtype != np.int64 or \
                    y.shape != (len(X),) or (y.size and not 0 <= y.min() <= y.max() < n_classes):
                raise DataError(f"prepared {name} {part} split: {X.dtype} {X.shape}, labels {y.dtype} {y.shape}")

    return check


def key(sources: list[Path]) -> str:
    """16 hex digits naming the source files as they are now (path, size, mtime)."""
    facts = [VERSION]
    for p in sources:
        st = os.stat(p)
        facts.append([str(Path(p).resolve()), st.st_size, st.st_mtime_ns])
    return hashlib.sha256(json.dumps(facts).encode()).hexdigest()[:16]


def entry_files(splits: Splits) -> dict[str, np.ndarray]:
    return {f"{part}.{which}.npy": arr for part, (X, y) in splits.items() for which, arr in (("X", X), ("y", y))}


def read_entry(folder: Path, parts: tuple[str, ...]) -> Splits | None:
    """The entry's arrays, or None if it is absent or not whole."""
    try:
        return {part: (read_npy(folder / f"{part}.X.npy", "prepared data", MAX_BYTES),
                       read_npy(folder / f"{part}.y.npy", "prepared data", MAX_BYTES)) for part in parts}
    except DataError:
        return None


def write_entry(root: Path, name: str, splits: Splits) -> None:
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        for filename, arr in entry_files(splits).items():
            np.save(tmp / filename, np.ascontiguousarray(arr), allow_pickle=False)
        os.rename(tmp, root / name)  # atomic; fails if another process put its entry there first
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)


def is_entry(folder: Path, dataset: str) -> bool:
    """A folder this module named and filled (so one it may delete): nothing else inside."""
    return bool(re.fullmatch(re.escape(dataset) + r"-[0-9a-f]{16}", folder.name)) and not folder.is_symlink() \
        and folder.is_dir() and all(re.fullmatch(r"\w+\.[Xy]\.npy", f.name) for f in folder.iterdir())


def remove_stale(root: Path, dataset: str, keep: str) -> None:
    """Entries of this data set under other keys."""
    for folder in root.glob(f"{dataset}-*"):
        if folder.name != keep and is_entry(folder, dataset):
            shutil.rmtree(folder, ignore_errors=True)


def cached(dataset: str, sources: list[Path], build: Callable[[], Splits], check: Callable[[Splits], None]) -> Splits:
    """``build()`` (the data set decoded from ``sources``), read from the cache when an entry
    for these very files is there; ``check`` raises DataError on arrays that are not as
    ``build`` returns them."""
    root = cache_dir() / "prepared"
    try:
        name = f"{dataset}-{key(sources)}"
    except OSError:  # a source vanished since it was found: its reader says so
        return build()
    splits = read_entry(root / name, ("train", "test"))
    if splits is not None:
        try:
            check(splits)
            return splits
        except DataError:  # damaged: rebuilt below
            if is_entry(root / name, dataset):
                shutil.rmtree(root / name, ignore_errors=True)
    splits = build()
    try:
        write_entry(root, name, splits)
        remove_stale(root, dataset, keep=name)
    except OSError:
        pass
    return splits
