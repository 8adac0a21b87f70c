"""The in-memory data set the NumPy model trains on: three splits, standardised with
statistics of the training split only, served as shuffled mini-batches.

Labels are integers outside (``split(name)`` returns them so) and one-hot inside
(``batches`` yields one-hot targets for the loss).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

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
        if per_feature:
            mean, std = X.mean(axis=0, dtype=np.float64), X.std(axis=0, dtype=np.float64)
        else:
            mean, std = np.array(X.mean(dtype=np.float64)), np.array(X.std(dtype=np.float64))
        return cls(mean, np.where(std > 0, std, 1.0))

    def __call__(self, X: np.ndarray, dtype=np.float32) -> np.ndarray:
        return ((X - self.mean) / self.std).astype(dtype)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"data.mean": self.mean, "data.std": self.std}

    @classmethod
    def from_arrays(cls, arrays) -> "Standardizer":
        return cls(np.asarray(arrays["data.mean"]), np.asarray(arrays["data.std"]))


class Dataset:
    """Train / validate / test splits with mini-batches.

    X arrays are (n, …) features, y arrays (n,) integer labels in 0..n_classes−1.
    """

    def __init__(
        self,
        splits: dict[str, tuple[np.ndarray, np.ndarray]],
        n_classes: int,
        batch_size: int,
        class_names: list[str] | None = None,
        per_feature: bool = True,
        dtype=np.float32,
        augment=None,
    ) -> None:
        if not (isinstance(batch_size, int) and batch_size >= 1):
            raise ValueError(f"batch size must be a positive integer; got {batch_size!r}")
        missing = [s for s in SPLITS if s not in splits]
        if missing:
            raise ValueError(f"a Dataset needs the splits {SPLITS}; missing {missing}")
        for name, (X, y) in splits.items():
            if len(X) != len(y):
                raise ValueError(f"{name} split: {len(X)} examples but {len(y)} labels")
            if len(y) and (y.min() < 0 or y.max() >= n_classes):
                raise ValueError(f"{name} split: labels must lie in 0..{n_classes - 1}")
            if not np.all(np.isfinite(X)):
                raise ValueError(f"{name} split: the features contain NaN or inf")
        self.n_classes = n_classes
        self.batch_size = batch_size
        self.class_names = class_names or [str(c) for c in range(n_classes)]
        self.dtype = dtype
        #: an optional callable (X_batch, rng) -> X_batch applied to training batches only
        self.augment = augment
        self.standardizer = Standardizer.fit(splits["train"][0], per_feature=per_feature)
        self._X = {s: self.standardizer(splits[s][0], dtype) for s in SPLITS}
        self._y = {s: np.asarray(splits[s][1], dtype=np.int64) for s in SPLITS}
        self._eye = np.eye(n_classes, dtype=dtype)

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(standardised X, integer labels) of one split."""
        return self._X[name], self._y[name]

    def size(self, name: str) -> int:
        return len(self._y[name])

    def n_batches(self, name: str) -> int:
        return -(-self.size(name) // self.batch_size)

    def batches(self, name: str = "train", rng: np.random.Generator | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Mini-batches (X, Y one-hot); reshuffled on every call when ``rng`` is given."""
        X, y = self._X[name], self._y[name]
        order = rng.permutation(len(y)) if rng is not None else np.arange(len(y))
        for start in range(0, len(y), self.batch_size):
            idx = order[start : start + self.batch_size]
            Xb = X[idx]
            if self.augment is not None and name == "train" and rng is not None:
                Xb = self.augment(Xb, rng)
            yield Xb, self._eye[y[idx]]
