"""The NumPy model: a stack of layers, a loss and an optimizer, trained by mini-batch
gradient descent.

A model is described by plain data — a list of layer specs such as
``{"name": "fully_connected", "n_out": 16, "activation": "relu"}`` — so it can be saved
as JSON beside its parameters and rebuilt exactly. The last spec may leave ``n_out``
out; it is then the data's number of classes.

The model owns its seed. One ``numpy.random.SeedSequence(seed)`` spawns the streams
for weight initialisation, dropout masks and the per-epoch shuffle, so a seed fixes
every random choice of a run.

The data set it trains on is any object with ``n_classes``, ``batches(split, rng)``
yielding (X, Y one-hot) and ``split(name)`` returning (X, integer labels); see
``backproplab.data.dataset.Dataset``.
"""

from __future__ import annotations

import json
import math
import os
import time

import numpy as np

from .layers import Layer, initialize_layer
from .losses import initialize_loss, one_hot
from .optimizers import SGD, Optimizer

FORMAT = "backproplab.nn.NeuralNetwork/1"


class NeuralNetwork:
    def __init__(
        self,
        layers: list[dict],
        loss: str = "cross_entropy",
        optimizer: Optimizer | None = None,
        seed: int = 0,
        n_classes: int | None = None,
    ) -> None:
        if not layers:
            raise ValueError("a NeuralNetwork needs at least one layer spec")
        self.layer_specs = [dict(spec) for spec in layers]
        self.loss_name = loss
        self.loss = initialize_loss(loss)
        self.optimizer = optimizer if optimizer is not None else SGD(0.01)
        self.seed = int(seed)
        init_seq, dropout_seq, shuffle_seq = np.random.SeedSequence(self.seed).spawn(3)
        self._init_rng = np.random.default_rng(init_seq)
        self._dropout_rng = np.random.default_rng(dropout_seq)
        self.shuffle_rng = np.random.default_rng(shuffle_seq)
        self.n_classes: int | None = None
        self.layers: list[Layer] = []
        self.history: list[dict] = []
        if n_classes is not None or "n_out" in self.layer_specs[-1]:
            self.build(n_classes)

    # -- construction ----------------------------------------------------------------

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
            spec = dict(spec)
            layer = initialize_layer(spec.pop("name"), **spec)
            layer.rng = self._dropout_rng if type(layer).__name__ == "Dropout" else self._init_rng
            self.layers.append(layer)
        self.layers[0].input_grad = False  # the data needs no gradient

    def _require_built(self) -> None:
        if not self.layers:
            raise RuntimeError("the model is not built yet: train it on a data set or call build(n_classes)")

    # -- the three passes ------------------------------------------------------------

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Ŷ for a batch X: every layer's forward in turn."""
        self._require_built()
        for layer in self.layers:
            X = layer.forward(X)
        return X

    def backward(self, target: np.ndarray, out: np.ndarray) -> float:
        """Backpropagate the loss of ``out`` against one-hot ``target``; return the loss."""
        L = self.loss.forward(target, out)
        if not math.isfinite(L):
            raise FloatingPointError(f"the loss is {L}: training diverged; lower the learning rate")
        dLdY = self.loss.backward(target, out)
        for layer in reversed(self.layers):
            dLdY = layer.backward(dLdY)
        return L

    def update(self, t: float) -> None:
        """One optimizer step on every parameter, at training time t (epochs)."""
        self.optimizer.step(self._parameters(), t=t)

    def set_training(self, training: bool) -> None:
        for layer in self.layers:
            layer.training = training

    # -- training and evaluation -------------------------------------------------------

    def train_epoch(self, dataset, epoch: int) -> dict:
        """One pass over the training split; returns the epoch's record.

        train_loss / train_error are the means over the epoch's mini-batches (in training
        mode, as they were seen); val_loss / val_error are measured in evaluation mode
        after the epoch.
        """
        if not self.layers:
            self.build(dataset.n_classes)
        start = time.perf_counter()
        self.set_training(True)
        losses, wrong, seen = [], 0, 0
        n_batches = dataset.n_batches("train")
        for b, (X, Y) in enumerate(dataset.batches("train", rng=self.shuffle_rng)):
            out = self.forward(X)
            losses.append(self.backward(Y, out) * X.shape[0])
            self.update(epoch + b / n_batches)
            wrong += int(np.sum(out.argmax(axis=1) != Y.argmax(axis=1)))
            seen += X.shape[0]
        lr = self.optimizer.lr
        val_loss, val_error = self.evaluate(*dataset.split("validate"))
        record = {
            "epoch": epoch + 1,
            "train_loss": float(np.sum(losses) / seen),
            "val_loss": val_loss,
            "train_error": wrong / seen,
            "val_error": val_error,
            "lr": lr,
            "seconds": time.perf_counter() - start,
        }
        self.history.append(record)
        return record

    def _parameters(self):
        for i, layer in enumerate(self.layers):
            for name in layer.parameters:
                yield f"{i}.{name}", layer.parameters[name], layer.gradients[name]

    def train(self, dataset, epochs: int) -> list[dict]:
        """Train for ``epochs`` epochs; returns the per-epoch records."""
        if not (isinstance(epochs, int) and epochs >= 1):
            raise ValueError(f"epochs must be a positive integer; got {epochs!r}")
        return [self.train_epoch(dataset, len(self.history)) for _ in range(epochs)]

    def predict(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Class probabilities (n, n_classes) in evaluation mode."""
        self._require_built()
        self.set_training(False)
        try:
            return np.concatenate([self.forward(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])
        finally:
            self.set_training(True)

    def evaluate(self, X: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
        """(mean loss, error rate) on integer labels, in evaluation mode."""
        P = self.predict(X)
        L = self.loss.forward(one_hot(labels, P.shape[1], dtype=P.dtype), P)
        return L, float(np.mean(P.argmax(axis=1) != labels))

    def test(self, dataset) -> dict:
        """Loss, accuracy and error on the test split."""
        loss, error = self.evaluate(*dataset.split("test"))
        return {"test_loss": loss, "test_accuracy": 1.0 - error, "test_error": error}

    def get_parameters(self) -> dict[str, np.ndarray]:
        """A copy of every parameter ("layer{i}.{name}") and buffer ("buffer{i}.{name}")."""
        out = {}
        for i, layer in enumerate(self.layers):
            out.update({f"layer{i}.{k}": v.copy() for k, v in layer.parameters.items()})
            out.update({f"buffer{i}.{k}": v.copy() for k, v in layer.buffers.items()})
        return out

    def set_parameters(self, params: dict[str, np.ndarray]) -> None:
        """Restore parameters and buffers taken with ``get_parameters`` (e.g. the best epoch's)."""
        for i, layer in enumerate(self.layers):
            for k in layer.parameters:
                layer.parameters[k][...] = params[f"layer{i}.{k}"]
            for k in layer.buffers:
                layer.buffers[k][...] = params[f"buffer{i}.{k}"]

    # -- saving and loading --------------------------------------------------------------

    def save(self, path: str | os.PathLike, extra: dict[str, np.ndarray] | None = None) -> None:
        """Write the architecture (JSON) and every parameter to an .npz file, atomically.

        ``extra`` arrays (e.g. the data's standardisation statistics) are stored beside
        them under their own names.
        """
        self._require_built()
        arrays = self.get_parameters()
        meta = {"format": FORMAT, "layers": self.layer_specs, "loss": self.loss_name,
                "seed": self.seed, "n_classes": self.n_classes}
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
            model = cls(meta["layers"], loss=meta["loss"], seed=meta["seed"], n_classes=meta["n_classes"])
            for i, layer in enumerate(model.layers):
                params = {k.split(".", 1)[1]: f[k] for k in f.files if k.startswith(f"layer{i}.")}
                if params:
                    layer.n_in = _per_example_in(params)
                    layer.parameters = params
                    layer.buffers = {k.split(".", 1)[1]: f[k] for k in f.files if k.startswith(f"buffer{i}.")}
                    layer.clear_gradients()
        return model


def _per_example_in(params: dict[str, np.ndarray]) -> tuple[int, ...]:
    """The n_in a layer with these parameters was initialised for."""
    if "W" in params:
        W = params["W"]
        return (W.shape[0],) if W.ndim == 2 else (W.shape[2],)
    return (next(iter(params.values())).shape[-1],)  # per-feature parameters such as γ, β
