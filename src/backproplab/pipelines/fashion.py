"""The Fashion-MNIST pipeline: an MLP in PyTorch, the same MLP in NumPy, and a NumPy CNN.

One run reads top to bottom: settings → data (5,000 training images held out for
validation) → model → fit (``runs.fit``) → test once, at the end → write the plots and
the summary.

The two MLP engines share one recipe, so their accuracies are comparable: dense
layers 784 → hidden → … → 10, each hidden layer Linear → BatchNorm → ReLU → Dropout,
He-uniform weights and zero biases, SGD with Nesterov momentum and weight decay, a
learning rate warmed up linearly then annealed by a cosine to 0 (set every step),
mixup in every epoch but the last few (``clean_tail``: the net ends on clean images),
and the same seeded shuffle.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import settings
from ..data import fashion_mnist
from ..data.dataset import Standardizer
from ..engines.numpy_engine import NumpyTrainer
from ..errors import UsageError
from ..launch import world_size
from ..nn.models import NeuralNetwork
from ..nn.optimizers import SGD, Adam
from ..nn.schedulers import Cosine
from ..report import sections
from ..runs.fit import fit_epochs
from ..runs.naming import run_name
from ..runs.options import RunOptions
from ..runs.outputs import write_outputs
from ..runs.run import Run, start_run
from ..settings import Range, setting
from .bars import Bar, ParityBar, compared_settings
from .declaration import Pipeline, Stage
from .images import FRACTION, ImageData, Recipe, describe_image_result, image_splits


@dataclass
class FashionConfig(Recipe, ImageData):
    PROFILE_KEY: ClassVar[str] = "model"
    #: each model's recipe; a flag given on the command line overrides its entry
    PROFILES: ClassVar[dict] = {
        "mlp": dict(epochs=40, batch_size=256, lr=0.1, warmup=1 / 15, optimizer="sgd", momentum=0.9,
                    weight_decay=5e-4, dropout=0.0, label_smoothing=0.0, flip=True, tta=1, mixup=0.4,
                    clean_tail=0.15),
        "cnn": dict(epochs=6, batch_size=128, lr=2e-3, warmup=1 / 12, optimizer="adam", momentum=0.0,
                    weight_decay=0.0, dropout=0.0, label_smoothing=0.0, flip=False, tta=0, mixup=0.0,
                    clean_tail=0.0),
    }

    engine: str = setting("torch", "training engine", choices=("torch", "numpy"))
    model: str = setting("mlp", "the MLP (either engine) or the CNN (NumPy engine)", choices=("mlp", "cnn"))
    optimizer: str | None = setting(None, "sgd (Nesterov momentum) or adam", choices=("sgd", "adam"), profile=True)
    dropout: float | None = setting(None, "dropout after each hidden layer of the MLP", range=FRACTION,
                                    profile=True)
    hidden: list[int] = setting([512, 512], "MLP hidden widths, comma-separated", range=Range(1, 65536))
    batch_norm: bool = setting(True, "batch normalisation after each hidden linear layer of the MLP")
    flip: bool | None = setting(None, "mirror each training image left-right with probability 1/2",
                                profile=True)
    tta: int | None = setting(None, "test-time augmentation: 0 the image, 1 the mean prediction of the image and "
                              "its mirror image", choices=(0, 1), profile=True)
    mixup: float | None = setting(None, "mixup: each batch blended with a shuffled copy of itself, weight ~ "
                                  "Beta(α, α); α (0: off)", range=Range(0, 10), profile=True)
    clean_tail: float | None = setting(None, "fraction of the epochs, at the end, trained without mixup",
                                       range=FRACTION, profile=True)

    def mixup_epochs(self) -> int:
        """Epochs trained with mixup, from the first; the last ``clean_tail`` of them see clean images."""
        return round(self.epochs * (1 - self.clean_tail))


def check_config(c: FashionConfig) -> None:
    settings.check(c)
    if c.model == "cnn" and c.engine != "numpy":
        raise UsageError("the Fashion-MNIST CNN is built from the NumPy library: use --engine numpy --model cnn")
    if c.engine == "numpy" and world_size() > 1:
        raise UsageError("torchrun trains the PyTorch engine only; run the NumPy engine without torchrun")
    if c.engine == "numpy" and c.device == "cuda":
        raise UsageError("--device cuda applies to the PyTorch engine; the NumPy engine runs on the CPU: drop "
                         "--device, or add --engine torch")
    if c.engine == "numpy" and c.precision == "bf16":
        raise UsageError("--precision bf16 applies to the PyTorch engine; the NumPy library computes in float32: "
                         "drop --precision, or add --engine torch")
    if c.engine == "numpy" and c.threads is not None:
        raise UsageError("--threads sets PyTorch's threads; the NumPy engine uses NumPy's BLAS threads (set "
                         "OPENBLAS_NUM_THREADS=N): drop --threads, or add --engine torch")


def fashion_run_name(c: FashionConfig) -> str:
    return run_name("fashion", c, [c.engine, c.model, f"e{c.epochs}", f"bs{c.batch_size}", f"lr{c.lr:g}", f"s{c.seed}",
                                   f"n{c.train_limit}" if c.train_limit else "",
                                   "bf16" if c.precision == "bf16" else ""])


# -- data --------------------------------------------------------------------------------


def load_splits(c: FashionConfig) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """train / validate / test as (uint8 images (n, 28, 28), labels), optionally shortened."""
    return image_splits(c, fashion_mnist.load(c.data_dir, c.download))


def mirror(X: np.ndarray) -> np.ndarray:
    """Images as the network sees them, flattened (n, 784) or NHWC (n, 28, 28, 1), mirrored left-right."""
    return X.reshape(len(X), 28, 28, -1)[:, :, ::-1].reshape(X.shape)


def flip_half(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image mirrored with probability 1/2 (a training batch's augmentation)."""
    mirrored = rng.random(len(X)) < 0.5
    X = X.copy()
    X[mirrored] = mirror(X[mirrored])
    return X


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
        specs.append({"name": "fully_connected", "n_out": width, "weight_init": "he_uniform"})
        specs += [{"name": "batch_norm"}] if c.batch_norm else []
        specs += [{"name": "activation", "activation": "relu"}, {"name": "dropout", "p": c.dropout}]
    return specs + [{"name": "fully_connected", "activation": "softmax", "weight_init": "he_uniform"}]


def schedule(c: FashionConfig) -> Cosine:
    return Cosine(c.lr, total_epochs=c.epochs, warmup=c.warmup * c.epochs)


def numpy_trainer(c: FashionConfig, data: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[NumpyTrainer, dict]:
    if c.optimizer == "sgd":
        optimizer = SGD(schedule(c), momentum=c.momentum, nesterov=c.momentum > 0, weight_decay=c.weight_decay)
    else:
        optimizer = Adam(schedule(c), weight_decay=c.weight_decay)
    model = NeuralNetwork(numpy_layers(c), optimizer=optimizer, seed=c.seed, label_smoothing=c.label_smoothing)
    trainer = NumpyTrainer(model, data, c.batch_size, len(fashion_mnist.CLASSES), augment=flip_half if c.flip else None,
                           views=[lambda X: X, mirror] if c.tta else None, mixup=c.mixup,
                           mixup_epochs=c.mixup_epochs())
    return trainer, {"device": "cpu (numpy)"}


# -- one run -------------------------------------------------------------------------------


def run(c: FashionConfig, options: RunOptions | None = None) -> dict:
    """Train one model on Fashion-MNIST and write its run folder; returns the summary."""
    started = time.perf_counter()
    options = options or RunOptions()
    c = settings.resolve(c)
    check_config(c)
    why = "the NumPy library computes in float32"
    if c.engine == "torch":
        from ..engines import precision  # torch is needed by this engine only
        from ..engines.torch_setup import choose_device
        from .fashion_torch import torch_trainer

        arithmetic, why = precision.for_run(c, choose_device(c.device), options, fashion_run_name)
        c = dataclasses.replace(c, precision=arithmetic)
    else:
        c = dataclasses.replace(c, precision="fp32")
    with start_run("fashion", c, options, fashion_run_name(c), c.epochs, started) as run:
        splits = load_splits(c)
        standardize = Standardizer.fit(as_inputs(splits["train"][0], c.model), per_feature=False)
        data = {s: (standardize(as_inputs(X, c.model)), y) for s, (X, y) in splits.items()}
        trainer, facts = torch_trainer(c, data, schedule(c), run) if c.engine == "torch" else numpy_trainer(c, data)
        run.write_config(splits, **facts, precision_reason=why)
        fitted = fit_epochs(run, trainer, c.epochs)
        return finish_fashion_run(run, c, trainer, splits, standardize, {**fitted, **facts})


def model_settings(c: FashionConfig) -> dict:
    """The settings of the model the run trained, for its summary: the MLP's widths (the CNN
    has none), and the epochs that trained on mixed images (with mixup)."""
    return {**({"hidden": c.hidden} if c.model == "mlp" else {}),
            **({"mixup_epochs": c.mixup_epochs()} if c.mixup else {})}


def finish_fashion_run(run: Run, c: FashionConfig, trainer, splits, standardize: Standardizer, facts: dict) -> dict:
    """Test once, write the pictures and the summary."""
    test_loss, test_accuracy = trainer.evaluate("test")
    predicted = trainer.predict("test")
    title = f"Fashion-MNIST, {c.engine} {c.model.upper()}"
    write_outputs(run, title, splits["test"][1], predicted, fashion_mnist.CLASSES, images=splits["test"][0],
                  first_weights=trainer.first_layer_weights(), image_shape=(28, 28) if c.model == "mlp" else None)
    if c.engine == "numpy":
        trainer.model.save(run.folder.file("params.npz"), extra=standardize.to_arrays())
    rows = run.log.rows
    summary = {"engine": c.engine, "model": c.model, "epochs": c.epochs, **model_settings(c),
               "test_loss": test_loss, "test_accuracy": test_accuracy, "final_val_accuracy": run.final_val_accuracy(),
               "best_val_accuracy": max(r["val_accuracy"] for r in rows),
               "train_seconds": facts["train_seconds"], "eval_seconds": facts["eval_seconds"],
               "device": facts["device"], "precision": c.precision, "parameters": trainer.parameter_count(),
               "architecture": trainer.describe_model(),
               "input_standardization": {"mean": float(standardize.mean), "std": float(standardize.std)}}
    return run.complete(summary)


TORCH_MLP, NUMPY_MLP, NUMPY_CNN = ({"engine": "torch", "model": "mlp"}, {"engine": "numpy", "model": "mlp"},
                                   {"engine": "numpy", "model": "cnn"})
PIPELINE = Pipeline(
    name="fashion", help="Fashion-MNIST: the MLP in PyTorch or NumPy, or the NumPy CNN", config=FashionConfig,
    run=run, describe_result=describe_image_result, section=sections.fashion, datasets=("fashion",),
    data="fashion-mnist",
    needs_torch=lambda c: c.engine == "torch",
    # the homework's PyTorch MLP is the NumPy MLP's float32 twin (the parity bar compares them)
    stages=(Stage("Fashion-MNIST MLP (PyTorch)", "fashion-torch-mlp", {**TORCH_MLP, "precision": "fp32"}),
            Stage("Fashion-MNIST MLP (NumPy)", "fashion-numpy-mlp", NUMPY_MLP),
            Stage("Fashion-MNIST CNN (NumPy)", "fashion-numpy-cnn", NUMPY_CNN)),
    bars=(Bar("Fashion-MNIST MLP (PyTorch): homework bar", TORCH_MLP, "final_val_accuracy", "validation accuracy",
              0.82, min_epochs=8),
          Bar("Fashion-MNIST MLP (PyTorch): our bar", TORCH_MLP, "test_accuracy", "test accuracy", 0.91,
              time=("wall_seconds",), within=90, time_on_cpu_only=True),
          ParityBar("Fashion-MNIST MLP (NumPy library, same recipe)", NUMPY_MLP, {"engine": "torch"},
                    compared_settings(FashionConfig, "engine"), "the PyTorch MLP"),
          Bar("Fashion-MNIST CNN (NumPy library)", NUMPY_CNN, "test_accuracy", "test accuracy", 0.90)))
