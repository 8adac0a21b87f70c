"""The NumPy engine's trainer for the pipelines: ``nn.training``'s loop behind the methods
of ``runs.fit.Trainer``, with checkpoints that hold everything resuming needs.

A checkpoint (``checkpoint.npz``) holds the model's parameters and buffers, the
optimizer's per-parameter state, the model's three random streams (initialisation,
dropout noise, shuffle), and ``runs.fit``'s record (epoch, rows, seconds, settings,
the best epoch and its parameters). A resumed run therefore steps exactly as an
uninterrupted one: its metrics.csv is the same, byte for byte, but for the time columns.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..nn import training
from ..nn.models import NeuralNetwork
from ..runs.checkpoint import DamagedCheckpoint, load_numpy, save_numpy


class NumpyTrainer:
    checkpoint_name = "checkpoint.npz"

    def __init__(self, model: NeuralNetwork, data: dict[str, tuple[np.ndarray, np.ndarray]], batch_size: int,
                 n_classes: int, augment=None, views=None, mixup: float = 0.0,
                 mixup_epochs: float = float("inf")) -> None:
        """``augment(X_b, rng)``: each training batch's augmentation; ``mixup``: its α (0: off),
        in epochs 0 … mixup_epochs − 1 (later epochs train on clean batches);
        ``views``: functions of X whose predictions are averaged when evaluating."""
        self.model, self.data, self.batch_size = model, data, batch_size
        self.augment, self.views, self.mixup, self.mixup_epochs = augment, views, mixup, mixup_epochs
        if not model.layers:
            model.build(n_classes)
        self.best: dict[str, np.ndarray] | None = None

    def train_epoch(self, epoch: int, on_batch: Callable[[float], None]) -> dict:
        X, y = self.data["train"]
        return training.train_epoch(self.model, X, y, self.batch_size, self.model.shuffle_rng, epoch, on_batch,
                                    self.augment, self.mixup if epoch < self.mixup_epochs else 0.0)

    def evaluate(self, split: str) -> tuple[float, float]:
        return training.evaluate(self.model, *self.data[split], views=self.views)

    def predict(self, split: str) -> np.ndarray:
        """Predicted classes (n,) of a split."""
        return training.predict_views(self.model, self.data[split][0], self.views).argmax(axis=1)

    def first_layer_weights(self) -> np.ndarray:
        """W of the first layer: (n_in, n_out) dense or (kh, kw, C, F) convolution."""
        return self.model.layers[0].parameters["W"]

    def parameter_count(self) -> int:
        return self.model.parameter_count()

    def describe_model(self) -> str:
        return self.model.summary(input_shape=self.data["train"][0].shape[1:])

    def keep_best(self) -> None:
        self.best = self.model.state_dict()

    def use_best(self) -> None:
        self.model.load_state_dict(self.best)

    def save(self, path, meta: dict, with_best: bool) -> None:
        optimizer = self.model.optimizer.state_dict()
        arrays = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        arrays.update({f"optimizer.{k}": v for k, v in optimizer.items() if isinstance(v, np.ndarray)})
        if with_best and self.best is not None:
            arrays.update({f"best.{k}": v for k, v in self.best.items()})
        scalars = {k: v for k, v in optimizer.items() if not isinstance(v, np.ndarray)}
        save_numpy(path, arrays, {**meta, "engine": "numpy", "rng": self.model.rng_states(),
                                  "optimizer_scalars": scalars})

    def load(self, path) -> dict:
        """Restore from a checkpoint of this run: every array must be one this model and its
        optimizer hold, of at most its size (checked before anything is read), every value
        finite, every random state one numpy takes."""
        if not any(layer.parameters for layer in self.model.layers):
            self.model.predict(self.data["train"][0][:1])  # create the parameters (the checkpoint replaces them)
        sizes = {k: v.nbytes for k, v in self.model.state_dict().items()}

        def allowed(key: str) -> int | None:
            kind, _, rest = key.partition(".")
            name = rest.rsplit("/", 1)[0] if kind == "optimizer" else rest
            return sizes.get(name) if kind in ("model", "best", "optimizer") else None

        arrays, meta = load_numpy(path, allowed)

        def part(prefix: str) -> dict[str, np.ndarray]:
            return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}

        model = part("model.")
        if set(model) != set(sizes) or any(model[k].nbytes != sizes[k] for k in sizes):
            raise DamagedCheckpoint(path, "its model is not this run's model (other parameters or shapes)")
        if not all(np.all(np.isfinite(v)) for v in arrays.values() if v.dtype.kind == "f"):
            raise DamagedCheckpoint(path, "it holds NaN or infinite numbers (written by a run that diverged, or "
                                          "damaged)")
        try:
            self.model.load_state_dict(model)
            self.model.optimizer.load_state_dict({**part("optimizer."), **meta["optimizer_scalars"]})
            self.model.set_rng_states(meta["rng"])
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, ArithmeticError) as err:
            raise DamagedCheckpoint(path, f"its state cannot be restored ({type(err).__name__}: {err})") from None
        self.best = part("best.") or None
        return meta
