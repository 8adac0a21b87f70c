"""``NeuralNetwork.train``: what the whole package achieves. The homework's two-layer
network, trained by the learner's ``train`` on Iris through the homework's ``Dataset``
interface, must reach the bar on the test flowers.

The learner's process gets the training and validation flowers with their labels and the
test flowers *without* theirs (its ``dataset.test`` holds zeros for labels). It returns the
weights ``train`` left in the network's layers; the grader runs those weights through its
own layers on the test flowers and scores that — so an answer looked up rather than
computed by the network (Iris is public) scores only what the network's weights score.
"""

from __future__ import annotations

import numpy as np

from ..causes import result_cause
from ..harness import FAILED
from ..judge import Finding, Result, error_problem, matches
from ..kind import COMMON_LABELS, PartKind, new_prepared
from .model import CLASSES, LAYERS, OPTIMIZER, build, built

#: the bar, what ``train`` is given, and the fixed split (105 / 15 / 30 flowers, standardised): the
#: correct fixture package reaches 96.7–100% on it for each of 30 seeds
TRAIN = {"bar": 0.9, "epochs": 100, "batch_size": 15, "hidden": 10, "split_seed": 2}
SPLITS = ("train", "val", "test")
OUT = "test_out"


def draw(part, seed: int, ours, term):
    prepared = new_prepared(part, seed)
    splits = ours.iris(TRAIN["split_seed"])  # fixed, as the homework ships fixed arrays
    for split, key in zip(("train", "validate", "test"), SPLITS):
        X, labels = splits[split]
        prepared.inputs[f"X_{key}"] = X
        if key != "test":  # the test labels stay in the grader
            prepared.inputs[f"Y_{key}"] = np.eye(3)[labels]
    prepared.expected["Y_test"] = np.eye(3)[splits["test"][1]]
    hidden = {**LAYERS[0], "n_out": TRAIN["hidden"]}
    prepared.task.update(layer_args=[hidden, LAYERS[-1]], optimizer_args=OPTIMIZER, epochs=TRAIN["epochs"],
                         batch_size=TRAIN["batch_size"], classes=3)
    return prepared


#: the most layers whose weights are sent (the homework's network has two)
MAX_LAYERS = 4


def layer_label(i: int, name: str) -> str:
    return f"trained{i}.{name}"


def labels(prepared):
    return {*COMMON_LABELS, "train", "layers", OUT, *(layer_label(i, k) for i in range(MAX_LAYERS) for k in "Wb")}


# -- in the learner's process ---------------------------------------------------------------------------


class Split:
    """One part of the homework's ``Dataset``: batches by ``sample()``, reshuffled each epoch."""

    def __init__(self, data, labels, batch_size: int, rng: np.random.Generator) -> None:
        self.data_, self.labels, self.batch_size, self.rng = data, labels, batch_size, rng
        self.out_dim = labels.shape[1]
        self.n_samples = data.shape[0]
        self.samples_per_epoch = -(-self.n_samples // batch_size)
        self.iteration = 0

    def sample(self, shuffle: bool = True):
        if self.iteration == 0 and shuffle:
            order = self.rng.permutation(self.n_samples)
            self.data_, self.labels = self.data_[order], self.labels[order]
        start = self.iteration * self.batch_size
        self.iteration = (self.iteration + 1) % self.samples_per_epoch
        return self.data_[start:start + self.batch_size], self.labels[start:start + self.batch_size]

    def reset(self) -> None:
        self.iteration = 0


class HomeworkDataset:
    """The homework's ``Dataset`` interface (``train``/``validate``/``test``, ``out_dim``)."""

    def __init__(self, inputs, classes: int, batch_size: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.batch_size = batch_size
        hidden = np.zeros((inputs["X_test"].shape[0], classes))  # the test labels are not given
        self.train = Split(inputs["X_train"], inputs["Y_train"], batch_size, rng)
        self.validate = Split(inputs["X_val"], inputs["Y_val"], batch_size, rng)
        self.test = Split(inputs["X_test"], hidden, batch_size, rng)
        self.out_dim = classes
        self.n_training, self.n_validation = self.train.n_samples, self.validate.n_samples


def run(task, inputs, calls, cls) -> None:
    model = build(task, calls, cls, task["layer_args"])
    if model is None:
        return
    dataset = HomeworkDataset(inputs, task["classes"], task["batch_size"], task["seed"])
    if calls.run("train", model.train, dataset, task["epochs"]) is FAILED:
        return
    calls.run(OUT, model.forward, inputs["X_test"].copy())
    layers = getattr(model, "layers", None)
    if isinstance(layers, list):
        calls.note("layers", count=len(layers))
        for i, layer in enumerate(layers[:MAX_LAYERS]):
            params = getattr(layer, "parameters", None)
            for k in "Wb":
                calls.record(layer_label(i, k), params.get(k) if isinstance(params, dict) else None)


# -- in the grader ---------------------------------------------------------------------------------------

#: the parts that training on Iris relies on (a failing one is named when training fails)
USES = ["ReLU.forward", "ReLU.backward", "SoftMax.forward", "SoftMax.backward", "FullyConnected.forward",
        "FullyConnected.backward", "CrossEntropy.forward", "CrossEntropy.backward", "NeuralNetwork.forward",
        "NeuralNetwork.backward"]


def judge(prepared, result: Result, ctx) -> Finding:
    f = Finding(prepared.part.name)
    if not built(f, result, ctx):
        return f
    info = result.call("train") or {}
    if info.get("kind") == "error":
        f.worse(*error_problem(info, "NeuralNetwork.train", ctx))
        return f
    weights = _trained_weights(f, result, prepared, ctx)
    if weights is None:
        return f
    out = _network(ctx.ours, weights, prepared.inputs["X_test"])  # (30, 3)
    Y = prepared.expected["Y_test"]
    accuracy = float(np.mean(np.argmax(out, axis=1) == np.argmax(Y, axis=1)))
    f.detail.append(f"test accuracy {accuracy:.1%} on {len(Y)} Iris test flowers after {prepared.task['epochs']} "
                    "epochs (the weights your train() left, run through the grader's layers)")
    yours = result.array(OUT)
    if yours is not None and not matches(yours, out):
        f.detail.append("your own forward gives other outputs for these weights (see NeuralNetwork.forward and the "
                        "layers' parts)")
    if accuracy >= TRAIN["bar"]:
        return f
    cause = result_cause("train-accuracy", accuracy=f"{accuracy:.1%}", bar=f"{TRAIN['bar']:.0%}")
    if not np.all(np.isfinite(out)):
        cause += "; the network's outputs are NaN or infinite (training diverged)"
    failing = [name for name in USES if name in ctx.findings and ctx.findings[name].verdict != "pass"]
    if failing:
        cause += f"; the parts it uses that fail: {', '.join(failing)}"
    f.worse("wrong", cause, "train-accuracy")
    return f


def _trained_weights(f: Finding, result: Result, prepared, ctx) -> list | None:
    """[(W, b) of each layer] as train() left them, each of the homework's shape; None (the
    reason recorded) where they are not."""
    sizes = [prepared.inputs["X_train"].shape[1], TRAIN["hidden"], prepared.task["classes"]]
    count = result.note("layers", "count", None, int)
    if count != len(sizes) - 1:
        f.worse("wrong", f"after training, the network has {count if count is not None else 'no list of'} layers, "
                         f"not the {len(sizes) - 1} it was built with", "wrong-shape")
        return None
    weights = []
    for i in range(len(sizes) - 1):
        W = result.need(f, layer_label(i, "W"), f"layer {i + 1}'s parameters['W'] after training", ctx)
        b = result.need(f, layer_label(i, "b"), f"layer {i + 1}'s parameters['b'] after training", ctx)
        if W is None or b is None:
            return None
        if W.shape != (sizes[i], sizes[i + 1]) or b.size != sizes[i + 1]:
            f.worse("wrong", f"after training, layer {i + 1} has W of shape {W.shape} and b of {b.shape}, not "
                             f"{(sizes[i], sizes[i + 1])} and (1, {sizes[i + 1]})", "wrong-shape")
            return None
        weights.append((W, b.reshape(1, -1)))
    return weights


def _network(ours, weights, X):
    """The homework's network (relu, then softmax) with these weights, by backproplab's layers."""
    h = X
    for (W, b), activation in zip(weights, ("relu", "softmax")):
        layer = ours.FullyConnected(W.shape[1], activation)
        layer.restore({"W": W, "b": b}, {})
        h = layer.forward(h)
    return h


KIND = PartKind(
    name="training", order=100, classes=CLASSES, methods=("train",), draw=draw, run=run, judge=judge,
    labels=labels, causes=("train-accuracy",), timeout_factor=4.0)
