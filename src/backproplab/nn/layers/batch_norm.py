"""Batch normalisation over every axis but the last (features, or NHWC channels).

Training mode, with μ and σ² the mean and (biased) variance over the m = N·H·W
positions of each feature:

    X̂ = (X − μ) / √(σ² + ε),   Y = γ ⊙ X̂ + β

Backward, with sums over the same m positions:

    dγ = Σ dY ⊙ X̂,   dβ = Σ dY,
    dX = (γ / (m √(σ² + ε))) ⊙ (m dY − Σ dY − X̂ ⊙ Σ (dY ⊙ X̂))

(derivation: ``docs/derivations.md``, "Batch normalisation"). The running mean and
variance (unbiased, momentum 0.1, as ``torch.nn.BatchNorm1d/2d``) are buffers, not
parameters: evaluation mode normalises with them and is then a fixed affine map.
As in PyTorch, the layer has no activation: follow it with ``ActivationLayer``.
"""

from __future__ import annotations

import numpy as np

from .base import Layer


class BatchNorm(Layer):
    buffer_names = ("running_mean", "running_var")

    def __init__(self, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        if not 0 <= momentum <= 1:
            raise ValueError(f"BatchNorm momentum must be in [0, 1]; got {momentum!r}")
        self.eps = eps
        self.momentum = momentum

    def _init_parameters(self, X_shape: tuple[int, ...], dtype=np.float64) -> None:
        """γ = 1 and β = 0 (1, F); running mean 0 and variance 1 (1, F)."""
        F = X_shape[-1]
        self.n_in = (F,)
        self.parameters = {"gamma": np.ones((1, F), dtype=dtype), "beta": np.zeros((1, F), dtype=dtype)}
        self.buffers = {"running_mean": np.zeros((1, F), dtype=dtype), "running_var": np.ones((1, F), dtype=dtype)}
        self.clear_gradients()

    def forward(self, X: np.ndarray) -> np.ndarray:
        if not isinstance(X, np.ndarray) or X.ndim < 2 or not np.issubdtype(X.dtype, np.floating):
            raise ValueError(f"BatchNorm expects a floating array (batch, …, features); got "
                             f"{getattr(X, 'dtype', type(X).__name__)} {getattr(X, 'shape', '')}")
        if self.n_in is None:
            self._init_parameters(X.shape, X.dtype)
        self._check_same_input(X.shape[-1:], X.dtype, "features")
        F = X.shape[-1]
        X2 = X.reshape(-1, F)  # (m, F)
        m = X2.shape[0]
        if self.training:
            if m < 2:
                raise ValueError("BatchNorm needs at least 2 values per feature in training mode; "
                                 "use a batch of 2 or more examples")
            mu = X2.mean(axis=0, keepdims=True)  # (1, F)
            centred = X2 - mu  # (m, F)
            var = np.mean(np.square(centred), axis=0, keepdims=True)  # what X2.var computes, reusing X2 − μ
            rate = X.dtype.type(self.momentum)
            self.buffers["running_mean"] += rate * (mu - self.buffers["running_mean"])
            self.buffers["running_var"] += rate * (var * X.dtype.type(m / (m - 1)) - self.buffers["running_var"])
        else:
            mu, var = self.buffers["running_mean"], self.buffers["running_var"]
            centred = X2 - mu
        inv_std = 1 / np.sqrt(var + X.dtype.type(self.eps))  # (1, F)
        X_hat = centred * inv_std
        Y = X_hat * self.parameters["gamma"] + self.parameters["beta"]  # (m, F)
        self.cache = {"X_hat": X_hat, "inv_std": inv_std, "shape": X.shape}
        return Y.reshape(X.shape)

    def backward(self, dLdY: np.ndarray) -> np.ndarray:
        X_hat, inv_std, shape = self._from_cache("X_hat", "inv_std", "shape")
        dY = dLdY.reshape(X_hat.shape)  # (m, F)
        sum_dY = dY.sum(axis=0, keepdims=True)  # (1, F)
        sum_dY_xhat = (dY * X_hat).sum(axis=0, keepdims=True)  # (1, F)
        self.gradients = {"gamma": sum_dY_xhat, "beta": sum_dY}
        gamma = self.parameters["gamma"]
        if not self.training:  # a fixed affine map: dX = γ dY / √(running σ² + ε)
            return (dY * (gamma * inv_std)).reshape(shape)
        m = dY.shape[0]
        dX = (gamma * inv_std / m) * (m * dY - sum_dY - X_hat * sum_dY_xhat)  # (m, F)
        return dX.reshape(shape)
