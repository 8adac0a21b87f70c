"""Flatten: (N, d1, d2, …) → (N, d1·d2·…), and the gradient reshaped back."""

from __future__ import annotations

import numpy as np

from .base import Layer


class Flatten(Layer):
    def forward(self, X: np.ndarray) -> np.ndarray:
        if not isinstance(X, np.ndarray) or X.ndim < 2:
            raise ValueError(
                f"Flatten expects an array with a batch axis and at least one more; got "
                f"{getattr(X, 'shape', type(X).__name__)}"
            )
        self.cache = {"shape": X.shape}
        return X.reshape(X.shape[0], -1)

    def backward(self, dLdY: np.ndarray) -> np.ndarray:
        (shape,) = self._from_cache("shape")
        return dLdY.reshape(shape)
