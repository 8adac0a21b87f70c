"""Test fixture: the Fall 2023 term's SGD with momentum (update(name, param, grad) -> delta,
no epoch and no learning-rate schedule)."""

import numpy as np


def initialize_optimizer(name, lr, momentum=None, clip_norm=None):
    if name != "SGD":
        raise NotImplementedError(name)
    return SGD(lr, momentum or 0.0, clip_norm)


class SGD:
    def __init__(self, lr, momentum=0.0, clip_norm=None):
        self.lr, self.momentum, self.clip_norm, self.velocity = lr, momentum, clip_norm, {}

    def update(self, param_name, param, param_grad):
        if self.clip_norm is not None:
            norm = np.linalg.norm(param_grad)
            if norm > self.clip_norm:
                param_grad = param_grad * self.clip_norm / norm
        v = self.momentum * self.velocity.get(param_name, np.zeros_like(param)) + self.lr * param_grad
        self.velocity[param_name] = v
        return v
