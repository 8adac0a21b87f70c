"""Test fixture: a correct solution of the Spring 2020 (Elman) term's activations - Linear,
Sigmoid, TanH, ReLU, SoftMax, no ArcTan - in the homework's API (forward(Z), backward(Z, dY))."""

import numpy as np


class Activation:
    def __call__(self, Z):
        return self.forward(Z)


def initialize_activation(name):
    table = {"linear": Linear, "sigmoid": Sigmoid, "tanh": TanH, "relu": ReLU, "softmax": SoftMax}
    if name not in table:
        raise NotImplementedError(f"{name} activation is not implemented")
    return table[name]()


class Linear(Activation):
    def forward(self, Z):
        return Z

    def backward(self, Z, dY):
        return dY


class Sigmoid(Activation):
    def forward(self, Z):
        return 1.0 / (1.0 + np.exp(-Z))

    def backward(self, Z, dY):
        s = self.forward(Z)
        return dY * s * (1.0 - s)


class TanH(Activation):
    def forward(self, Z):
        return np.tanh(Z)

    def backward(self, Z, dY):
        t = np.tanh(Z)
        return dY * (1.0 - t ** 2)


class ReLU(Activation):
    def forward(self, Z):
        return np.where(Z > 0, Z, 0.0)

    def backward(self, Z, dY):
        return np.where(Z > 0, dY, 0.0)


class SoftMax(Activation):
    def forward(self, Z):
        shifted = Z - np.max(Z, axis=1, keepdims=True)
        e = np.exp(shifted)
        return e / np.sum(e, axis=1, keepdims=True)

    def backward(self, Z, dY):
        s = self.forward(Z)
        inner = np.sum(s * dY, axis=1, keepdims=True)
        return s * (dY - inner)
