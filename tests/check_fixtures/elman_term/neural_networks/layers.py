"""Test fixture: a correct solution of the Spring 2020 term's layers - FullyConnected, Elman
(X (batch, n_in, T), BPTT) and NHWC Conv2D; that term has no Pool2D and no Flatten."""

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
                     pad=None, mode=None, keep_dim="first"):
    if name == "fully_connected":
        return FullyConnected(n_out=n_out, activation=activation, weight_init=weight_init)
    if name == "elman":
        return Elman(n_out=n_out, activation=activation, weight_init=weight_init)
    if name == "conv2d":
        return Conv2D(n_out=n_out, activation=activation, kernel_shape=kernel_shape, stride=stride, pad=pad,
                      weight_init=weight_init)
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


class Elman(Layer):
    """Elman recurrent layer over X (batch, n_in, T), time last:

        s_0 = 0,  Z_t = X_t W + s_{t-1} U + b,  s_t = f(Z_t)      W (n_in, n_out), U (n_out, n_out)

    forward returns the last state s_T (batch, n_out); backward takes dL/ds_T and returns the
    list of dL/dX_t (batch, n_in) for t = 1..T, in time order (backpropagation through time).
    """

    def __init__(self, n_out, activation="tanh", weight_init="xavier_uniform"):
        super().__init__()
        self.n_out = n_out
        self.activation = initialize_activation(activation)
        self.init_weights = initialize_weights(weight_init, activation=activation)

    def _init_parameters(self, X_shape):
        self.n_in = X_shape[1]
        W = self.init_weights((self.n_in, self.n_out))
        U = self.init_weights((self.n_out, self.n_out))
        b = np.zeros((1, self.n_out))
        self.parameters = {"W": W, "U": U, "b": b}
        self.gradients = {k: np.zeros_like(v) for k, v in self.parameters.items()}

    def _init_cache(self, X_shape):
        self.cache = {"s": [np.zeros((X_shape[0], self.n_out))], "Z": [], "X": []}

    def forward_step(self, X):
        W, U, b = self.parameters["W"], self.parameters["U"], self.parameters["b"]
        Z = X @ W + self.cache["s"][-1] @ U + b                      # (batch, n_out)
        s = self.activation(Z)
        self.cache["X"].append(X)
        self.cache["Z"].append(Z)
        self.cache["s"].append(s)
        return s

    def forward(self, X):
        if self.n_in is None:
            self._init_parameters(X.shape[:2])
        self._init_cache(X.shape)
        for t in range(X.shape[2]):
            out = self.forward_step(X[:, :, t])
        return out

    def backward(self, dLdY):
        W, U = self.parameters["W"], self.parameters["U"]
        Xs, Zs, states = self.cache["X"], self.cache["Z"], self.cache["s"]
        dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(self.parameters["b"])
        dLdX = [None] * len(Xs)
        ds = dLdY                                                    # dL/ds_t, (batch, n_out)
        for t in reversed(range(len(Xs))):
            dZ = self.activation.backward(Zs[t], ds)
            dW += Xs[t].T @ dZ
            dU += states[t].T @ dZ                                   # states[t] is s_{t-1}
            db += dZ.sum(axis=0, keepdims=True)
            dLdX[t] = dZ @ W.T
            ds = dZ @ U.T
        self.gradients = {"W": dW, "U": dU, "b": db}
        return dLdX


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

