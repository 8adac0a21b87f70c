"""The parts of the homework that ``backproplab check`` grades, and the inputs of each.

A part is one method of one class of the learner's ``neural_networks`` package, named
as it is printed (``Conv2D.backward``, ``Pool2D.max.forward``). Its inputs are drawn from
a generator seeded by ``--seed`` and the part's name, so a part sees the same arrays
whether it runs alone (``--parts``) or with the others. Every part is tried on one or
two *cases* (a convolution with stride 1 and padding "same", then stride 2 and "valid");
the arrays of case ``c`` are named ``c{c}_X``, ``c{c}_dY``, ….

Inputs are float64 and of order 1, kept away from ReLU's kink, so that central finite
differences are exact to about 1e-8 and every catalogue transformation is told apart.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from ..nn.layers import Conv2D

#: how many entries of each array the finite differences sample
FD_SAMPLES = 12
#: the two-layer network of the model parts and of training (the output layer's n_out is the data's)
#: (three layers, so that the order in which the model calls them tells its mistakes apart)
MODEL_LAYERS = [
    {"name": "fully_connected", "activation": "relu", "weight_init": "xavier_uniform", "n_out": 5},
    {"name": "fully_connected", "activation": "relu", "weight_init": "xavier_uniform", "n_out": 4},
    {"name": "fully_connected", "activation": "softmax", "weight_init": "xavier_uniform", "n_out": None},
]
#: the homework's optimizer arguments (SGD with momentum, a constant rate)
OPTIMIZER = {"name": "SGD", "lr": 0.01, "lr_scheduler": "constant", "momentum": 0.9, "clip_norm": None,
             "lr_decay": 0.99, "staircase": False, "stage_length": 1}
#: training on Iris: the bar, what the learner's ``train`` is given, and the fixed split (105 / 15 / 30
#: flowers, standardised): the correct fixture package reaches 96.7–100% on it for each of 30 seeds
TRAIN = {"bar": 0.9, "epochs": 100, "batch_size": 15, "hidden": 10, "split_seed": 2}


@dataclass(frozen=True)
class Part:
    name: str  # as printed, e.g. "Pool2D.max.backward"
    module: str  # the learner's module that holds the class
    cls: str  # the homework's class name
    procedure: str  # the child's procedure (procedures.PROCEDURES)
    method: str  # "forward", "backward" or "train"
    aliases: tuple[str, ...] = ()  # the class's name in another term's package
    factory: str | None = None  # the module's builder, e.g. initialize_activation
    factory_name: str | None = None  # what the builder is asked for, e.g. "tanh"
    mode: str | None = None  # Pool2D's "max" or "average"

    def class_spec(self) -> dict:
        return {"name": self.cls, "aliases": list(self.aliases), "factory": self.factory,
                "factory_name": self.factory_name}


def _activation_parts() -> list[Part]:
    table = [("Linear", ("Identity",), "linear"), ("Sigmoid", (), "sigmoid"), ("TanH", ("Tanh",), "tanh"),
             ("ReLU", ("Relu",), "relu"), ("SoftMax", ("Softmax",), "softmax"), ("ArcTan", ("Arctan",), "arctan")]
    return [Part(f"{cls}.{method}", "activations", cls, "activation", method, aliases, "initialize_activation", name)
            for cls, aliases, name in table for method in ("forward", "backward")]


def _layer_parts() -> list[Part]:
    parts = [Part(f"{cls}.{method}", "layers", cls, "layer", method, factory="initialize_layer", factory_name=name)
             for cls, name in (("FullyConnected", "fully_connected"), ("Conv2D", "conv2d"))
             for method in ("forward", "backward")]
    parts += [Part(f"Pool2D.{mode}.{method}", "layers", "Pool2D", "layer", method, mode=mode)
              for mode in ("max", "average") for method in ("forward", "backward")]
    parts += [Part(f"Flatten.{method}", "layers", "Flatten", "layer", method) for method in ("forward", "backward")]
    return parts


PARTS: list[Part] = [
    *_activation_parts(),
    *_layer_parts(),
    *[Part(f"CrossEntropy.{m}", "losses", "CrossEntropy", "loss", m, factory="initialize_loss",
           factory_name="cross_entropy") for m in ("forward", "backward")],
    *[Part(f"NeuralNetwork.{m}", "models", "NeuralNetwork", "model" if m != "train" else "train", m)
      for m in ("forward", "backward", "train")],
]
PART_NAMES = [p.name for p in PARTS]


@dataclass
class Prepared:
    """What one part's child is given (``task``, ``inputs``) and what judging it needs."""

    part: Part
    task: dict
    inputs: dict[str, np.ndarray]
    cases: list[dict] = field(default_factory=list)


def part_rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def away_from_zero(A: np.ndarray) -> np.ndarray:
    """Entries at least 0.1 from 0, where ReLU's kink would spoil finite differences."""
    return A + 0.1 * np.where(A >= 0, 1.0, -1.0)


def samples(rng: np.random.Generator, A: np.ndarray) -> np.ndarray:
    return np.sort(rng.choice(A.size, size=min(FD_SAMPLES, A.size), replace=False))


def prepare(part: Part, seed: int) -> Prepared:
    rng = part_rng(seed, part.name)
    task = {"procedure": part.procedure, "method": part.method, "class": part.class_spec(), "seed": seed}
    prepared = Prepared(part, task, {})
    {"activation": _activation, "layer": _layer, "loss": _loss, "model": _model, "train": _train}[
        part.procedure](prepared, rng)
    task["cases"] = [{k: v for k, v in case.items() if k in ("label", "kwargs", "parameters", "activations")}
                     for case in prepared.cases]
    return prepared


def _add(prepared: Prepared, case: dict, rng: np.random.Generator, **arrays) -> None:
    """Add a case with its arrays, and the finite-difference samples of the differentiable ones."""
    c = len(prepared.cases)
    for name, A in arrays.items():
        prepared.inputs[f"c{c}_{name}"] = A
        if name in case.get("differentiate", ()):
            prepared.inputs[f"c{c}_idx_{name}"] = samples(rng, A)
    prepared.cases.append(case)


def _activation(prepared: Prepared, rng) -> None:
    Z = away_from_zero(rng.normal(0, 1.5, (6, 5)))
    Z[0, 0] = -abs(Z[0, 0])  # np.vectorize takes its result type from the first entry: ReLU's 0 must show up
    arrays = {"Z": Z}
    if prepared.part.method == "backward":
        arrays["dY"] = rng.normal(0, 1, Z.shape)
    _add(prepared, {"label": "Z of shape (6, 5)", "differentiate": ("Z",)}, rng, **arrays)
    if prepared.part.cls == "SoftMax" and prepared.part.method == "forward":
        _add(prepared, {"label": "logits near 1000", "big": True}, rng, Z=1000 + rng.normal(0, 3, (6, 5)))


def _loss(prepared: Prepared, rng) -> None:
    labels = rng.integers(0, 4, 6)
    Y = np.eye(4)[labels]
    logits = rng.normal(0, 1, (6, 4))
    Y_hat = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    _add(prepared, {"label": "6 examples, 4 classes", "differentiate": ("Y_hat",)}, rng, Y=Y, Y_hat=Y_hat)


def _layer(prepared: Prepared, rng) -> None:
    part = prepared.part
    if part.cls == "FullyConnected":
        for prefs in (["relu", "linear"], ["tanh", "relu", "linear"], ["softmax", "linear"]):
            X0, X, W, b, Zref = _off_the_kink(
                rng, lambda: (rng.normal(0, 1, (5, 4)), rng.normal(0, 1, (5, 4)), rng.normal(0, 0.6, (4, 3)),
                              rng.normal(0, 0.5, (1, 3))), lambda X, W, b: X @ W + b)
            case = {"label": f"5 × 4 → 3, {prefs[0]}", "kwargs": {"n_out": 3, "weight_init": "xavier_uniform"},
                    "parameters": ["W", "b"], "activations": prefs, "differentiate": ("X", "W", "b")}
            _add(prepared, case, rng, X0=X0, X=X, W=W, b=b, Zref=Zref, dY=rng.normal(0, 1, Zref.shape))
    elif part.cls == "Conv2D":
        for stride, pad, prefs in ((1, "same", ["relu", "linear"]), (2, "valid", ["tanh", "relu", "linear"])):
            X0, X, W, b, Zref = _off_the_kink(
                rng, lambda: (rng.normal(0, 1, (2, 5, 6, 2)), rng.normal(0, 1, (2, 5, 6, 2)),
                              rng.normal(0, 0.4, (3, 3, 2, 3)), rng.normal(0, 0.5, (1, 3))),
                lambda X, W, b: conv_reference(X, W, b, stride, pad))
            case = {"label": f"stride {stride}, padding \"{pad}\", 3×3 kernel, {prefs[0]}",
                    "kwargs": {"n_out": 3, "kernel_shape": (3, 3), "stride": stride, "pad": pad,
                               "weight_init": "xavier_uniform"},
                    "parameters": ["W", "b"], "activations": prefs, "differentiate": ("X", "W", "b"),
                    "stride": stride, "pad": pad}
            _add(prepared, case, rng, X0=X0, X=X, W=W, b=b, Zref=Zref, dY=rng.normal(0, 1, Zref.shape))
    elif part.cls == "Pool2D":
        for kernel, stride, shape in ((2, 2, (2, 6, 4, 3)), (3, 1, (2, 5, 4, 2))):
            X0, X = rng.normal(0, 1, shape), rng.normal(0, 1, shape)
            out = (shape[1] - kernel) // stride + 1, (shape[2] - kernel) // stride + 1
            case = {"label": f"kernel {kernel}, stride {stride}",
                    "kwargs": {"kernel_shape": (kernel, kernel), "mode": part.mode, "stride": stride, "pad": 0},
                    "differentiate": ("X",), "kernel": kernel, "stride": stride}
            _add(prepared, case, rng, X0=X0, X=X, dY=rng.normal(0, 1, (shape[0], *out, shape[3])))
    else:  # Flatten
        X0, X = rng.normal(0, 1, (3, 4, 2, 5)), rng.normal(0, 1, (3, 4, 2, 5))
        _add(prepared, {"label": "X of shape (3, 4, 2, 5)", "kwargs": {"keep_dim": "first"},
                        "differentiate": ("X",)}, rng, X0=X0, X=X, dY=rng.normal(0, 1, (3, 40)))


def _off_the_kink(rng, draw, pre_activation):
    """X0, X, W, b and Z = f(X, W, b), drawn again until no |Z| < 0.05 (ReLU's kink)."""
    while True:
        X0, X, W, b = draw()
        Z = pre_activation(X, W, b)
        if np.min(np.abs(Z)) > 0.05:
            return X0, X, W, b, Z


def conv_reference(X, W, b, stride, pad, activation="linear"):
    """Our convolution (proven against torch.nn.functional.conv2d) with these parameters."""
    layer = Conv2D(W.shape[3], W.shape[:2], activation=activation, stride=stride, pad=pad)
    layer.restore({"W": W, "b": b}, {})
    return layer.forward(X)


def _model(prepared: Prepared, rng) -> None:
    labels = np.arange(8) % 3
    prepared.inputs.update(X=rng.normal(0, 1, (8, 4)), Y=np.eye(3)[rng.permutation(labels)])
    prepared.task.update(layer_args=MODEL_LAYERS, optimizer_args=OPTIMIZER)


def _train(prepared: Prepared, rng) -> None:
    from ..data.dataset import Standardizer
    from ..data.tabular import iris_path, read_csv, split_tabular

    X, y, _, _ = read_csv(iris_path())
    splits = split_tabular(X, y, seed=TRAIN["split_seed"])  # fixed, as the homework ships fixed arrays
    scale = Standardizer.fit(splits["train"][0])
    for split, key in (("train", "train"), ("validate", "val"), ("test", "test")):
        prepared.inputs[f"X_{key}"] = scale(splits[split][0], np.float64)
        prepared.inputs[f"Y_{key}"] = np.eye(3)[splits[split][1]]
    hidden = {**MODEL_LAYERS[0], "n_out": TRAIN["hidden"]}
    prepared.task.update(layer_args=[hidden, MODEL_LAYERS[-1]], optimizer_args=OPTIMIZER, epochs=TRAIN["epochs"],
                         batch_size=TRAIN["batch_size"])

