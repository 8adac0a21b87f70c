"""Inverted dropout.

In training mode each input is kept with probability 1 − p and scaled by 1/(1 − p),

    M ~ Bernoulli(1 − p) elementwise,   Y = X ⊙ M / (1 − p),   dX = dY ⊙ M / (1 − p),

so the expected output equals the input and evaluation mode is the identity. The
mask is drawn from the layer's generator (the model's seed), never the global state.
"""

from __future__ import annotations

import numpy as np

from .base import Layer


class Dropout(Layer):
    stochastic = True

    def describe(self) -> str:
        return f"p = {self.p:g}"

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout p must be in [0, 1); got {p!r}")
        self.p = float(p)
        self.rng = rng

    def forward(self, X: np.ndarray) -> np.ndarray:
        if not isinstance(X, np.ndarray) or not np.issubdtype(X.dtype, np.floating):
            raise ValueError(f"Dropout expects a floating-point numpy array; got {getattr(X, 'dtype', type(X))}")
        if not self.training or self.p == 0.0:
            self.cache = {"scale": None}
            return X
        keep = self._generator().random(X.shape, dtype=X.dtype if X.dtype == np.float32 else np.float64) >= self.p
        scale = keep.astype(X.dtype) / X.dtype.type(1.0 - self.p)  # M / (1 − p)
        self.cache = {"scale": scale}
        return X * scale

    def backward(self, dLdY: np.ndarray) -> np.ndarray:
        (scale,) = self._from_cache("scale")
        return dLdY if scale is None else dLdY * scale
