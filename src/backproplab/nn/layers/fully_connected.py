"""The fully-connected (dense) layer.

Forward, for a batch X of m examples (derivation: ``docs/derivations.md``,
"Fully-connected layer"):

    Z = X W + 1 b        X (m, n_in), W (n_in, n_out), b (1, n_out), Z (m, n_out)
    Y = σ(Z)

Backward, given dY = ∂L/∂Y (m, n_out):

    dZ = σ'(Z) ⊙ dY      (the activation's backward)
    dW = Xᵀ dZ           (n_in, n_out)
    db = 1ᵀ dZ           (1, n_out), the column sums of dZ
    dX = dZ Wᵀ           (m, n_in)
"""

from __future__ import annotations

import numpy as np

from .base import Layer


class FullyConnected(Layer):
    def __init__(
        self,
        n_out: int,
        activation: str = "linear",
        weight_init: str = "xavier_uniform",
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self._set_units(n_out, activation, weight_init, rng)

    def _init_parameters(self, X_shape: tuple[int, ...], dtype=np.float64) -> None:
        """Create W (n_in, n_out) from the initialiser and b (1, n_out) zeros."""
        self.n_in = (X_shape[1],)
        W = self.init_weights((X_shape[1], self.n_out), rng=self._generator(), dtype=dtype)
        b = np.zeros((1, self.n_out), dtype=dtype)
        self.parameters = {"W": W, "b": b}
        self.clear_gradients()

    def _n_in_from(self, parameters):
        return (parameters["W"].shape[0],)

    def describe(self) -> str:
        return f"{self.n_out} units, {self.activation_name}"

    def forward(self, X: np.ndarray) -> np.ndarray:
        self._check_input(X, 2, "(batch, features)")
        if self.n_in is None:
            self._init_parameters(X.shape, X.dtype)
        self._check_same_input(X.shape[1:], X.dtype, "features")
        W, b = self.parameters["W"], self.parameters["b"]
        Z = X @ W  # (m, n_out)
        Z += b  # in place: one pass over Z, no second array
        self.cache = {"X": X, "Z": Z}
        return self.activation.forward(Z)

    def backward(self, dY: np.ndarray) -> np.ndarray:
        X, Z = self._from_cache("X", "Z")
        W = self.parameters["W"]
        dZ = self.activation.backward(Z, dY)  # (m, n_out)
        dW = X.T @ dZ  # (n_in, n_out)
        db = dZ.sum(axis=0, keepdims=True)  # (1, n_out)
        self.gradients = {"W": dW, "b": db}
        if not self.input_grad:  # the first layer: its input is data, which needs no gradient
            return None
        dX = dZ @ W.T  # (m, n_in)
        return dX
