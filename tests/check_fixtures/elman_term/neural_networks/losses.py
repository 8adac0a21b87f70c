"""Test fixture: the Spring 2020 term's losses in the homework's API (CrossEntropy(name),
L2(name), forward(Y, Y_hat), backward(Y, Y_hat))."""

import numpy as np


def initialize_loss(name):
    if name == "cross_entropy":
        return CrossEntropy(name)
    if name == "l2":
        return L2(name)
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


class L2:
    """Mean squared error as the Spring 2020 handout defines it: J = (1/m) sum_i ||y_i - y_hat_i||^2."""

    def __init__(self, name):
        self.name = name

    def __call__(self, Y, Y_hat):
        return self.forward(Y, Y_hat)

    def forward(self, Y, Y_hat):
        m = Y.shape[0]
        return np.sum((Y - Y_hat) ** 2) / m

    def backward(self, Y, Y_hat):
        m = Y.shape[0]
        return 2.0 * (Y_hat - Y) / m
