"""The test suite's shared helpers: small data sets written in the official formats
(Fashion-MNIST's IDX files, CIFAR-10's pickled batches) and array comparison. The pytest
fixtures themselves are in conftest.py."""

import gzip
import pickle
from pathlib import Path

import numpy as np

from backproplab.data.cifar10 import CLASSES, TRAIN_FILES


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_fashion(folder: Path, n_train=20, n_test=10, gz=True, labels=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = np.arange(n, dtype=np.uint8) % 10 if labels is None else labels
        for kind, arr in (("images-idx3", images), ("labels-idx1", y)):
            data = idx_bytes(arr)
            (folder / f"{prefix}-{kind}-ubyte.gz").write_bytes(gzip.compress(data) if gz else data)
    return folder


def write_batch(path: Path, n: int, seed: int, labels=None, data=None) -> None:
    rng = np.random.default_rng(seed)
    batch = {
        b"batch_label": b"test batch",
        b"labels": list(rng.integers(0, 10, n).tolist()) if labels is None else labels,
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8) if data is None else data,
        b"filenames": [f"img{i}.png".encode() for i in range(n)],
    }
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=2)


def write_cifar(root: Path, n_per_batch: int = 40, n_test: int = 40) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(TRAIN_FILES):
        write_batch(folder / name, n_per_batch, seed=i)
    write_batch(folder / "test_batch", n_test, seed=99)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [c.encode() for c in CLASSES], b"num_cases_per_batch": n_per_batch,
                     b"num_vis": 3072}, f, protocol=2)
    return folder
