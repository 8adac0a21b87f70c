"""Test fixture: a correct solution of the Fall 2023 term's only layer, FullyConnected, in the
homework's API: forward(X) caches, backward(dLdY) fills ``gradients`` and returns dX."""

import numpy as np

from neural_networks.activations import initialize_activation
from neural_networks.weights import initialize_weights


class Layer:
    def __init__(self):
        self.activation = None
        self.n_in = None
        self.n_out = None
        self.parameters = {}
        self.cache = {}
        self.gradients = {}

    def clear_gradients(self):
        self.cache = {}
        self.gradients = {k: np.zeros_like(v) for k, v in self.gradients.items()}


def initialize_layer(name, activation=None, weight_init=None, n_out=None):
    # the term's factory has a single layer kind and ignores the name
    return FullyConnected(n_out=n_out, activation=activation, weight_init=weight_init)


class FullyConnected(Layer):
    def __init__(self, n_out, activation, weight_init="xavier_uniform"):
        super().__init__()
        self.n_out = n_out
        self.activation = initialize_activation(activation)
        self.init_weights = initialize_weights(weight_init, activation=activation)

    def _init_parameters(self, X_shape):
        self.n_in = X_shape[1]
        W = self.init_weights((self.n_in, self.n_out))
        b = np.zeros((1, self.n_out))
        self.parameters = {"W": W, "b": b}
        self.cache = {"X": None, "Z": None}
        self.gradients = {"W": np.zeros_like(W), "b": np.zeros_like(b)}

    def forward(self, X):
        if self.n_in is None:
            self._init_parameters(X.shape)
        Z = X @ self.parameters["W"] + self.parameters["b"]
        self.cache["X"] = X
        self.cache["Z"] = Z
        return self.activation(Z)

    def backward(self, dLdY):
        X, Z = self.cache["X"], self.cache["Z"]
        dZ = self.activation.backward(Z, dLdY)
        self.gradients["W"] = X.T @ dZ
        self.gradients["b"] = np.sum(dZ, axis=0, keepdims=True)
        return dZ @ self.parameters["W"].T

