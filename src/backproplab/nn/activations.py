"""Activation functions σ and their backward passes.

Every activation maps a pre-activation ``Z`` to ``Y = σ(Z)`` and, given the upstream
gradient ``dY = ∂L/∂Y``, returns ``dZ = ∂L/∂Z``. The backward pass takes ``Z`` (not
``Y``), as in the homework's API, so that each activation is a pure function pair.

All of them work on arrays of any shape (Softmax normalises over the last axis), are
batched with no Python loop, and return arrays of the input's dtype. The derivations
are in ``docs/derivations.md`` (sections "ReLU" and "Softmax").
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Activation(ABC):
    """An elementwise (or row-wise) non-linearity Y = σ(Z)."""

    #: the gain torch.nn.init.calculate_gain uses for this non-linearity (Xavier init)
    gain: float = 1.0

    def __call__(self, Z: np.ndarray) -> np.ndarray:
        return self.forward(Z)

    @abstractmethod
    def forward(self, Z: np.ndarray) -> np.ndarray:
        """Y = σ(Z), the same shape and dtype as Z."""

    @abstractmethod
    def backward(self, Z: np.ndarray, dY: np.ndarray) -> np.ndarray:
        """dZ = ∂L/∂Z given Z and dY = ∂L/∂Y (both the same shape)."""

    @staticmethod
    def _check_pair(Z: np.ndarray, dY: np.ndarray) -> None:
        if Z.shape != dY.shape:
            raise ValueError(
                f"backward expects Z and dY of the same shape; got Z {Z.shape} and dY {dY.shape}"
            )


class Linear(Activation):
    """Identity: σ(z) = z, σ'(z) = 1."""

    def forward(self, Z):
        return Z

    def backward(self, Z, dY):
        self._check_pair(Z, dY)
        return dY


class Sigmoid(Activation):
    """σ(z) = 1 / (1 + e^{-z}),  σ'(z) = σ(z)(1 − σ(z))."""

    def forward(self, Z):
        # 0.5 (1 + tanh(z/2)) equals the logistic function and never overflows.
        return 0.5 * (1 + np.tanh(0.5 * Z))

    def backward(self, Z, dY):
        self._check_pair(Z, dY)
        S = self.forward(Z)
        return dY * S * (1 - S)


class TanH(Activation):
    """σ(z) = tanh z,  σ'(z) = 1 − tanh² z."""

    gain = 5.0 / 3.0

    def forward(self, Z):
        return np.tanh(Z)

    def backward(self, Z, dY):
        self._check_pair(Z, dY)
        T = np.tanh(Z)
        return dY * (1 - T * T)


class ReLU(Activation):
    """σ(z) = max(0, z) elementwise,  σ'(z) = 1 if z > 0 else 0.

    At z = 0 we take the subgradient 0 (as PyTorch does). Note the elementwise
    maximum: Python's scalar ``max(0, Z)`` is not defined for arrays.
    """

    gain = float(np.sqrt(2.0))

    def forward(self, Z):
        return np.maximum(Z, 0)

    def backward(self, Z, dY):
        self._check_pair(Z, dY)
        return dY * (Z > 0)


class ArcTan(Activation):
    """σ(z) = arctan z,  σ'(z) = 1 / (1 + z²)."""

    def forward(self, Z):
        return np.arctan(Z)

    def backward(self, Z, dY):
        self._check_pair(Z, dY)
        return dY / (1 + Z * Z)


class Softmax(Activation):
    """Row-wise softmax over the last axis.

    Forward:  s_i = e^{z_i − max_k z_k} / Σ_j e^{z_j − max_k z_k}  (shifting by the row
    maximum leaves s unchanged and keeps every exponent ≤ 0, so nothing overflows).

    Backward: the Jacobian is ∂s_j/∂z_i = s_j (δ_ij − s_i), so per row
    dZ = s ⊙ (dY − ⟨dY, s⟩), computed for the whole batch at once.
    """

    def forward(self, Z):
        E = np.exp(Z - Z.max(axis=-1, keepdims=True))
        return E / E.sum(axis=-1, keepdims=True)

    def backward(self, Z, dY):
        self._check_pair(Z, dY)
        S = self.forward(Z)
        return S * (dY - np.sum(dY * S, axis=-1, keepdims=True))


ACTIVATIONS: dict[str, type[Activation]] = {
    "linear": Linear,
    "identity": Linear,
    "sigmoid": Sigmoid,
    "tanh": TanH,
    "relu": ReLU,
    "arctan": ArcTan,
    "softmax": Softmax,
}


def initialize_activation(name: str) -> Activation:
    """Return a fresh activation by name ("linear", "sigmoid", "tanh", "relu", "arctan", "softmax")."""
    try:
        return ACTIVATIONS[name]()
    except (KeyError, TypeError):
        raise KeyError(
            f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}"
        ) from None
