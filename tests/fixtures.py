"""The test suite's shared helpers: small data sets written in the official formats
(Fashion-MNIST's IDX files, CIFAR-10's pickled batches) and array comparison. The pytest
fixtures themselves are in conftest.py."""

import gzip
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np

from backproplab.data.cifar10 import CLASSES, TRAIN_FILES
from backproplab.runs import plots
from backproplab.runs.files import write_csv, write_json
from backproplab.runs.folder import MARKER
from backproplab.runs.log import COLUMNS


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


def fake_run(folder: Path, pipeline: str, summary: dict, config: dict | None = None, epochs: int = 3) -> None:
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("{}")
    rows = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "train_accuracy": 0.8 + e / 100,
             "val_accuracy": 0.8 + e / 110, "train_error": 0.2 - e / 100, "val_error": 0.2 - e / 110, "lr": 0.1,
             "seconds": 1.0, "eval_seconds": 0.1} for e in range(1, epochs + 1)]
    write_csv(folder / "metrics.csv", rows, COLUMNS)
    write_json(folder / "config.json", {"pipeline": pipeline, "hidden": [512, 512], "dropout": 0.3, "lr": 0.2,
                                        "batch_size": 256, "epochs": epochs, "optimizer": "sgd", **(config or {})})
    write_json(folder / "summary.json", {"pipeline": pipeline, "epochs": epochs, "wall_seconds": 100.0,
                                         "train_seconds": 90.0, "device": "cpu", "parameters": 1234,
                                         "final_val_accuracy": rows[-1]["val_accuracy"], **summary})
    plots.save(plots.curves_figure(rows, "loss", "loss"), folder / "loss.png")
    plots.save(plots.curves_figure(rows, "accuracy", "accuracy"), folder / "accuracy.png")


def wheel_in_fresh_venv(tmp: Path) -> Path:
    """Build this project's wheel and install it alone (no dependencies) in a fresh venv under
    ``tmp``; returns that venv's python. The dependencies come from PYTHONPATH when it runs."""
    root = Path(__file__).resolve().parents[1]
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                            str(tmp / "dist"), str(root)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("backproplab-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(tmp / "fresh")], check=True)
    python = tmp / "fresh" / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    return python
