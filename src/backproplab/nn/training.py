"""Training a ``NeuralNetwork`` on arrays: the NumPy engine's one training loop.

``train_epoch`` is one pass of mini-batch gradient descent, written as the homework
describes it:

    for each mini-batch (X_b, Y_b) of a shuffled epoch:
        Ŷ = model.forward(X_b)            forward pass, every layer in turn
        L = model.backward(Y_b, Ŷ)        ∂L/∂θ for every parameter θ
        model.update(t)                   θ ← optimizer step at time t = epoch + b / batches

``evaluate`` scores a split in evaluation mode. ``NeuralNetwork.fit`` (the array API)
and the pipelines' trainer (``backproplab.engines.numpy_engine``) both call these two, so
every NumPy run trains the same way.

Mini-batches: the shuffled examples are cut into ``batch_size`` pieces; a last piece of
a single example is merged into the one before it (batch normalisation needs two
examples per feature, and one example would be a needlessly noisy step).
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from .losses import CrossEntropy, one_hot


def batch_slices(n: int, batch_size: int) -> list[slice]:
    """The mini-batches of n examples: ``batch_size`` each, a last batch of one merged."""
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    return [slice(s, e) for s, e in zip(starts, starts[1:] + [n])]


def check_arrays(X: np.ndarray, labels: np.ndarray, n_classes: int | None = None, what: str = "X") -> None:
    """Raise ValueError unless X is a finite float array with one integer label per example."""
    if not isinstance(X, np.ndarray) or not np.issubdtype(X.dtype, np.floating):
        raise ValueError(f"{what} must be a floating-point numpy array (e.g. X.astype(np.float32)); "
                         f"got {getattr(X, 'dtype', type(X).__name__)}")
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(X) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{what}: expected one integer label per example ({len(X)}); got labels of dtype "
                         f"{labels.dtype} and shape {labels.shape}")
    if len(X) < 1:
        raise ValueError(f"{what} holds no examples")
    if n_classes is not None and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{what}: labels must lie in 0..{n_classes - 1}; found {labels.min()}..{labels.max()}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{what} contains NaN or inf")


def mix(X: np.ndarray, Y: np.ndarray, alpha: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Mixup: the batch blended with a shuffled copy of itself, inputs and targets alike,
    X' = λ X + (1 − λ) X[π], Y' = λ Y + (1 − λ) Y[π], with λ ~ Beta(α, α) per batch."""
    lam = X.dtype.type(rng.beta(alpha, alpha))
    perm = rng.permutation(len(X))
    return lam * X + (1 - lam) * X[perm], lam * Y + (1 - lam) * Y[perm]


def train_epoch(model, X: np.ndarray, labels: np.ndarray, batch_size: int, rng: np.random.Generator,
                epoch: int, on_batch: Callable[[float], None] | None = None,
                augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
                mixup: float = 0.0) -> dict:
    """One shuffled pass over (X, labels); returns {"train_loss", "train_accuracy", "lr"}.

    The loss and accuracy are the means over the epoch's batches as they were seen (in
    training mode, while the weights moved; with mixup the accuracy is against each
    batch's original labels). ``augment(X_b, rng)`` transforms each training batch and
    ``mixup`` > 0 blends it (``mix``), both drawing from the model's noise stream. A
    non-finite output stops the epoch with FloatingPointError naming the epoch and step.
    """
    model.set_training(True)
    order = rng.permutation(len(labels))
    slices = batch_slices(len(labels), batch_size)
    losses, correct, seen = [], 0, 0
    for b, piece in enumerate(slices):
        idx = order[piece]
        X_b, y_b = X[idx], labels[idx]
        if augment is not None:
            X_b = augment(X_b, model.noise_rng)
        Y_b = one_hot(y_b, model.n_classes, dtype=X_b.dtype)  # (m, k)
        if mixup:
            X_b, Y_b = mix(X_b, Y_b, mixup, model.noise_rng)
        Y_hat = model.forward(X_b)  # (m, k)
        if not np.all(np.isfinite(Y_hat)):
            raise FloatingPointError(
                f"epoch {epoch + 1}, step {b + 1}: the network's output is not finite; training diverged "
                "(lower the learning rate, or set clip_norm)")
        L = model.backward(Y_b, Y_hat)
        model.update(epoch + b / len(slices))
        losses.append(L * len(idx))
        correct += int(np.sum(Y_hat.argmax(axis=1) == y_b))
        seen += len(idx)
        if on_batch is not None:
            on_batch(1 / len(slices))
    return {"train_loss": float(np.sum(losses) / seen), "train_accuracy": correct / seen,
            "lr": model.optimizer.lr}


def predict_views(model, X: np.ndarray, views: list[Callable[[np.ndarray], np.ndarray]] | None) -> np.ndarray:
    """Class probabilities, averaged over ``views`` of X (test-time augmentation) if given."""
    if not views:
        return model.predict(X)
    return sum(model.predict(view(X)) for view in views) / len(views)


def evaluate(model, X: np.ndarray, labels: np.ndarray, views=None) -> tuple[float, float]:
    """(mean cross-entropy against the plain labels, accuracy), in evaluation mode (a
    smoothed training target is for training only, as in PyTorch's evaluation)."""
    P = predict_views(model, X, views)
    L = CrossEntropy().forward(one_hot(labels, P.shape[1], dtype=P.dtype), P)
    return L, float(np.mean(P.argmax(axis=1) == labels))


class History(list):
    """The records of ``NeuralNetwork.fit``, one dict per epoch; ``history["val_loss"]``
    gives one column as a list."""

    def __getitem__(self, key):
        if isinstance(key, str):
            return [row[key] for row in self]
        return super().__getitem__(key)


def fit(model, X: np.ndarray, y: np.ndarray, epochs: int, batch_size: int,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None, keep_best: bool = False,
        verbose: bool = False) -> History:
    """Train for ``epochs`` passes; each record holds the training loss, accuracy and
    error, the same on the validation data if given, the learning rate and the seconds.

    ``keep_best`` ends with the parameters of the epoch with the lowest validation error
    (ties: lower validation loss), the homework's model selection. ``verbose`` prints
    one line per epoch."""
    if keep_best and validation_data is None:
        raise ValueError("keep_best chooses by validation: pass validation_data too")
    if not (isinstance(epochs, int) and epochs >= 1):
        raise ValueError(f"epochs must be a positive integer; got {epochs!r}")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    history, best, best_state = History(), None, None
    for _ in range(epochs):
        epoch = len(model.history)
        start = time.perf_counter()
        record = {"epoch": epoch + 1, **train_epoch(model, X, y, batch_size, model.shuffle_rng, epoch)}
        record["train_error"] = 1.0 - record["train_accuracy"]
        if validation_data is not None:
            val_loss, val_accuracy = evaluate(model, *validation_data)
            record.update(val_loss=val_loss, val_accuracy=val_accuracy, val_error=1.0 - val_accuracy)
        record["seconds"] = time.perf_counter() - start
        model.history.append(record)
        history.append(record)
        if keep_best and (best is None or (record["val_error"], record["val_loss"]) < best):
            best, best_state = (record["val_error"], record["val_loss"]), model.state_dict()
        if verbose:
            print("  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items()))
    if keep_best:
        model.load_state_dict(best_state)
    return history
