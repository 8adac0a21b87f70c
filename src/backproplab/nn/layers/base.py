"""The Layer base class: the bookkeeping every layer shares.

A layer keeps four dicts, the first three as in the homework's API:

- ``parameters``: the trainable arrays (e.g. ``W``, ``b``), created lazily by
  ``_init_parameters`` on the first forward pass, once the input width is known;
- ``gradients``: ∂L/∂(parameter), the same keys and shapes, written by ``backward``;
- ``cache``: what ``forward`` saves for ``backward`` (e.g. ``X``, ``Z``);
- ``buffers``: state saved with the model but not trained (batch-norm statistics).

Arrays keep their dtype: parameters are created in the dtype of the first input, so
float32 in gives float32 out and float64 in gives float64 out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable

import numpy as np


class Layer(ABC):
    #: whether the layer draws random numbers while training (dropout): the model gives
    #: such layers its noise stream and every other layer its initialisation stream
    stochastic: bool = False
    #: the names of the layer's buffers (saved, not trained), e.g. batch-norm statistics
    buffer_names: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.parameters: dict[str, np.ndarray] = {}
        self.gradients: dict[str, np.ndarray] = {}
        self.cache: dict[str, np.ndarray] = {}
        #: state that is saved with the model but not trained (e.g. running statistics)
        self.buffers: dict[str, np.ndarray] = {}
        #: the per-example input shape fixed at the first forward (None until then)
        self.n_in: tuple[int, ...] | int | None = None
        #: random generator for initialisation (and dropout); the model sets it from its seed
        self.rng: np.random.Generator | None = None
        #: training mode (dropout drops) or evaluation mode (it does not)
        self.training: bool = True
        #: whether backward must return ∂L/∂X; the model turns it off for its first layer,
        #: whose input is data, saving that layer's largest product
        self.input_grad: bool = True

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self.forward(X)

    @abstractmethod
    def forward(self, X: np.ndarray) -> np.ndarray:
        """Compute the layer's output and cache what the backward pass needs."""

    @abstractmethod
    def backward(self, dLdY: np.ndarray) -> np.ndarray:
        """Store ∂L/∂parameters in ``gradients`` and return ∂L/∂X."""

    def restore(self, parameters: dict[str, np.ndarray], buffers: dict[str, np.ndarray]) -> None:
        """Take saved parameters and buffers (a loaded model, a checkpoint)."""
        self.parameters = {k: np.array(v) for k, v in parameters.items()}
        self.buffers = {k: np.array(v) for k, v in buffers.items()}
        if self.parameters:
            self.n_in = self._n_in_from(self.parameters)
        self.clear_gradients()

    def _n_in_from(self, parameters: dict[str, np.ndarray]) -> tuple[int, ...]:
        """The per-example input shape that parameters of these shapes were made for."""
        return (next(iter(parameters.values())).shape[-1],)  # per-feature parameters such as γ, β

    def describe(self) -> str:
        """A short description for ``NeuralNetwork.summary``, e.g. "16 units, relu"."""
        return ""

    def clear_gradients(self) -> None:
        """Forget the cache and zero every gradient."""
        self.cache = {}
        self.gradients = {k: np.zeros_like(v) for k, v in self.parameters.items()}

    def forward_with_param(self, param_name: str, X: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        """Return f(value) = forward(X) with parameter ``param_name`` set to ``value``.

        The gradient checker perturbs one parameter at a time through this.
        """
        if not self.parameters:
            self.forward(X)  # create the parameters
        if param_name not in self.parameters:
            raise KeyError(
                f"{type(self).__name__} has no parameter {param_name!r}; it has {sorted(self.parameters)}"
            )

        def inner_forward(param_val: np.ndarray) -> np.ndarray:
            self.parameters[param_name] = param_val
            return self.forward(X)

        return inner_forward

    def _set_units(self, n_out, activation: str, weight_init: str, rng) -> None:
        """n_out output units (an integer >= 1), their activation and weight initialiser:
        what the dense, recurrent and convolution layers share."""
        from ..activations import initialize_activation
        from ..weights import initialize_weights

        if not isinstance(n_out, (int, np.integer)) or isinstance(n_out, bool) or n_out < 1:
            raise ValueError(f"{type(self).__name__} needs n_out >= 1 (an integer); got {n_out!r}")
        self.n_out = int(n_out)
        self.activation_name = activation
        self.activation = initialize_activation(activation)
        self.init_weights = initialize_weights(weight_init, activation=activation)
        self.rng = rng

    def _from_cache(self, *keys: str) -> tuple[np.ndarray, ...]:
        if not all(k in self.cache for k in keys):
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return tuple(self.cache[k] for k in keys)

    def _generator(self) -> np.random.Generator:
        if self.rng is None:
            self.rng = np.random.default_rng()
        return self.rng

    # -- input checks shared by the layers ------------------------------------------

    def _check_input(self, X: np.ndarray, ndim: int, layout: str) -> None:
        """Raise ValueError unless X is a floating array of rank ``ndim``."""
        name = type(self).__name__
        if not isinstance(X, np.ndarray):
            raise ValueError(f"{name} expects a numpy array; got {type(X).__name__}")
        if X.ndim != ndim:
            raise ValueError(f"{name} expects a {ndim}-D input {layout}; got shape {X.shape}")
        if not np.issubdtype(X.dtype, np.floating):
            raise ValueError(
                f"{name} expects a floating-point input (float32 or float64); got {X.dtype}: "
                "convert it with X.astype(np.float32)"
            )
        if X.shape[0] < 1:
            raise ValueError(f"{name} needs a batch of at least one example; got shape {X.shape}")

    def _check_same_input(self, per_example: tuple[int, ...], dtype: np.dtype, what: str) -> None:
        """Once initialised, a layer takes inputs of one per-example shape and dtype."""
        name = type(self).__name__
        if self.n_in != per_example:
            raise ValueError(
                f"{name} was initialised for inputs with {what} {self.n_in}; got {per_example}. "
                "Feed inputs of the same width, or build a new layer"
            )
        param_dtype = next(iter(self.parameters.values())).dtype if self.parameters else dtype
        if param_dtype != dtype:
            raise ValueError(
                f"{name} holds {param_dtype} parameters but got a {dtype} input; "
                f"cast the input with X.astype(np.{param_dtype})"
            )
