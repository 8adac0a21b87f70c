"""The in-memory data set of the homework's API: named splits standardised with
statistics of the training split only (``NeuralNetwork.train(dataset, epochs)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "validate", "test")


@dataclass
class Standardizer:
    """x ↦ (x − mean) / std with mean and std measured on the training split.

    ``per_feature`` statistics suit tabular data; images use one mean and std over all
    pixels. A feature constant in training gets std 1 (it is only centred).
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray, per_feature: bool = True) -> "Standardizer":
        if X.dtype == np.uint8 and X.ndim == 2 and len(X):  # images: counted, not summed in floats
            mean, std = uint8_moments(X if per_feature else X.reshape(-1, 1))
            if not per_feature:
                mean, std = np.array(mean[0]), np.array(std[0])
        elif per_feature:
            mean, std = X.mean(axis=0, dtype=np.float64), X.std(axis=0, dtype=np.float64)
        else:
            mean, std = np.array(X.mean(dtype=np.float64)), np.array(X.std(dtype=np.float64))
        return cls(mean, np.where(std > 0, std, 1.0))

    def __call__(self, X: np.ndarray, dtype=np.float32) -> np.ndarray:
        if X.dtype == np.uint8 and X.ndim == 2 and self.mean.ndim <= 1:
            # each feature's 256 possible values standardised once, then looked up: the
            # same numbers as the formula below, without a float64 copy of X
            table = ((np.arange(256)[:, None] - self.mean) / self.std).astype(dtype)  # (256, F or 1)
            return table[X, np.arange(X.shape[1]) if table.shape[1] > 1 else 0]
        return ((X - self.mean) / self.std).astype(dtype)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"data.mean": self.mean, "data.std": self.std}

    @classmethod
    def from_arrays(cls, arrays) -> "Standardizer":
        return cls(np.asarray(arrays["data.mean"]), np.asarray(arrays["data.std"]))


def uint8_moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each column of uint8 X (n, F), from each column's
    count of every value: exact sums in integers, one rounding each (``X.std`` would sum
    n·F float64 squares)."""
    n = len(X)
    values = np.arange(256, dtype=object)
    mean, std = np.empty(X.shape[1]), np.empty(X.shape[1])
    for j in range(X.shape[1]):
        counts = np.bincount(np.ascontiguousarray(X[:, j]), minlength=256).astype(object)
        s, q = int((counts * values).sum()), int((counts * values * values).sum())
        mean[j], std[j] = s / n, ((n * q - s * s) / (n * n)) ** 0.5
    return mean, std


class Dataset:
    """The homework's data set: named splits of (X, integer labels), X standardised with
    the training split's statistics, and the batch size to train with.

    "train" is required; "validate" and "test" are used when present.
    """

    def __init__(self, splits: dict[str, tuple[np.ndarray, np.ndarray]], n_classes: int, batch_size: int,
                 per_feature: bool = True, dtype=np.float32) -> None:
        if not (isinstance(batch_size, int) and batch_size >= 1):
            raise ValueError(f"batch size must be a positive integer; got {batch_size!r}")
        if "train" not in splits:
            raise ValueError(f"a Dataset needs a 'train' split; got {sorted(splits)}")
        unknown = set(splits) - set(SPLITS)
        if unknown:
            raise ValueError(f"unknown split names {sorted(unknown)}; use {SPLITS}")
        for name, (X, y) in splits.items():
            if len(X) != len(y):
                raise ValueError(f"{name} split: {len(X)} examples but {len(y)} labels")
            if len(y) and (y.min() < 0 or y.max() >= n_classes):
                raise ValueError(f"{name} split: labels must lie in 0..{n_classes - 1}")
            if not np.all(np.isfinite(X)):
                raise ValueError(f"{name} split: the features contain NaN or inf")
        self.n_classes = n_classes
        self.batch_size = batch_size
        self.standardizer = Standardizer.fit(splits["train"][0], per_feature=per_feature)
        self._X = {s: self.standardizer(X, dtype) for s, (X, _) in splits.items()}
        self._y = {s: np.asarray(y, dtype=np.int64) for s, (_, y) in splits.items()}

    def has(self, name: str) -> bool:
        return name in self._y

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(standardised X, integer labels) of one split."""
        if name not in self._y:
            raise KeyError(f"this Dataset has no {name!r} split; it has {sorted(self._y)}")
        return self._X[name], self._y[name]
