"""Seeded, stratified splits of a labelled data set into train / validate / test."""

from __future__ import annotations

import numpy as np

from .errors import DataError


def stratified_split(labels: np.ndarray, sizes: dict[str, int], seed: int) -> dict[str, np.ndarray]:
    """Split example indices so that each named part holds ``sizes[name]`` examples with
    the class proportions of the whole; the remainder is returned as "train".

    Each class contributes round(size · class share) examples to a part (largest
    remainders break ties so the totals are exact). The same labels, sizes and seed
    always give the same indices.
    """
    labels = np.asarray(labels)
    n = labels.shape[0]
    if sum(sizes.values()) >= n:
        raise DataError(f"cannot hold out {sum(sizes.values())} of {n} examples and keep any for training")
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    pools = {c: list(rng.permutation(np.flatnonzero(labels == c))) for c in classes}
    parts: dict[str, np.ndarray] = {}
    for name, size in sizes.items():
        share = size * counts / n
        take = np.floor(share).astype(int)
        for k in np.argsort(-(share - take), kind="stable")[: size - take.sum()]:
            take[k] += 1
        chosen = []
        for c, t in zip(classes, take):
            if t > len(pools[c]) - 1:
                raise DataError(
                    f"class {c!r} has too few examples ({counts[classes == c][0]}) for a stratified split "
                    f"with {size} held out as {name!r}"
                )
            chosen += pools[c][:t]
            pools[c] = pools[c][t:]
        parts[name] = np.sort(np.array(chosen, dtype=np.int64))
    parts["train"] = np.sort(np.concatenate([np.array(p, dtype=np.int64) for p in pools.values()]))
    return parts


def shorten(splits: dict[str, tuple[np.ndarray, np.ndarray]], train_limit: int | None, test_limit: int | None,
            keep_test: bool = False) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The first ``train_limit`` training and ``test_limit`` validation/test examples (quick runs)."""
    limits = {"train": train_limit, "validate": test_limit, "test": None if keep_test else test_limit}
    return {s: (X[: limits[s]], y[: limits[s]]) if limits.get(s) else (X, y) for s, (X, y) in splits.items()}


def hold_out(data: dict[str, tuple[np.ndarray, np.ndarray]], size: int, seed: int
             ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Train / validate / test from a data set's official train and test parts: ``size``
    training examples held out for validation (seeded, stratified); test as it is."""
    X, y = data["train"]
    idx = stratified_split(y, {"validate": size}, seed)
    return {"train": (X[idx["train"]], y[idx["train"]]), "validate": (X[idx["validate"]], y[idx["validate"]]),
            "test": data["test"]}


def stratified_folds(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """The fold (0..k−1) of each example for stratified k-fold cross-validation: each
    class is shuffled (seeded) and dealt round-robin, so every fold holds each class's
    share to within one example."""
    labels = np.asarray(labels)
    if k < 2:
        raise DataError(f"cross-validation needs at least 2 folds; got {k}")
    _, counts = np.unique(labels, return_counts=True)
    if counts.min() < k:
        raise DataError(f"a class has only {counts.min()} examples: too few for {k}-fold cross-validation")
    rng = np.random.default_rng(seed)
    fold = np.empty(len(labels), dtype=np.int64)
    offset = 0
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        fold[members] = (offset + np.arange(len(members))) % k
        offset += len(members)  # continue the deal where the last class stopped: folds stay even in size
    return fold
