"""Test fixture: a correct solution of the Spring 2025 term's layers, which adds BatchNorm1D
(forward(X, mode="train"|"test"), backward(dY) -> dX; keys gamma/beta, running stats in the cache)
to the NHWC FullyConnected/Conv2D/Pool2D/Flatten of the other terms."""

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


def initialize_layer(name, activation=None, weight_init=None, n_out=None, kernel_shape=None, stride=None,
                     pad=None, mode=None, eps=1e-8, momentum=0.95, keep_dim="first"):
    if name == "fully_connected":
        return FullyConnected(n_out=n_out, activation=activation, weight_init=weight_init)
    if name == "batchnorm1d":
        return BatchNorm1D(eps=eps, momentum=momentum)
    if name == "conv2d":
        return Conv2D(n_out=n_out, activation=activation, kernel_shape=kernel_shape, stride=stride, pad=pad,
                      weight_init=weight_init)
    if name == "pool2d":
        return Pool2D(kernel_shape=kernel_shape, mode=mode, stride=stride, pad=pad)
    if name == "flatten":
        return Flatten(keep_dim=keep_dim)
    raise NotImplementedError(name)


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


class BatchNorm1D(Layer):
    """Batch normalisation over the rows of X (B, C), the term's conventions:

        mu = mean(X, axis 0), var = mean((X - mu)**2, axis 0)      (biased), each (1, C)
        X_hat = (X - mu) / sqrt(var + eps);  Y = gamma * X_hat + beta
        running = momentum * running + (1 - momentum) * batch       (running starts at zeros)

    mode "test" normalises with the running mean and variance instead and updates nothing.
    """

    def __init__(self, weight_init="xavier_uniform", eps=1e-8, momentum=0.9):
        super().__init__()
        self.eps = eps
        self.momentum = momentum

    def _init_parameters(self, X_shape):
        self.n_in = X_shape[1]
        gamma = np.ones((1, self.n_in))
        beta = np.zeros((1, self.n_in))
        self.parameters = {"gamma": gamma, "beta": beta}
        self.gradients = {"gamma": np.zeros_like(gamma), "beta": np.zeros_like(beta)}
        self.cache = {"X": None, "X_hat": None, "mu": None, "var": None,
                      "running_mu": np.zeros((1, self.n_in)), "running_var": np.zeros((1, self.n_in))}

    def clear_gradients(self):
        # the running statistics live in the cache (the term's keys) but must outlive an update
        running = {k: self.cache[k] for k in ("running_mu", "running_var") if k in self.cache}
        super().clear_gradients()
        self.cache.update(running)

    def forward(self, X, mode="train"):
        if self.n_in is None:
            self._init_parameters(X.shape)
        gamma, beta = self.parameters["gamma"], self.parameters["beta"]
        if mode == "train":
            mu = X.mean(axis=0, keepdims=True)                       # (1, C)
            var = ((X - mu) ** 2).mean(axis=0, keepdims=True)        # (1, C), biased
            X_hat = (X - mu) / np.sqrt(var + self.eps)               # (B, C)
            m = self.momentum
            self.cache.update(X=X, X_hat=X_hat, mu=mu, var=var,
                              running_mu=m * self.cache["running_mu"] + (1 - m) * mu,
                              running_var=m * self.cache["running_var"] + (1 - m) * var)
        elif mode == "test":
            X_hat = (X - self.cache["running_mu"]) / np.sqrt(self.cache["running_var"] + self.eps)
        else:
            raise ValueError(f"mode must be 'train' or 'test', not {mode!r}")
        return gamma * X_hat + beta

    def backward(self, dY):
        X, mu, var = self.cache["X"], self.cache["mu"], self.cache["var"]
        B = X.shape[0]
        inv_std = 1.0 / np.sqrt(var + self.eps)                      # (1, C)
        X_hat = (X - mu) * inv_std                                   # (B, C)
        dX_hat = dY * self.parameters["gamma"]                       # (B, C)
        self.gradients["gamma"] = np.sum(dY * X_hat, axis=0, keepdims=True)
        self.gradients["beta"] = np.sum(dY, axis=0, keepdims=True)
        # mu and var depend on every row: the two sums are those paths
        return inv_std / B * (B * dX_hat - dX_hat.sum(axis=0, keepdims=True)
                              - X_hat * np.sum(dX_hat * X_hat, axis=0, keepdims=True))


def _pads(pad, kernel_shape):
    if pad == "same":
        return (kernel_shape[0] - 1) // 2, (kernel_shape[1] - 1) // 2
    if pad == "valid":
        return 0, 0
    if isinstance(pad, int):
        return pad, pad
    raise ValueError(f"Invalid pad {pad!r}")


class Conv2D(Layer):
    def __init__(self, n_out, kernel_shape, activation, stride=1, pad="same", weight_init="xavier_uniform"):
        super().__init__()
        self.n_out = n_out
        self.kernel_shape = kernel_shape
        self.stride = stride
        self.pad = pad
        self.activation = initialize_activation(activation)
        self.init_weights = initialize_weights(weight_init, activation=activation)

    def _init_parameters(self, X_shape):
        self.n_in = X_shape[3]
        W = self.init_weights(tuple(self.kernel_shape) + (self.n_in, self.n_out))
        b = np.zeros((1, self.n_out))
        self.parameters = {"W": W, "b": b}
        self.cache = {"X": None, "Z": None}
        self.gradients = {"W": np.zeros_like(W), "b": np.zeros_like(b)}
        self.pad = _pads(self.pad, self.kernel_shape)

    def forward(self, X):
        if self.n_in is None:
            self._init_parameters(X.shape)
        W, b = self.parameters["W"], self.parameters["b"]
        kh, kw, _, F = W.shape
        ph, pw = self.pad
        s = self.stride
        Xp = np.pad(X, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
        rows = (Xp.shape[1] - kh) // s + 1
        cols = (Xp.shape[2] - kw) // s + 1
        Z = np.zeros((X.shape[0], rows, cols, F)) + b.reshape(1, 1, 1, F)
        for i in range(kh):
            for j in range(kw):
                patch = Xp[:, i:i + s * (rows - 1) + 1:s, j:j + s * (cols - 1) + 1:s, :]
                Z += np.tensordot(patch, W[i, j], axes=([3], [0]))
        self.cache["X"] = X
        self.cache["Z"] = Z
        return self.activation(Z)

    def backward(self, dLdY):
        X, Z = self.cache["X"], self.cache["Z"]
        W = self.parameters["W"]
        kh, kw, _, _ = W.shape
        ph, pw = self.pad
        s = self.stride
        dZ = self.activation.backward(Z, dLdY)
        rows, cols = dZ.shape[1], dZ.shape[2]
        Xp = np.pad(X, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
        dXp = np.zeros_like(Xp)
        dW = np.zeros_like(W)
        for i in range(kh):
            for j in range(kw):
                window = (slice(None), slice(i, i + s * (rows - 1) + 1, s), slice(j, j + s * (cols - 1) + 1, s))
                dW[i, j] = np.tensordot(Xp[window], dZ, axes=([0, 1, 2], [0, 1, 2]))
                dXp[window] += np.tensordot(dZ, W[i, j], axes=([3], [1]))
        self.gradients["W"] = dW
        self.gradients["b"] = dZ.sum(axis=(0, 1, 2)).reshape(1, -1)
        return dXp[:, ph:ph + X.shape[1], pw:pw + X.shape[2], :]


class Pool2D(Layer):
    def __init__(self, kernel_shape, mode="max", stride=1, pad=0):
        super().__init__()
        if isinstance(kernel_shape, int):
            kernel_shape = (kernel_shape, kernel_shape)
        self.kernel_shape = kernel_shape
        self.stride = stride
        self.pad = _pads(pad, kernel_shape)
        self.mode = mode

    def _windows(self, rows, cols):
        kh, kw = self.kernel_shape
        s = self.stride
        for i in range(kh):
            for j in range(kw):
                yield i, j, (slice(None), slice(i, i + s * (rows - 1) + 1, s), slice(j, j + s * (cols - 1) + 1, s))

    def forward(self, X):
        kh, kw = self.kernel_shape
        ph, pw = self.pad
        fill = -np.inf if self.mode == "max" else 0.0
        Xp = np.pad(X, ((0, 0), (ph, ph), (pw, pw), (0, 0)), constant_values=fill)
        rows = (Xp.shape[1] - kh) // self.stride + 1
        cols = (Xp.shape[2] - kw) // self.stride + 1
        stack = np.stack([Xp[w] for _, _, w in self._windows(rows, cols)])
        out = stack.max(axis=0) if self.mode == "max" else stack.mean(axis=0)
        self.cache = {"Xp": Xp, "out": out, "X_shape": X.shape}
        return out

    def backward(self, dLdY):
        Xp, out, shape = self.cache["Xp"], self.cache["out"], self.cache["X_shape"]
        kh, kw = self.kernel_shape
        ph, pw = self.pad
        rows, cols = out.shape[1], out.shape[2]
        dXp = np.zeros_like(Xp)
        taken = np.zeros(out.shape, dtype=bool)
        for _, _, w in self._windows(rows, cols):
            if self.mode == "max":
                hit = (Xp[w] == out) & ~taken
                dXp[w] += dLdY * hit
                taken |= hit
            else:
                dXp[w] += dLdY / (kh * kw)
        return dXp[:, ph:ph + shape[1], pw:pw + shape[2], :]


class Flatten(Layer):
    def __init__(self, keep_dim="first"):
        super().__init__()
        self.keep_dim = keep_dim

    def forward(self, X):
        self.cache["in_dims"] = X.shape
        return X.reshape(X.shape[0], -1)

    def backward(self, dLdY):
        return dLdY.reshape(self.cache["in_dims"])
