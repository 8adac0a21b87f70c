"""An activation as a layer of its own, Y = σ(X), for stacks such as
Linear → BatchNorm → ReLU where the non-linearity follows a layer that has none.

Backward: dX = σ'(X) ⊙ dY (the activation's own backward, ``activations.py``).
"""

from __future__ import annotations

import numpy as np

from ..activations import initialize_activation
from .base import Layer


class ActivationLayer(Layer):
    def __init__(self, activation: str = "relu") -> None:
        super().__init__()
        self.activation_name = activation
        self.activation = initialize_activation(activation)

    def forward(self, X: np.ndarray) -> np.ndarray:
        if not isinstance(X, np.ndarray) or not np.issubdtype(X.dtype, np.floating):
            raise ValueError(f"ActivationLayer expects a floating-point numpy array; got {getattr(X, 'dtype', X)}")
        self.cache = {"X": X}
        return self.activation.forward(X)

    def backward(self, dLdY: np.ndarray) -> np.ndarray:
        (X,) = self._from_cache("X")
        return self.activation.backward(X, dLdY)

    def describe(self) -> str:
        return self.activation_name
