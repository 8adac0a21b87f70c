"""Loss functions: the cost L(Y, Ŷ) of a batch and its gradient ∂L/∂Ŷ, both (m, k).

``CrossEntropy``: Y is the target — one-hot for hard labels, or any probability
distribution per row (a mixup of two one-hot rows) — and Ŷ the predicted class
probabilities. ``L2``: Y and Ŷ are any real targets and predictions (a regression, e.g.
the next value of a sequence, (m, 1)). The derivations are in ``docs/derivations.md``
(sections "Cross-entropy" and "L2 (squared error)").
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Loss(ABC):
    def __call__(self, Y: np.ndarray, Y_hat: np.ndarray) -> float:
        return self.forward(Y, Y_hat)

    @abstractmethod
    def forward(self, Y: np.ndarray, Y_hat: np.ndarray) -> float:
        """The batch-mean cost."""

    @abstractmethod
    def backward(self, Y: np.ndarray, Y_hat: np.ndarray) -> np.ndarray:
        """∂L/∂Ŷ, the shape of Ŷ."""


def check_target(Y: np.ndarray, Y_hat: np.ndarray) -> None:
    """Raise ValueError unless Y is a (m, k) target the shape of Ŷ: each row a probability
    distribution (one-hot for hard labels), and Ŷ finite probabilities."""
    if Y.shape != Y_hat.shape:
        raise ValueError(
            f"Y and Y_hat must have the same shape (m, k); got Y {Y.shape} and Y_hat {Y_hat.shape}"
        )
    if Y.ndim != 2 or Y.shape[0] == 0:
        raise ValueError(f"Y must be a non-empty one-hot matrix (m, k); got shape {Y.shape}")
    tolerance = 1e-6 if Y.dtype == np.float64 else 1e-4
    if not (np.all(Y >= 0) and np.allclose(Y.sum(axis=1), 1, rtol=0, atol=tolerance)):
        raise ValueError(
            "Y must be one-hot (each row a single 1, the rest 0) or, for soft targets, a probability "
            "distribution per row; convert integer labels with backproplab.nn.losses.one_hot(labels, k)"
        )
    if not np.all(np.isfinite(Y_hat)):
        raise ValueError(
            "Y_hat contains NaN or inf: the network's output is not finite "
            "(training diverged; lower the learning rate or set clip_norm)"
        )
    if np.any(Y_hat < 0) or np.any(Y_hat > 1):
        raise ValueError("Y_hat must hold probabilities in [0, 1]; end the network with a softmax")


def one_hot(labels: np.ndarray, n_classes: int, dtype=np.float64) -> np.ndarray:
    """Integer labels (m,) → one-hot matrix (m, n_classes)."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be a 1-D array of class indices; got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"labels must lie in 0..{n_classes - 1}; got values from {labels.min()} to {labels.max()}"
        )
    Y = np.zeros((labels.shape[0], n_classes), dtype=dtype)
    Y[np.arange(labels.shape[0]), labels] = 1
    return Y


class CrossEntropy(Loss):
    """L = −(1/m) Σ_i Σ_c Y_ic ln Ŷ_ic,   ∂L/∂Ŷ = −(1/m) Y / Ŷ.

    With label smoothing ε the target is Y' = (1 − ε) Y + ε / k (k classes): the true
    class gets 1 − ε + ε/k and every class at least ε/k, and the same two formulas hold
    with Y' in place of Y (PyTorch's ``cross_entropy(label_smoothing=ε)``).

    Guard against exact zeros: Ŷ is clipped from below at the smallest positive
    normal number of its dtype (``np.finfo(dtype).tiny``: 2.2e−308 in float64,
    1.2e−38 in float32) before the logarithm and the division. A valid probability
    input can therefore contain exact zeros and the cost stays finite (at most
    −ln tiny ≈ 708 per example in float64, 87 in float32) and so does the gradient
    (at most 1/tiny, which does not overflow either dtype). For every Ŷ ≥ tiny
    the formulas are exact. Where Y is 0 the entry contributes exactly 0.
    """

    def __init__(self, label_smoothing: float = 0.0) -> None:
        if not 0 <= label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1); got {label_smoothing!r}")
        self.label_smoothing = label_smoothing

    def _target(self, Y: np.ndarray) -> np.ndarray:
        """Y' = (1 − ε) Y + ε / k."""
        eps = self.label_smoothing
        return Y if eps == 0 else (1 - eps) * Y + eps / Y.shape[1]

    def forward(self, Y, Y_hat):
        check_target(Y, Y_hat)
        m = Y.shape[0]
        tiny = np.finfo(Y_hat.dtype).tiny
        return float(-np.sum(self._target(Y) * np.log(np.maximum(Y_hat, tiny))) / m)

    def backward(self, Y, Y_hat):
        check_target(Y, Y_hat)
        m = Y.shape[0]
        tiny = np.finfo(Y_hat.dtype).tiny
        return (-(self._target(Y) / np.maximum(Y_hat, tiny)) / m).astype(Y_hat.dtype, copy=False)


def check_regression_target(Y: np.ndarray, Y_hat: np.ndarray) -> None:
    """Raise ValueError unless Y (real) and Ŷ (floating) are finite (m, k) arrays of the same shape."""
    real = isinstance(Y, np.ndarray) and (np.issubdtype(Y.dtype, np.integer) or np.issubdtype(Y.dtype, np.floating))
    if not real:
        raise ValueError(f"Y must be a real numpy array (m, k); got {getattr(Y, 'dtype', type(Y).__name__)}")
    if not isinstance(Y_hat, np.ndarray) or not np.issubdtype(Y_hat.dtype, np.floating):
        raise ValueError("Y_hat must be a floating-point numpy array (m, k), the network's output; got "
                         f"{getattr(Y_hat, 'dtype', type(Y_hat).__name__)}")
    if Y.shape != Y_hat.shape:
        raise ValueError(
            f"Y and Y_hat must have the same shape (m, k); got Y {Y.shape} and Y_hat {Y_hat.shape}"
        )
    if Y.ndim != 2 or Y.shape[0] == 0:
        raise ValueError(f"Y must be a non-empty matrix (m, k), one row per example; got shape {Y.shape} "
                         "(a single output per example is (m, 1): Y.reshape(-1, 1))")
    if not np.all(np.isfinite(Y)):
        raise ValueError("Y contains NaN or inf")
    if not np.all(np.isfinite(Y_hat)):
        raise ValueError(
            "Y_hat contains NaN or inf: the network's output is not finite "
            "(training diverged; lower the learning rate or set clip_norm)"
        )


class L2(Loss):
    """The squared error, summed over the outputs and averaged over the m examples:

        half=True  (the homework, Spring 2021–23):  L = (1/(2m)) Σ_i ‖y_i − ŷ_i‖²,   ∂L/∂Ŷ = (Ŷ − Y)/m
        half=False (the homework, Spring 2020):     L = (1/m) Σ_i ‖y_i − ŷ_i‖²,      ∂L/∂Ŷ = 2(Ŷ − Y)/m

    Y and Ŷ are (m, k), k outputs per example (the homework's are (m, 1)). With k = 1,
    half=False is PyTorch's ``mse_loss`` (the mean over the batch); for k > 1 the sum over
    the outputs makes it k times ``mse_loss``, which averages over every entry.
    """

    def __init__(self, half: bool = True) -> None:
        if not isinstance(half, (bool, np.bool_)):
            raise ValueError(f"L2 half must be True (the ½ convention) or False; got {half!r}")
        self.half = bool(half)

    def forward(self, Y, Y_hat):
        check_regression_target(Y, Y_hat)
        m = Y.shape[0]
        return float(np.sum(np.square(Y - Y_hat)) / (2 * m if self.half else m))

    def backward(self, Y, Y_hat):
        check_regression_target(Y, Y_hat)
        m = Y.shape[0]
        dY_hat = (Y_hat - Y) / m if self.half else 2 * (Y_hat - Y) / m  # (m, k)
        return dY_hat.astype(Y_hat.dtype, copy=False)


LOSSES: dict[str, type[Loss]] = {"cross_entropy": CrossEntropy, "l2": L2}


def initialize_loss(name: str, **kwargs) -> Loss:
    """Return a loss by name ("cross_entropy" or "l2"), e.g. ``initialize_loss("cross_entropy",
    label_smoothing=0.1)`` or ``initialize_loss("l2", half=False)``. Unknown names raise
    KeyError, unknown arguments ValueError."""
    if name not in LOSSES:
        raise KeyError(f"unknown loss {name!r}; expected one of {sorted(LOSSES)}")
    try:
        return LOSSES[name](**kwargs)
    except TypeError as err:
        raise ValueError(f"bad arguments for loss {name!r}: {err}") from None
