"""Fashion-MNIST: the four official IDX files, found or fetched, checked and split.

60,000 training and 10,000 test images of 28 × 28 grayscale pixels, 10 classes. We hold
5,000 of the training images out for validation (seeded, stratified); the 10,000 test
images are only ever used for the final numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .discovery import DataSpec, cache_dir, find_data
from .download import fetch
from .errors import DataError
from .idx import read_idx
from . import prepared

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
URL = "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"
# The MD5 sums published with the data set (zalandoresearch/fashion-mnist, README), and sizes in bytes.
FILES = {
    "train-images-idx3-ubyte.gz": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", 26421880),
    "train-labels-idx1-ubyte.gz": ("25c81989df183df01b3e8a0aad5dffbe", 29515),
    "t10k-images-idx3-ubyte.gz": ("bef4ecab320f06d8554ea6380940ec79", 4422102),
    "t10k-labels-idx1-ubyte.gz": ("bb300cfdad3c16e7a12a480ee83cd310", 5148),
}


def download(folder: Path) -> None:
    for name, (md5, size) in FILES.items():
        fetch(URL + name, folder / name, md5, size)


SPEC = DataSpec(
    folder="fashion-mnist",
    files=list(FILES),
    fetch="backproplab download fashion (the official 30 MB, checksums verified, into the cache)",
    local="put the four .gz files in a folder FOLDER",
    system_dirs=["/usr/share/datasets/fashion-mnist"],
    system_advice=["on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist"],
    download=download,
)


def fetch_to_cache() -> Path:
    """`backproplab download fashion`: the data set in the cache (found there, or downloaded)."""
    folder = cache_dir() / SPEC.folder
    download(folder)
    return folder


def read_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, 28, 28) uint8, labels (n,) int64), with every property checked."""
    X, y = read_idx(images_path), read_idx(labels_path)
    if X.ndim != 3 or X.shape[1:] != (28, 28) or X.dtype != np.uint8:
        raise DataError(f"{images_path}: expected uint8 images of shape (n, 28, 28); got {X.dtype} {X.shape}")
    if y.ndim != 1 or y.dtype != np.uint8:
        raise DataError(f"{labels_path}: expected a 1-D uint8 label array; got {y.dtype} {y.shape}")
    if len(X) != len(y):
        raise DataError(f"{images_path.name} holds {len(X)} images but {labels_path.name} holds {len(y)} labels")
    if y.size and y.max() >= len(CLASSES):
        raise DataError(f"{labels_path}: label {int(y.max())} is out of range 0..{len(CLASSES) - 1}")
    return X, y.astype(np.int64)


def load(data_dir=None, download: bool = False) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{"train": (X, y), "test": (X, y)} from the first folder discovery finds."""
    folder = find_data(SPEC, data_dir, download)
    return prepared.cached("fashion-mnist", [folder / f for f in SPEC.files], lambda: read_folder(folder),
                           prepared.image_splits_check("Fashion-MNIST", (28, 28), len(CLASSES)))


def read_folder(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {
        "train": read_pair(folder / "train-images-idx3-ubyte.gz", folder / "train-labels-idx1-ubyte.gz"),
        "test": read_pair(folder / "t10k-images-idx3-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz"),
    }

