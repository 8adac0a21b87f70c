"""Test fixture (Spring 2020 term): SGD with momentum in the homework's API (update(name, param, grad, epoch) → delta)."""

import numpy as np


def initialize_optimizer(name, lr, lr_scheduler=None, momentum=None, clip_norm=None, lr_decay=None,
                         staircase=None, stage_length=None):
    if name != "SGD":
        raise NotImplementedError(name)
    return SGD(lr, momentum or 0.0)


class SGD:
    def __init__(self, lr, momentum=0.0):
        self.lr, self.momentum, self.velocity = lr, momentum, {}

    def update(self, param_name, param, param_grad, epoch):
        v = self.velocity.get(param_name, np.zeros_like(param))
        v = self.momentum * v + self.lr * param_grad
        self.velocity[param_name] = v
        return v
