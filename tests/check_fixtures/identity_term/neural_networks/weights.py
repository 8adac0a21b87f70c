"""Test fixture (Fall 2023 term): weight initialisers in the homework's API (initialize_weights(name, activation))."""

import numpy as np


def initialize_weights(name, activation=None, mode="fan_in"):
    if name != "xavier_uniform":
        raise NotImplementedError(name)
    return XavierUniform(activation)


class XavierUniform:
    def __init__(self, activation=None):
        self.gain = {"relu": np.sqrt(2.0), "tanh": 5.0 / 3.0}.get(activation, 1.0)

    def __call__(self, shape):
        fan_in = int(np.prod(shape[:-1]))
        fan_out = int(shape[-1] * (np.prod(shape[:-2]) if len(shape) > 2 else 1))
        bound = self.gain * np.sqrt(6.0 / (fan_in + fan_out))
        return np.random.uniform(-bound, bound, size=shape)
