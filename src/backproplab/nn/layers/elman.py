"""The Elman recurrent layer, in the homework's API (Spring 2020): it reads a sequence and
returns its last state.

Forward, for a batch X of m sequences of T steps, time on the LAST axis as the homework
has it (derivation: ``docs/derivations.md``, "Elman recurrent layer"):

    s_0 = 0                                   (m, n_out)
    Z_t = X_t W + s_{t−1} U + 1 b             X_t = X[:, :, t−1] (m, n_in), Z_t (m, n_out)
    s_t = σ(Z_t)                              t = 1 … T
    Y = s_T                                   (m, n_out)

with W (n_in, n_out), U (n_out, n_out), b (1, n_out) shared by every step.

Backward (backpropagation through time), given dY = ∂L/∂s_T (m, n_out) — only the last
state leaves the layer — and δ_T = dY:

    dZ_t = σ'(Z_t) ⊙ δ_t                      (m, n_out)
    dW   = Σ_t X_tᵀ dZ_t                      (n_in, n_out)
    dU   = Σ_t s_{t−1}ᵀ dZ_t                  (n_out, n_out)
    db   = Σ_t 1ᵀ dZ_t                        (1, n_out)
    dX_t = dZ_t Wᵀ                            (m, n_in), stacked into dX (m, n_in, T)
    δ_{t−1} = dZ_t Uᵀ                         (m, n_out), the gradient reaching s_{t−1}

for t = T down to 1, with no truncation. Each step is the dense layer's backward with two
inputs (X_t through W, s_{t−1} through U); the shared weights add up their steps' gradients.
"""

from __future__ import annotations

import numpy as np

from .base import Layer


class Elman(Layer):
    def __init__(
        self,
        n_out: int,
        activation: str = "tanh",
        weight_init: str = "xavier_uniform",
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self._set_units(n_out, activation, weight_init, rng)

    def _init_parameters(self, X_shape: tuple[int, ...], dtype=np.float64) -> None:
        """W (n_in, n_out) and U (n_out, n_out) from the initialiser, b (1, n_out) zeros."""
        n_in = X_shape[1]
        self.n_in = (n_in,)
        W = self.init_weights((n_in, self.n_out), rng=self._generator(), dtype=dtype)
        U = self.init_weights((self.n_out, self.n_out), rng=self._generator(), dtype=dtype)
        b = np.zeros((1, self.n_out), dtype=dtype)
        self.parameters = {"W": W, "U": U, "b": b}
        self.clear_gradients()

    def _n_in_from(self, parameters):
        return (parameters["W"].shape[0],)

    def describe(self) -> str:
        return f"{self.n_out} units, {self.activation_name}, recurrent"

    def forward(self, X: np.ndarray) -> np.ndarray:
        self._check_input(X, 3, "(batch, features, time)")
        if X.shape[1] < 1 or X.shape[2] < 1:
            raise ValueError(f"Elman needs at least one feature and one time step (batch, features, time); "
                             f"got shape {X.shape}")
        if self.n_in is None:
            self._init_parameters(X.shape, X.dtype)
        self._check_same_input(X.shape[1:2], X.dtype, "features")
        W, U, b = self.parameters["W"], self.parameters["U"], self.parameters["b"]
        m, _, T = X.shape
        s = np.zeros((T + 1, m, self.n_out), dtype=X.dtype)  # s[t] = s_t, s[0] = s_0 = 0
        Z = np.empty((T, m, self.n_out), dtype=X.dtype)  # Z[t − 1] = Z_t
        for t in range(1, T + 1):
            Z[t - 1] = X[:, :, t - 1] @ W + s[t - 1] @ U + b
            s[t] = self.activation.forward(Z[t - 1])
        self.cache = {"X": X, "Z": Z, "s": s}
        return s[T].copy()  # a copy, so that changing the output cannot change the cache

    def backward(self, dLdY: np.ndarray) -> np.ndarray:
        X, Z, s = self._from_cache("X", "Z", "s")
        T, m, n_out = Z.shape
        if np.shape(dLdY) != (m, n_out):
            raise ValueError(f"Elman.backward expects dL/ds_T, the gradient of the last state, of shape "
                             f"(batch, n_out) = {(m, n_out)}; got {np.shape(dLdY)}")
        W, U = self.parameters["W"], self.parameters["U"]
        dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(self.parameters["b"])
        dX = np.empty(X.shape, dtype=X.dtype) if self.input_grad else None  # (m, n_in, T)
        delta = dLdY  # δ_T = ∂L/∂s_T
        for t in range(T, 0, -1):
            dZ = self.activation.backward(Z[t - 1], delta)  # (m, n_out)
            dW += X[:, :, t - 1].T @ dZ  # (n_in, n_out)
            dU += s[t - 1].T @ dZ  # (n_out, n_out)
            db += dZ.sum(axis=0, keepdims=True)  # (1, n_out)
            if dX is not None:
                dX[:, :, t - 1] = dZ @ W.T  # (m, n_in)
            delta = dZ @ U.T  # δ_{t−1} = ∂L/∂s_{t−1}, (m, n_out)
        self.gradients = {"W": dW, "U": dU, "b": db}
        return dX
