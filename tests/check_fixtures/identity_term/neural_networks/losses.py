"""Test fixture: the Fall 2023 term's only loss, cross-entropy (CrossEntropy(name),
forward(Y, Y_hat), backward(Y, Y_hat))."""

import numpy as np


def initialize_loss(name):
    if name == "cross_entropy":
        return CrossEntropy(name)
    raise NotImplementedError(name)


class CrossEntropy:
    def __init__(self, name):
        self.name = name

    def __call__(self, Y, Y_hat):
        return self.forward(Y, Y_hat)

    def forward(self, Y, Y_hat):
        m = Y.shape[0]
        return -np.sum(Y * np.log(Y_hat)) / m

    def backward(self, Y, Y_hat):
        m = Y.shape[0]
        return -(Y / Y_hat) / m
