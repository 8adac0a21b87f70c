"""The Fashion-MNIST pipeline: an MLP in PyTorch, the same MLP in NumPy, and a NumPy CNN.

One run reads top to bottom: check the config → find, read and split the data (5,000
training images held out for validation) → open the run folder → build the model →
train, logging every epoch → test once, at the end → write the summary and plots.

The two MLP engines share one recipe, so their accuracies are comparable: dense
layers 784 → 512 → 512 → 10, each hidden layer Linear → BatchNorm → ReLU → Dropout,
He-uniform weights and zero biases, SGD with Nesterov momentum and weight decay, a
learning rate warmed up linearly then annealed by a cosine to 0 (set every step),
and the same seeded shuffle.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .checks import check_training_flags, with_recipe
from .data import fashion_mnist
from .data.splits import shorten
from .data.dataset import Dataset, Standardizer
from .nn.models import NeuralNetwork
from .nn.optimizers import SGD, Adam
from .nn.schedulers import Cosine
from .runs import RunFolder
from .runs.environment import versions
from .runs.log import ACCURACY_COLUMNS, EpochLog

#: per-model defaults; a flag given on the command line overrides its entry
#: (the warm-up here is a fraction of the epochs; ``--warmup`` is in epochs)
PROFILES = {
    "mlp": dict(epochs=30, batch_size=256, lr=0.2, warmup=1 / 15, optimizer="sgd", momentum=0.9,
                weight_decay=5e-4, dropout=0.3),
    "cnn": dict(epochs=6, batch_size=128, lr=2e-3, warmup=1 / 12, optimizer="adam", momentum=0.0,
                weight_decay=0.0, dropout=0.0),
}


@dataclass
class FashionConfig:
    engine: str = "torch"  # torch | numpy
    model: str = "mlp"  # mlp (both engines) | cnn (numpy engine)
    epochs: int | None = None  # passes over the 55,000 training images (None: the model's profile)
    batch_size: int | None = None  # images per step
    lr: float | None = None  # peak learning rate, reached after the warm-up
    warmup: float | None = None  # epochs of linear warm-up before the cosine decay to 0
    optimizer: str | None = None  # sgd (Nesterov momentum) | adam
    momentum: float | None = None  # SGD momentum
    weight_decay: float | None = None  # L2 coefficient on every parameter
    dropout: float | None = None  # after each hidden layer of the MLP
    hidden: list[int] = field(default_factory=lambda: [512, 512])  # MLP hidden widths
    seed: int = 0  # weights, dropout, shuffle
    split_seed: int = 0  # which 5,000 training images validate
    train_limit: int | None = None  # use only this many training images (quick runs)
    test_limit: int | None = None  # and this many validation/test images
    device: str = "auto"  # torch engine: cpu | cuda | auto
    data_dir: str | None = None  # see backproplab.data.discovery
    download: bool = False  # fetch the official files if not found

    def resolved(self) -> "FashionConfig":
        """The config with the model profile's defaults filled in."""
        if self.model not in PROFILES:
            raise ValueError(f"--model must be one of {', '.join(PROFILES)}; got {self.model!r}")
        return with_recipe(self, PROFILES[self.model])


def check_config(c: FashionConfig) -> None:
    if c.engine not in ("torch", "numpy"):
        raise ValueError(f"--engine must be torch or numpy; got {c.engine!r}")
    if c.model == "cnn" and c.engine != "numpy":
        raise ValueError("the Fashion-MNIST CNN is built from the NumPy library: use --engine numpy --model cnn")
    check_training_flags(c)
    if c.optimizer not in ("sgd", "adam"):
        raise ValueError(f"--optimizer must be sgd or adam; got {c.optimizer!r}")
    if not 0 <= c.dropout < 1:
        raise ValueError(f"--dropout must be in [0, 1); got {c.dropout}")
    if not c.hidden or min(c.hidden) < 1:
        raise ValueError(f"--hidden widths must be integers >= 1; got {c.hidden}")


def run_name(c: FashionConfig) -> str:
    limit = f"-n{c.train_limit}" if c.train_limit else ""
    return f"fashion-{c.engine}-{c.model}-e{c.epochs}-bs{c.batch_size}-lr{c.lr:g}-s{c.seed}{limit}"


# -- data --------------------------------------------------------------------------------


def load_splits(c: FashionConfig) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """train / validate / test as (uint8 images (n, 28, 28), labels), optionally shortened."""
    splits = fashion_mnist.split(fashion_mnist.load(c.data_dir, c.download), seed=c.split_seed)
    return shorten(splits, c.train_limit, c.test_limit)


def as_inputs(images: np.ndarray, model: str) -> np.ndarray:
    """uint8 (n, 28, 28) → float32 in [0, 1], flattened (n, 784) for the MLP or NHWC (n, 28, 28, 1)."""
    X = images.astype(np.float32) / 255
    return X.reshape(len(X), -1) if model == "mlp" else X[..., None]


# -- the models ----------------------------------------------------------------------------


def numpy_layers(c: FashionConfig) -> list[dict]:
    """The NumPy network as layer specs (the last layer's width comes from the 10 classes)."""
    if c.model == "cnn":
        return [
            {"name": "conv2d", "n_out": 16, "kernel_shape": (3, 3), "pad": "same", "activation": "relu",
             "weight_init": "he_uniform"},  # (n, 28, 28, 16)
            {"name": "pool2d", "kernel_shape": (2, 2), "mode": "max"},  # (n, 14, 14, 16)
            {"name": "conv2d", "n_out": 32, "kernel_shape": (3, 3), "pad": "same", "activation": "relu",
             "weight_init": "he_uniform"},  # (n, 14, 14, 32)
            {"name": "pool2d", "kernel_shape": (2, 2), "mode": "max"},  # (n, 7, 7, 32)
            {"name": "flatten"},  # (n, 1568)
            {"name": "fully_connected", "n_out": 128, "activation": "relu", "weight_init": "he_uniform"},
            {"name": "fully_connected", "activation": "softmax", "weight_init": "he_uniform"},
        ]
    specs = []
    for width in c.hidden:
        specs += [{"name": "fully_connected", "n_out": width, "weight_init": "he_uniform"},
                  {"name": "batch_norm", "activation": "relu"},
                  {"name": "dropout", "p": c.dropout}]
    return specs + [{"name": "fully_connected", "activation": "softmax", "weight_init": "he_uniform"}]


def torch_mlp(c: FashionConfig, n_in: int, n_classes: int):
    """The same MLP in torch, initialised as the NumPy one (He-uniform weights, zero biases)."""
    import torch.nn as nn

    layers, width = [], n_in
    for h in c.hidden:
        layers += [nn.Linear(width, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(c.dropout)]
        width = h
    layers.append(nn.Linear(width, n_classes))
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return model


def schedule(c: FashionConfig) -> Cosine:
    return Cosine(c.lr, total_epochs=c.epochs, warmup=c.warmup)


# -- one run -------------------------------------------------------------------------------


def run(c: FashionConfig, out: str | Path = "experiments", name: str | None = None, overwrite: bool = False,
        resume: bool = False, show_progress: bool = True, stop_after: int | None = None) -> dict:
    """Train one model on Fashion-MNIST and write its run folder; returns the summary."""
    c = c.resolved()
    check_config(c)
    if resume and c.engine != "torch":
        raise ValueError("--resume needs the torch engine (the NumPy engine does not checkpoint)")
    start = time.perf_counter()
    splits = load_splits(c)
    name = name or run_name(c)
    with RunFolder(Path(out) / name, overwrite=overwrite, resume=resume) as folder:
        config = {"pipeline": "fashion", **dataclasses.asdict(c)}
        if not resume:
            folder.write_json("config.json", {**config, "versions": versions(),
                                              "splits": {s: len(y) for s, (_, y) in splits.items()}})
        log = EpochLog(folder, ACCURACY_COLUMNS, c.epochs, desc=name, show_progress=show_progress)
        if c.engine == "torch":
            result = train_torch(c, splits, folder, log, config, resume, stop_after)
        else:
            result = train_numpy(c, splits, folder, log)
        log.close()
        log.plot(f"Fashion-MNIST, {c.engine} {c.model.upper()}")
        summary = {"pipeline": "fashion", **result, "engine": c.engine, "model": c.model, "epochs": c.epochs,
                   "final_val_accuracy": log.rows[-1]["val_accuracy"],
                   "best_val_accuracy": max(r["val_accuracy"] for r in log.rows),
                   "wall_seconds": time.perf_counter() - start}
        folder.write_json("summary.json", summary)
    return {**summary, "path": str(folder.final)}


def train_torch(c: FashionConfig, splits, folder: RunFolder, log: EpochLog, config: dict, resume: bool,
                stop_after: int | None) -> dict:
    import torch

    from .devices import choose_device
    from .torch_training import Split, evaluate, fit

    device = choose_device(c.device)
    torch.manual_seed(c.seed)
    rng = np.random.default_rng(c.seed)
    standardize = Standardizer.fit(as_inputs(splits["train"][0], c.model), per_feature=False)
    data = {s: Split(torch.from_numpy(standardize(as_inputs(X, c.model))).to(device), torch.from_numpy(y).to(device))
            for s, (X, y) in splits.items()}
    model = torch_mlp(c, data["train"].X.shape[1], len(fashion_mnist.CLASSES)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=c.lr, momentum=c.momentum, nesterov=c.momentum > 0,
                                weight_decay=c.weight_decay) if c.optimizer == "sgd" else \
        torch.optim.Adam(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
    train_seconds = fit(folder, log, model, optimizer, schedule(c), data["train"], data["validate"], c.epochs,
                        c.batch_size, rng, config, resume=resume, stop_after=stop_after)
    test_loss, test_accuracy = evaluate(model, data["test"])
    return {"test_loss": test_loss, "test_accuracy": test_accuracy, "train_seconds": train_seconds,
            "device": str(device), "parameters": sum(p.numel() for p in model.parameters()),
            "input_standardization": {"mean": float(standardize.mean), "std": float(standardize.std)}}


def train_numpy(c: FashionConfig, splits, folder: RunFolder, log: EpochLog) -> dict:
    data = Dataset({s: (as_inputs(X, c.model), y) for s, (X, y) in splits.items()},
                   n_classes=len(fashion_mnist.CLASSES), batch_size=c.batch_size,
                   class_names=fashion_mnist.CLASSES, per_feature=False)
    if c.optimizer == "sgd":
        optimizer = SGD(c.lr, schedule(c), momentum=c.momentum, nesterov=c.momentum > 0, weight_decay=c.weight_decay)
    else:
        optimizer = Adam(c.lr, schedule(c), weight_decay=c.weight_decay)
    model = NeuralNetwork(numpy_layers(c), optimizer=optimizer, seed=c.seed)
    train_seconds = 0.0
    for epoch in range(c.epochs):
        r = model.train_epoch(data, epoch)
        train_seconds += r["seconds"]
        log.add({"epoch": r["epoch"], "train_loss": r["train_loss"], "val_loss": r["val_loss"],
                 "train_accuracy": 1 - r["train_error"], "val_accuracy": 1 - r["val_error"], "lr": r["lr"],
                 "seconds": r["seconds"]})
    result = model.test(data)
    model.save(folder.file("params.npz"), extra=data.standardizer.to_arrays())
    return {"test_loss": result["test_loss"], "test_accuracy": result["test_accuracy"],
            "train_seconds": train_seconds, "device": "cpu (numpy)",
            "parameters": int(sum(v.size for layer in model.layers for v in layer.parameters.values()))}
