"""Copies of the correct homework package (``check_fixtures/correct``), each with exactly one
mistake, and the verdict and catalogue rule ``backproplab check`` must give for it.

A mutation is (name, file, old text, new text, part, verdict, rule); the old text is
replaced at its first occurrence (``occurrence`` picks a later one)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

CORRECT = Path(__file__).parent / "check_fixtures" / "correct"


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str
    old: str
    new: str
    part: str
    verdict: str
    rule: str | None
    occurrence: int = 1
    also: tuple[tuple[str, str, str, int], ...] = ()  # further (file, old, new, occurrence) edits


def apply(tmp_path: Path, mutation: Mutation) -> Path:
    return package_with(tmp_path, (mutation.file, mutation.old, mutation.new, mutation.occurrence), *mutation.also)


def package_with(tmp_path: Path, *edits: tuple[str, str, str, int], fixture: str = "correct") -> Path:
    """A copy of a fixture package (``check_fixtures/<fixture>``) with each (file, old, new,
    occurrence) applied."""
    root = tmp_path / "homework"
    shutil.copytree(CORRECT.parent / fixture, root)
    for file, old, new, occurrence in edits:
        path = root / "neural_networks" / file
        text = path.read_text()
        at = -1
        for _ in range(occurrence):
            at = text.find(old, at + 1)
            assert at >= 0, f"{old!r} occurs fewer than {occurrence} times in {fixture}/{file}"
        path.write_text(text[:at] + new + text[at + len(old):])
    return root


FC_BACKWARD = 'dZ = self.activation.backward(Z, dLdY)\n        self.gradients["W"] = X.T @ dZ'

MUTATIONS = [
    # activations
    Mutation("relu ignores dY", "activations.py", "return np.where(Z > 0, dY, 0.0)", "return np.where(Z > 0, 1.0, 0.0)",
             "ReLU.backward", "wrong", "dY-ignored"),
    Mutation("sigmoid derivative twice", "activations.py", "return dY * s * (1.0 - s)",
             "return dY * (s * (1.0 - s)) ** 2", "Sigmoid.backward", "wrong", "activation-twice"),
    Mutation("tanh takes Z for its output", "activations.py", "t = np.tanh(Z)\n        return dY",
             "t = Z\n        return dY", "TanH.backward", "wrong", "z-as-output"),
    Mutation("softmax jacobian elementwise", "activations.py", "return s * (dY - inner)", "return dY * s * (1 - s)",
             "SoftMax.backward", "wrong", "softmax-elementwise"),
    Mutation("softmax overflows", "activations.py", "shifted = Z - np.max(Z, axis=1, keepdims=True)", "shifted = Z",
             "SoftMax.forward", "wrong", "softmax-overflow"),
    Mutation("softmax over the batch", "activations.py",
             "shifted = Z - np.max(Z, axis=1, keepdims=True)\n        e = np.exp(shifted)\n        "
             "return e / np.sum(e, axis=1, keepdims=True)",
             "shifted = Z - np.max(Z, axis=0, keepdims=True)\n        e = np.exp(shifted)\n        "
             "return e / np.sum(e, axis=0, keepdims=True)", "SoftMax.forward", "wrong", "softmax-axis"),
    Mutation("relu changes its input", "activations.py", "return np.where(Z > 0, Z, 0.0)",
             "Z[Z < 0] = 0.0\n        return Z", "ReLU.forward", "wrong", "input-modified"),
    Mutation("relu gives integers", "activations.py", "return np.where(Z > 0, Z, 0.0)",
             "return np.where(Z > 0, Z, 0).astype(int)", "ReLU.forward", "wrong", "integer-result"),
    Mutation("arctan sign", "activations.py", "return dY / (1.0 + Z ** 2)", "return -dY / (1.0 + Z ** 2)",
             "ArcTan.backward", "wrong", "sign"),
    Mutation("arctan blank", "activations.py", "return np.arctan(Z)", "return ...", "ArcTan.forward",
             "not implemented", "not-implemented"),
    Mutation("tanh raises", "activations.py", "return np.tanh(Z)", "raise NotImplementedError", "TanH.forward",
             "not implemented", "not-implemented"),
    Mutation("tanh divides by zero", "activations.py", "return np.tanh(Z)", "return np.tanh(Z) / 0.0", "TanH.forward",
             "wrong", "not-finite"),
    Mutation("arctan backward of a wrong forward", "activations.py", "return np.arctan(Z)", "return 2 * np.arctan(Z)",
             "ArcTan.backward", "wrong", "forward-wrong",
             also=(("activations.py", "return dY / (1.0 + Z ** 2)", "return 2 * dY / (1.0 + Z ** 2)", 1),)),
    Mutation("sigmoid backward uses a blank forward", "activations.py", "return 1.0 / (1.0 + np.exp(-Z))", "return ...",
             "Sigmoid.backward", "error", "uses-blank"),
    Mutation("numpy 2 removed np.product", "activations.py", "return 1.0 / (1.0 + np.exp(-Z))",
             "return np.product([1.0]) / (1.0 + np.exp(-Z))", "Sigmoid.forward", "error", "numpy-removed"),
    # the loss
    Mutation("loss gradient not averaged", "losses.py", "return -(Y / Y_hat) / m", "return -(Y / Y_hat)",
             "CrossEntropy.backward", "wrong", "times-m"),
    Mutation("loss gradient of softmax+CE", "losses.py", "return -(Y / Y_hat) / m", "return (Y_hat - Y) / m",
             "CrossEntropy.backward", "wrong", "combined-gradient"),
    Mutation("loss gradient not the derivative", "losses.py", "return -(Y / Y_hat) / m",
             "return -(Y / Y_hat ** 2) / m", "CrossEntropy.backward", "wrong", "not-derivative"),
    Mutation("loss summed", "losses.py", "return -np.sum(Y * np.log(Y_hat)) / m", "return -np.sum(Y * np.log(Y_hat))",
             "CrossEntropy.forward", "wrong", "times-m"),
    Mutation("loss averaged over classes", "losses.py", "return -np.sum(Y * np.log(Y_hat)) / m",
             "return -np.sum(Y * np.log(Y_hat)) / Y.size", "CrossEntropy.forward", "wrong", "mean-over-classes"),
    Mutation("loss per example", "losses.py", "return -np.sum(Y * np.log(Y_hat)) / m",
             "return -np.sum(Y * np.log(Y_hat), axis=1)", "CrossEntropy.forward", "wrong", "per-example"),
    # the dense layer
    Mutation("dense skips the activation derivative", "layers.py", FC_BACKWARD,
             'dZ = dLdY\n        self.gradients["W"] = X.T @ dZ', "FullyConnected.backward", "wrong",
             "activation-skipped"),
    Mutation("dense applies the derivative twice", "layers.py", FC_BACKWARD,
             'dZ = self.activation.backward(Z, self.activation.backward(Z, dLdY))\n        '
             'self.gradients["W"] = X.T @ dZ', "FullyConnected.backward", "wrong", "activation-twice"),
    Mutation("dense caches its output", "layers.py", 'self.cache["Z"] = Z\n        return self.activation(Z)',
             'self.cache["Z"] = self.activation(Z)\n        return self.activation(Z)', "FullyConnected.backward",
             "wrong", "cached-output"),
    Mutation("dense bias not summed", "layers.py", 'self.gradients["b"] = np.sum(dZ, axis=0, keepdims=True)',
             'self.gradients["b"] = dZ', "FullyConnected.backward", "wrong", "bias-not-summed"),
    Mutation("dense dW transposed", "layers.py", 'self.gradients["W"] = X.T @ dZ', 'self.gradients["W"] = dZ.T @ X',
             "FullyConnected.backward", "wrong", "transposed"),
    Mutation("dense dW divided by m", "layers.py", 'self.gradients["W"] = X.T @ dZ',
             'self.gradients["W"] = X.T @ dZ / X.shape[0]', "FullyConnected.backward", "wrong", "over-m"),
    Mutation("dense dW not stored", "layers.py", 'self.gradients["W"] = X.T @ dZ', 'dW = X.T @ dZ',
             "FullyConnected.backward", "wrong", "not-stored"),
    Mutation("dense keeps the first input", "layers.py", 'self.cache["X"] = X',
             'if self.cache["X"] is None:\n            self.cache["X"] = X', "FullyConnected.backward", "wrong",
             "stale-cache"),
    Mutation("dense bias per example", "layers.py", "b = np.zeros((1, self.n_out))",
             "b = np.zeros((X_shape[0], self.n_out))", "FullyConnected.forward", "wrong", "batch-dim-params"),
    Mutation("dense forgets its activation", "layers.py", "return self.activation(Z)", "return Z",
             "FullyConnected.forward", "wrong", "activation-not-applied"),
    Mutation("dense bias of one entry", "layers.py", "b = np.zeros((1, self.n_out))", "b = np.zeros((1, 1))",
             "FullyConnected.forward", "wrong", "param-shape"),
    # the convolution
    Mutation("convolution flips the kernel", "layers.py", "np.tensordot(patch, W[i, j], axes=([3], [0]))",
             "np.tensordot(patch, W[kh - 1 - i, kw - 1 - j], axes=([3], [0]))", "Conv2D.forward", "wrong",
             "kernel-flipped"),
    Mutation("convolution ignores the stride", "layers.py", "s = self.stride", "s = 1", "Conv2D.forward", "wrong",
             "stride-ignored"),
    Mutation("convolution pads a valid convolution", "layers.py", 'if pad == "valid":\n        return 0, 0',
             'if pad == "valid":\n        return (kernel_shape[0] - 1) // 2, (kernel_shape[1] - 1) // 2', "Conv2D.forward",
             "wrong", "padding-added"),
    Mutation("convolution ignores the padding", "layers.py", "Xp = np.pad(X, ((0, 0), (ph, ph), (pw, pw), (0, 0)))",
             "Xp = X", "Conv2D.forward", "wrong", "padding-ignored"),
    Mutation("convolution dW from the unpadded input", "layers.py",
             "dW[i, j] = np.tensordot(Xp[window], dZ, axes=([0, 1, 2], [0, 1, 2]))",
             "dW[i, j] = np.tensordot(np.pad(X, ((0, 0), (0, 2 * ph), (0, 2 * pw), (0, 0)))[window], dZ, "
             "axes=([0, 1, 2], [0, 1, 2]))", "Conv2D.backward", "wrong", "unpadded-input"),
    Mutation("convolution crops with -0", "layers.py", "return dXp[:, ph:ph + X.shape[1], pw:pw + X.shape[2], :]",
             "return dXp[:, ph:-ph, pw:-pw, :]", "Conv2D.backward", "wrong", "empty"),
    Mutation("convolution bias not summed over the batch", "layers.py",
             'self.gradients["b"] = dZ.sum(axis=(0, 1, 2)).reshape(1, -1)', 'self.gradients["b"] = dZ.sum(axis=(1, 2))',
             "Conv2D.backward", "wrong", "bias-not-summed"),
    Mutation("convolution skips the activation derivative", "layers.py", "dZ = self.activation.backward(Z, dLdY)",
             "dZ = dLdY", "Conv2D.backward", "wrong", "activation-skipped", occurrence=2),
    # pooling and flatten
    Mutation("average pooling sums", "layers.py", "else stack.mean(axis=0)", "else stack.sum(axis=0)",
             "Pool2D.average.forward", "wrong", "average-not-divided"),
    Mutation("max pooling overwrites overlaps", "layers.py", "dXp[w] += dLdY * hit",
             "dXp[w] = np.where(hit, dLdY, dXp[w])", "Pool2D.max.backward", "wrong", "overlap-overwritten"),
    Mutation("average pooling overwrites overlaps", "layers.py", "dXp[w] += dLdY / (kh * kw)",
             "dXp[w] = dLdY / (kh * kw)", "Pool2D.average.backward", "wrong", "overlap-overwritten"),
    Mutation("pooling swaps the modes", "layers.py", "self.mode = mode",
             'self.mode = "average" if mode == "max" else "max"', "Pool2D.max.forward", "wrong", "mode-swapped"),
    Mutation("pooling ignores the stride", "layers.py", "self.stride = stride", "self.stride = 1",
             "Pool2D.max.forward", "wrong", "stride-ignored", occurrence=2),
    Mutation("flatten in column-major order", "layers.py", "return X.reshape(X.shape[0], -1)",
             'return X.reshape(X.shape[0], -1, order="F")', "Flatten.forward", "wrong", "flatten-order"),
    Mutation("flatten to one dimension", "layers.py", "return X.reshape(X.shape[0], -1)", "return X.reshape(-1)",
             "Flatten.forward", "wrong", "wrong-shape"),
    Mutation("flatten backward left blank", "layers.py", 'return dLdY.reshape(self.cache["in_dims"])', "return dX",
             "Flatten.backward", "not implemented", "not-implemented"),
    # the model
    Mutation("model backward skips the first layer", "models.py", "for layer in reversed(self.layers):",
             "for layer in reversed(self.layers[1:]):", "NeuralNetwork.backward", "wrong", "model-skips-first"),
    Mutation("model backward skips the last layer", "models.py", "for layer in reversed(self.layers):",
             "for layer in reversed(self.layers[:-1]):", "NeuralNetwork.backward", "error", "model-skips-last"),
    Mutation("model backward in forward order", "models.py", "for layer in reversed(self.layers):",
             "for layer in self.layers:", "NeuralNetwork.backward", "error", "model-order"),
    Mutation("model backward returns no loss", "models.py", "return L", "return None", "NeuralNetwork.backward",
             "wrong", "model-returns-loss"),
    Mutation("model forward skips the last layer", "models.py", "for layer in self.layers:\n            X = layer",
             "for layer in self.layers[:-1]:\n            X = layer", "NeuralNetwork.forward", "wrong", "model-output"),
    Mutation("model backward clears the gradients it computed", "models.py", "            dY = layer.backward(dY)\n",
             "            dY = layer.backward(dY)\n        for layer in self.layers:\n            layer.clear_gradients()\n",
             "NeuralNetwork.backward", "wrong", "all-zero"),
    Mutation("training climbs the loss", "models.py", "layer.parameters[name] = param - delta",
             "layer.parameters[name] = param + delta", "NeuralNetwork.train", "wrong", "train-accuracy"),
    # the environment
    Mutation("imports a module that is not installed", "activations.py", "import numpy as np",
             "import numpy as np\nimport backproplab_no_such_module", "ReLU.forward", "error", "missing-module"),
    Mutation("imports a name numpy does not have", "activations.py", "import numpy as np",
             "import numpy as np\nfrom numpy import no_such_name", "ReLU.forward", "error", "import-error"),
    Mutation("imports a file the package lacks", "activations.py", "import numpy as np",
             "import numpy as np\nfrom neural_networks.no_such_file import helper", "ReLU.forward", "error",
             "missing-file"),
    Mutation("a colon left out", "activations.py", "def forward(self, Z):", "def forward(self, Z)", "Linear.forward",
             "error", "syntax-error"),
    Mutation("python 2", "layers.py", "import numpy as np", 'import numpy as np\nprint "layers"', "Conv2D.forward",
             "error", "python2"),
    Mutation("the starter's blank", "layers.py", "W = self.init_weights((self.n_in, self.n_out))",
             "W = # initialize weights using self.init_weights", "FullyConnected.forward", "error", "blank-left-in"),
    Mutation("sys.exit", "layers.py", "self.cache[\"in_dims\"] = X.shape", "import sys\n        sys.exit(3)",
             "Flatten.forward", "error", "exit"),
    Mutation("os._exit", "layers.py", "self.cache[\"in_dims\"] = X.shape", "import os\n        os._exit(0)",
             "Flatten.forward", "error", "exit"),
    Mutation("allocates 50 GB", "layers.py", "self.cache[\"in_dims\"] = X.shape",
             "self.cache[\"in_dims\"] = np.ones(50 * 2**30 // 8).shape", "Flatten.forward", "error", "out-of-memory"),
]
