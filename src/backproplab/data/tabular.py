"""Tabular data from CSV: the Iris data set that ships with the package, and the user's own.

A CSV has a header row, numeric feature columns and one label column (the last
unless named). Labels may be strings or integers; classes are numbered in sorted order.
"""

from __future__ import annotations

import csv
import io
import math
from importlib import resources
from pathlib import Path

import numpy as np

from ..bounded import read_bounded
from .errors import DataError
from .splits import stratified_split


#: the largest CSV read (a table of this size is far beyond what the two-layer network is for)
MAX_CSV_BYTES = 64 * 2**20
#: the most classes a CSV may have: the confusion matrix and its picture grow as its square
MAX_CLASSES = 100


def read_rows(path: Path) -> list[list[str]]:
    """The CSV's non-empty rows, at most ``MAX_CSV_BYTES`` of UTF-8 text read."""
    raw = read_bounded(path, MAX_CSV_BYTES, DataError, "CSV file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text CSV file") from None
    if "\0" in text:
        raise DataError(f"{path}: holds NUL bytes; not a text CSV file")
    try:
        return [r for r in csv.reader(io.StringIO(text, newline="")) if any(cell.strip() for cell in r)]
    except csv.Error as err:
        raise DataError(f"{path}: not a readable CSV ({err})") from None


def read_csv(path: str | Path, label_column: str | None = None) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Return (X (n, d) float64, y (n,) int64, class_names, feature_names)."""
    path = Path(path)
    rows = read_rows(path)
    if len(rows) < 2:
        raise DataError(f"{path}: needs a header row and at least one data row; found {len(rows)} row(s)")
    header, body = [h.strip() for h in rows[0]], rows[1:]
    if len(header) < 2:
        raise DataError(f"{path}: needs at least one feature column and a label column; header is {header}")
    label_idx = len(header) - 1
    if label_column is not None:
        if label_column not in header:
            raise DataError(f"{path}: no column named {label_column!r}; columns are {header}")
        label_idx = header.index(label_column)
    feature_idx = [i for i in range(len(header)) if i != label_idx]
    X = np.empty((len(body), len(feature_idx)))
    labels = []
    for r, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataError(f"{path}, line {r}: {len(row)} fields but the header has {len(header)}")
        for k, i in enumerate(feature_idx):
            cell = row[i].strip()
            if cell == "" or cell.lower() in ("na", "nan", "null", "none", "?"):
                raise DataError(f"{path}, line {r}, column {header[i]!r}: missing value; fill or drop the row")
            try:
                X[r - 2, k] = float(cell)
            except ValueError:
                raise DataError(
                    f"{path}, line {r}, column {header[i]!r}: {cell!r} is not a number; features must be numeric"
                ) from None
            if not math.isfinite(X[r - 2, k]):
                raise DataError(f"{path}, line {r}, column {header[i]!r}: {cell!r} is not finite")
        label = row[label_idx].strip()
        if label == "":
            raise DataError(f"{path}, line {r}: missing label in column {header[label_idx]!r}")
        labels.append(label)
    names = sorted(set(labels), key=lambda s: (0, int(s)) if s.lstrip("-").isdigit() else (1, s))
    if len(names) < 2:
        raise DataError(f"{path}: the label column {header[label_idx]!r} has a single class {names}; need two or more")
    if len(names) > MAX_CLASSES:
        raise DataError(f"{path}: the label column {header[label_idx]!r} has {len(names):,} classes; backproplab "
                        f"takes at most {MAX_CLASSES} (is it the label? name the label column with --label-column)")
    index = {name: k for k, name in enumerate(names)}
    y = np.array([index[label] for label in labels], dtype=np.int64)
    return X, y, names, [header[i] for i in feature_idx]


def iris_path() -> Path:
    return Path(str(resources.files("backproplab.data").joinpath("iris.csv")))


def split_tabular(X: np.ndarray, y: np.ndarray, seed: int = 0, val_fraction: float = 0.1,
                  test_fraction: float = 0.2) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Stratified train / validate / test split; Iris (150 rows) gives 105 / 15 / 30."""
    n = len(y)
    sizes = {"validate": round(val_fraction * n), "test": round(test_fraction * n)}
    if min(sizes.values()) < 1:
        raise DataError(f"{n} rows are too few to split into train, validation and test sets")
    try:
        idx = stratified_split(y, sizes, seed)
    except ValueError as err:
        raise DataError(str(err)) from None
    return {name: (X[i], y[i]) for name, i in idx.items()}
