"""The NumPy model: a stack of layers, a loss and an optimizer.

A model is described by plain data — a list of layer specs such as
``{"name": "fully_connected", "n_out": 16, "activation": "relu"}`` — so it can be saved
as JSON beside its parameters and rebuilt exactly. The last spec may leave ``n_out``
out; it is then the number of classes, taken from the data on the first ``fit``.

The model owns its seed. One ``numpy.random.SeedSequence(seed)`` spawns three streams:
weight initialisation, the noise of stochastic layers (dropout), and the per-epoch
shuffle, so a seed fixes every random choice of a run.

    model = NeuralNetwork(specs, optimizer=SGD(0.1, momentum=0.9), seed=0)
    history = model.fit(X, y, epochs=20, batch_size=32, validation_data=(Xv, yv))
    model.evaluate(Xt, yt)   # {"loss", "accuracy", "error"}
    model.predict(Xt)        # class probabilities

The training loop itself is ``nn.training`` (one for every NumPy run).
"""

from __future__ import annotations

import copy
import json
import math
import os

import numpy as np

from . import training
from .layers import Layer, initialize_layer
from .losses import initialize_loss
from .optimizers import SGD, Optimizer

FORMAT = "backproplab.nn.NeuralNetwork/1"


class NeuralNetwork:
    def __init__(self, layers: list[dict], loss: str = "cross_entropy", optimizer: Optimizer | None = None,
                 seed: int = 0, n_classes: int | None = None, label_smoothing: float = 0.0) -> None:
        if not layers:
            raise ValueError("a NeuralNetwork needs at least one layer spec")
        self.layer_specs = [dict(spec) for spec in layers]
        self.loss_name = loss
        self.label_smoothing = label_smoothing
        # only cross-entropy smooths labels; other losses (l2) take no such argument
        self.loss = initialize_loss(loss, **({"label_smoothing": label_smoothing} if label_smoothing else {}))
        self.optimizer = optimizer if optimizer is not None else SGD(0.01)
        self.seed = int(seed)
        init_seq, noise_seq, shuffle_seq = np.random.SeedSequence(self.seed).spawn(3)
        self.init_rng = np.random.default_rng(init_seq)
        self.noise_rng = np.random.default_rng(noise_seq)
        self.shuffle_rng = np.random.default_rng(shuffle_seq)
        self.n_classes: int | None = None
        self.layers: list[Layer] = []
        self.history: list[dict] = []
        if n_classes is not None or "n_out" in self.layer_specs[-1]:
            self.build(n_classes)

    def build(self, n_classes: int | None) -> None:
        """Create the layers; the last layer's n_out defaults to n_classes."""
        specs = [dict(s) for s in self.layer_specs]
        if "n_out" not in specs[-1]:
            if n_classes is None:
                raise ValueError("the last layer spec has no n_out: pass n_classes (the data's class count)")
            specs[-1]["n_out"] = n_classes
        self.n_classes = n_classes if n_classes is not None else specs[-1].get("n_out")
        self.layers = []
        for spec in specs:
            layer = initialize_layer(spec.pop("name"), **spec)
            layer.rng = self.noise_rng if layer.stochastic else self.init_rng
            self.layers.append(layer)
        self.layers[0].input_grad = False  # the data needs no gradient

    def _require_built(self) -> None:
        if not self.layers:
            raise RuntimeError("the model is not built yet: fit it to data or call build(n_classes)")

    # -- the three passes (the homework's API) -------------------------------------------

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Ŷ for a batch X: every layer's forward in turn."""
        self._require_built()
        for layer in self.layers:
            X = layer.forward(X)
        return X

    def backward(self, target: np.ndarray, out: np.ndarray) -> float:
        """Backpropagate the loss of ``out`` against one-hot ``target`` through every layer,
        storing each ∂L/∂θ in the layers' ``gradients``. As in the homework's API it returns
        the loss L it backpropagated (PyTorch's ``loss.backward()`` returns nothing)."""
        L = self.loss.forward(target, out)
        if not math.isfinite(L):
            raise FloatingPointError(f"the loss is {L}: training diverged; lower the learning rate")
        dLdY = self.loss.backward(target, out)
        for layer in reversed(self.layers):
            dLdY = layer.backward(dLdY)
        return L

    def update(self, t: float) -> None:
        """One optimizer step on every parameter, at training time t (epochs)."""
        self.optimizer.step(((f"{i}.{k}", layer.parameters[k], layer.gradients[k])
                             for i, layer in enumerate(self.layers) for k in layer.parameters), t=t)

    def set_training(self, training: bool) -> None:
        for layer in self.layers:
            layer.training = training

    # -- the array API ---------------------------------------------------------------------

    def fit(self, X: np.ndarray, y: np.ndarray, epochs: int = 10, batch_size: int = 32,
            validation_data: tuple[np.ndarray, np.ndarray] | None = None, keep_best: bool = False,
            verbose: bool = False):
        """Train on arrays: X (n, …) floats, y (n,) integer labels; returns the History
        (one record per epoch, ``history["val_loss"]`` for a column). ``keep_best`` ends
        with the epoch of the lowest validation error (ties: lower validation loss)."""
        y = np.asarray(y)
        training.check_arrays(X, y, self.n_classes)
        if validation_data is not None:
            training.check_arrays(validation_data[0], validation_data[1], self.n_classes, "validation_data")
        if not self.layers:
            self.build(int(y.max()) + 1)
        return training.fit(self, X, y, epochs, batch_size, validation_data, keep_best, verbose)

    def predict(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Class probabilities (n, n_classes) in evaluation mode."""
        self._require_built()
        self.set_training(False)
        try:
            return np.concatenate([self.forward(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])
        finally:
            self.set_training(True)

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> dict:
        """{"loss", "accuracy", "error"} on integer labels, in evaluation mode."""
        loss, accuracy = training.evaluate(self, X, np.asarray(y))
        return {"loss": loss, "accuracy": accuracy, "error": 1.0 - accuracy}

    # -- the homework's Dataset API ------------------------------------------------------

    def train(self, dataset, epochs: int) -> list[dict]:
        """The homework's ``train(dataset, epochs)``: ``fit`` on the data set's training
        split, validated on its validation split; returns the per-epoch records."""
        if not self.layers:
            self.build(dataset.n_classes)
        X, y = dataset.split("train")
        val = dataset.split("validate") if dataset.has("validate") else None
        return list(training.fit(self, X, y, epochs, dataset.batch_size, val))

    def test(self, dataset) -> dict:
        """The homework's ``test(dataset)``: loss, accuracy and error on the test split."""
        r = self.evaluate(*dataset.split("test"))
        return {"test_loss": r["loss"], "test_accuracy": r["accuracy"], "test_error": r["error"]}

    # -- state: parameters, buffers, RNG ---------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter and buffer, keyed ``"<layer index>.<name>"`` (as PyTorch)."""
        return {f"{i}.{k}": v.copy() for i, layer in enumerate(self.layers)
                for k, v in (*layer.parameters.items(), *layer.buffers.items())}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Put saved parameters and buffers back (e.g. the best epoch's, or a checkpoint's)."""
        for i, layer in enumerate(self.layers):
            mine = {k.split(".", 1)[1]: v for k, v in state.items() if k.split(".", 1)[0] == str(i)}
            if mine:
                buffers = {k: mine.pop(k) for k in layer.buffer_names if k in mine}
                layer.restore(mine, buffers)

    def rng_states(self) -> dict:
        return {name: getattr(self, f"{name}_rng").bit_generator.state for name in ("init", "noise", "shuffle")}

    def set_rng_states(self, states: dict) -> None:
        for name, state in states.items():
            getattr(self, f"{name}_rng").bit_generator.state = state

    def parameter_count(self) -> int:
        return int(sum(v.size for layer in self.layers for v in layer.parameters.values()))

    # -- description -------------------------------------------------------------------------

    def summary(self, input_shape: tuple[int, ...] | None = None) -> str:
        """A table of the layers, their output shapes and parameter counts.

        Output shapes need the input's per-example shape (taken from the model once it
        has seen data); they are found by a forward pass of a copy, so describing a
        model never moves its random streams.
        """
        probe = copy.deepcopy(self)
        shapes = ["?"] * len(self.layers)
        if input_shape is not None and probe.layers:
            probe.set_training(False)
            X = np.zeros((2, *input_shape))
            for i, layer in enumerate(probe.layers):
                X = layer.forward(X.astype(next(iter(layer.parameters.values())).dtype if layer.parameters
                                           else X.dtype))
                shapes[i] = "(n, " + ", ".join(map(str, X.shape[1:])) + ")"
            probe.set_training(True)
        rows = [("layer", "description", "output", "parameters")]
        for i, (layer, p) in enumerate(zip(self.layers, probe.layers)):
            count = sum(v.size for v in p.parameters.values())
            rows.append((f"{i} {type(layer).__name__}", layer.describe(), shapes[i], f"{count:,}"))
        total = sum(sum(v.size for v in p.parameters.values()) for p in probe.layers)
        widths = [max(len(r[j]) for r in rows) for j in range(4)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        lines.append(f"{total:,} parameters; loss {self.loss_name}; optimizer {type(self.optimizer).__name__}; "
                     f"seed {self.seed}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        layers = ", ".join(f"{type(layer).__name__}({layer.describe()})" for layer in self.layers) or \
            f"{len(self.layer_specs)} layer specs, not built"
        return f"NeuralNetwork([{layers}], loss={self.loss_name!r}, seed={self.seed})"

    # -- saving and loading --------------------------------------------------------------

    def save(self, path: str | os.PathLike, extra: dict[str, np.ndarray] | None = None) -> None:
        """Write the architecture (JSON) and every parameter to an .npz file, atomically.

        ``extra`` arrays (e.g. the data's standardisation statistics) are stored beside
        them under their own names.
        """
        self._require_built()
        arrays = self.state_dict()
        meta = {"format": FORMAT, "layers": self.layer_specs, "loss": self.loss_name,
                "label_smoothing": self.label_smoothing, "seed": self.seed, "n_classes": self.n_classes}
        arrays["__model__"] = np.array(json.dumps(meta))
        arrays.update(extra or {})
        tmp = f"{os.fspath(path)}.tmp-{os.getpid()}"
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "NeuralNetwork":
        """Rebuild a saved model; it predicts exactly what the saved one did."""
        with np.load(path, allow_pickle=False) as f:
            if "__model__" not in f.files:
                raise ValueError(f"{path} is not a backproplab model file (no __model__ entry)")
            meta = json.loads(str(f["__model__"]))
            if meta.get("format") != FORMAT:
                raise ValueError(f"{path}: unsupported model format {meta.get('format')!r}; expected {FORMAT}")
            model = cls(meta["layers"], loss=meta["loss"], seed=meta["seed"], n_classes=meta["n_classes"],
                        label_smoothing=meta.get("label_smoothing", 0.0))
            model.load_state_dict({k: f[k] for k in f.files if k[:1].isdigit()})
        return model
