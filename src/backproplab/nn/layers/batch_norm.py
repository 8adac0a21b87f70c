"""Batch normalisation over every axis but the last (features, or NHWC channels), in two
conventions: ``BatchNorm`` (PyTorch's) and ``BatchNorm1D`` (the homework's, Spring 2025).

Training mode, with μ and σ² the mean and (biased) variance over the m = N·H·W
positions of each feature:

    X̂ = (X − μ) / √(σ² + ε),   Y = γ ⊙ X̂ + β          γ, β (1, F)

Backward, with sums over the same m positions:

    dγ = Σ dY ⊙ X̂,   dβ = Σ dY,                         (1, F) each
    dX = (γ / (m √(σ² + ε))) ⊙ (m dY − Σ dY − X̂ ⊙ Σ (dY ⊙ X̂))

(derivation: ``docs/derivations.md``, "Batch normalisation"). The running mean and
variance are buffers, not parameters: evaluation mode normalises with them and is then
a fixed affine map, dX = γ dY / √(running σ² + ε). The two classes share all of that
and differ only in how the running statistics are kept (F features):

    BatchNorm (as torch.nn.BatchNorm1d/2d)       BatchNorm1D (the homework)
    start at mean 0, variance 1                  start at mean 0, variance 0
    r ← (1 − p) r + p · batch,  p = 0.1          r ← α r + (1 − α) · batch,  α = 0.9
    the unbiased variance (m/(m − 1)) σ²          the biased variance σ²
    evaluation when ``training`` is False        forward(X, mode="test") (or ``training`` False)
    ε = 1e-5, any input (batch, …, F)             ε = 1e-8, input (batch, F)

The momentum means opposite things: PyTorch's p weighs the new batch, the homework's α
the old running value (α = 1 − p gives the same running mean). As in PyTorch, the
layers have no activation: follow them with ``ActivationLayer``.
"""

from __future__ import annotations

import numpy as np

from .base import Layer


class BatchNorm(Layer):
    buffer_names = ("running_mean", "running_var")
    #: where the running variance starts (PyTorch: 1)
    initial_running_var: float = 1.0

    def __init__(self, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        if not 0 <= momentum <= 1:
            raise ValueError(f"{type(self).__name__} momentum must be in [0, 1]; got {momentum!r}")
        self.eps = eps
        self.momentum = momentum

    def _init_parameters(self, X_shape: tuple[int, ...], dtype=np.float64) -> None:
        """γ = 1 and β = 0 (1, F); running mean 0 and variance ``initial_running_var`` (1, F)."""
        F = X_shape[-1]
        self.n_in = (F,)
        self.parameters = {"gamma": np.ones((1, F), dtype=dtype), "beta": np.zeros((1, F), dtype=dtype)}
        self.buffers = {"running_mean": np.zeros((1, F), dtype=dtype),
                        "running_var": np.full((1, F), self.initial_running_var, dtype=dtype)}
        self.clear_gradients()

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Batch statistics (updating the running ones) while ``training``, else the running ones."""
        return self._normalise(X, self.training)

    def _update_running(self, mu: np.ndarray, var: np.ndarray, m: int) -> None:
        """PyTorch's rule: r ← r + p (batch − r), with the unbiased variance (m/(m − 1)) σ²."""
        if m < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 values per feature in training mode; "
                             "use a batch of 2 or more examples")
        rate = mu.dtype.type(self.momentum)
        self.buffers["running_mean"] += rate * (mu - self.buffers["running_mean"])
        self.buffers["running_var"] += rate * (var * mu.dtype.type(m / (m - 1)) - self.buffers["running_var"])

    def _normalise(self, X: np.ndarray, training: bool) -> np.ndarray:
        if not isinstance(X, np.ndarray) or X.ndim < 2 or not np.issubdtype(X.dtype, np.floating):
            raise ValueError(f"{type(self).__name__} expects a floating array (batch, …, features); got "
                             f"{getattr(X, 'dtype', type(X).__name__)} {getattr(X, 'shape', '')}")
        if self.n_in is None:
            self._init_parameters(X.shape, X.dtype)
        self._check_same_input(X.shape[-1:], X.dtype, "features")
        F = X.shape[-1]
        X2 = X.reshape(-1, F)  # (m, F)
        m = X2.shape[0]
        if training:
            mu = X2.mean(axis=0, keepdims=True)  # (1, F)
            X_hat = X2 - mu  # (m, F): X − μ, normalised in place below
            var = np.einsum("ij,ij->j", X_hat, X_hat)[None] / m  # (1, F): Σ (X − μ)² / m, as X2.var, no temporary
            self._update_running(mu, var, m)
        else:
            mu, var = self.buffers["running_mean"], self.buffers["running_var"]
            X_hat = X2 - mu
        inv_std = 1 / np.sqrt(var + X.dtype.type(self.eps))  # (1, F)
        X_hat *= inv_std
        Y = X_hat * self.parameters["gamma"]  # (m, F)
        Y += self.parameters["beta"]
        self.cache = {"X_hat": X_hat, "inv_std": inv_std, "shape": X.shape, "training": training}
        return Y.reshape(X.shape)

    def backward(self, dLdY: np.ndarray) -> np.ndarray:
        X_hat, inv_std, shape, training = self._from_cache("X_hat", "inv_std", "shape", "training")
        dY = dLdY.reshape(X_hat.shape)  # (m, F)
        sum_dY = dY.sum(axis=0, keepdims=True)  # (1, F)
        sum_dY_xhat = np.einsum("ij,ij->j", dY, X_hat)[None]  # (1, F): Σ dY ⊙ X̂, no (m, F) temporary
        self.gradients = {"gamma": sum_dY_xhat, "beta": sum_dY}
        gamma = self.parameters["gamma"]
        if not training:  # a fixed affine map: dX = γ dY / √(running σ² + ε)
            return (dY * (gamma * inv_std)).reshape(shape)
        m = dY.shape[0]
        # dX = (γ / (m σ)) (m dY − Σ dY − X̂ Σ dY X̂) = (γ/σ) (dY − Σ dY / m − X̂ Σ dY X̂ / m): one array
        dX = X_hat * (sum_dY_xhat / -m)  # (m, F)
        dX += dY
        dX -= sum_dY / m
        dX *= gamma * inv_std
        return dX.reshape(shape)


class BatchNorm1D(BatchNorm):
    """Batch normalisation in the homework's conventions (Spring 2025) for X (batch, C):
    ``forward(X, mode="train")`` normalises with the batch's mean and biased variance and
    updates running = α·running + (1 − α)·batch (α = ``momentum``, both starting at 0);
    ``forward(X, mode="test")`` normalises with the running statistics and updates nothing.
    Parameters γ, β and their gradients are (1, C); ``backward(dY)`` returns dX (batch, C).
    """

    initial_running_var = 0.0

    def __init__(self, eps: float = 1e-8, momentum: float = 0.9) -> None:
        super().__init__(eps, momentum)

    def forward(self, X: np.ndarray, mode: str | None = None) -> np.ndarray:
        """``mode`` "train" or "test"; left out, the layer's ``training`` flag decides (True unless a
        model set evaluation mode), so ``forward(X)`` trains, as the homework's does."""
        if mode not in (None, "train", "test"):
            raise ValueError(f"BatchNorm1D mode must be 'train' or 'test'; got {mode!r}")
        self._check_input(X, 2, "(batch, features)")
        return self._normalise(X, self.training if mode is None else mode == "train")

    def _update_running(self, mu: np.ndarray, var: np.ndarray, m: int) -> None:
        """The homework's rule: r ← α r + (1 − α) batch, with the biased variance σ²."""
        alpha = mu.dtype.type(self.momentum)
        self.buffers["running_mean"] = alpha * self.buffers["running_mean"] + (1 - alpha) * mu
        self.buffers["running_var"] = alpha * self.buffers["running_var"] + (1 - alpha) * var
