"""What the child calls for the model's parts: the learner's ``NeuralNetwork`` built as the
homework builds it, its forward and backward beside the learner's own layers applied in
order (the reference it must reproduce), the order in which it calls them, and its
``train`` on the homework's ``Dataset`` interface.
"""

from __future__ import annotations

import importlib
import inspect
import time

import numpy as np

from .child import FAILED, Calls, construct
from .procedures import _class, _import


class AttrDict(dict):
    """The homework's layer and optimizer arguments: a dict whose keys are also attributes."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self[name] = value


def _accepted(module: str, function: str, arguments: dict) -> dict:
    """The arguments that the learner's ``module.function`` takes (the homework's factories
    take slightly different keywords in different terms)."""
    try:
        factory = getattr(importlib.import_module(f"neural_networks.{module}"), function)
        parameters = inspect.signature(factory).parameters.values()
    except BaseException:  # no such module or factory: the model's own code will say so
        return dict(arguments)
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return dict(arguments)
    names = {p.name for p in parameters}
    return {k: v for k, v in arguments.items() if k in names}


def _build_model(task, calls: Calls):
    models = _import(calls, "models")
    cls = models and _class(calls, task, models)
    if cls is None:
        return None, None
    layer_args = [AttrDict(_accepted("layers", "initialize_layer", a)) for a in task["layer_args"]]
    optimizer_args = AttrDict(_accepted("optimizers", "initialize_optimizer", task["optimizer_args"]))
    model = calls.run("construct", construct, cls, loss="cross_entropy", layer_args=layer_args,
                      optimizer_args=optimizer_args, logger=None, seed=task["seed"])
    return (None, None) if model is FAILED else (model, layer_args)


def model(task, inputs, calls: Calls) -> None:
    model, layer_args = _build_model(task, calls)
    if model is None:
        return
    X, Y = inputs["X"], inputs["Y"]
    layers = getattr(model, "layers", None)
    if not isinstance(layers, list):
        calls.note("construct", no_layers=True)
        return
    if len(layers) == len(layer_args) - 1:  # the output layer is added by train(), as the homework does
        builder = importlib.import_module("neural_networks.layers").initialize_layer
        last = calls.run("output_layer", builder, **{**layer_args[-1], "n_out": Y.shape[1]})
        if last is FAILED:
            return
        layers.append(last)
    reference = _reference_chain(model, X, Y)
    if isinstance(reference, str):  # the learner's layers or loss cannot be used: judge the wiring with ours
        calls.note("fallback", reason=reference)
        _use_our_layers(model, task, Y.shape[1])
        reference = _reference_chain(model, X, Y)
        if isinstance(reference, str):
            calls.note("fallback", failed=reference)
            return
    outs, ref_loss, ref_grads = reference
    for i, h in enumerate(outs):
        calls.record(f"chain{i}", h)
    log = _spy(model.layers)
    if task["method"] == "forward":
        log.clear()
        calls.run("out", model.forward, X.copy())
        calls.note("out", order=list(log))
        return
    for i, grads in enumerate(ref_grads):
        for k, g in grads.items():
            calls.record(f"ref{i}_{k}", g)
    calls.record("ref_loss", ref_loss)
    _forward_chain(model.layers, X)  # the caches the model's backward will use
    for layer in model.layers:
        _zero_gradients(layer)
    log.clear()
    calls.run("loss", model.backward, Y.copy(), outs[-1].copy())
    calls.note("loss", order=list(log))
    for i, layer in enumerate(model.layers):
        for k in ref_grads[i]:
            calls.record(f"grad{i}_{k}", dict(getattr(layer, "gradients", {}) or {}).get(k))


def _forward_chain(layers, X):
    outs, h = [], X.copy()
    for layer in layers:
        h = layer.forward(h)
        outs.append(np.asarray(h, dtype=np.float64))
    return outs


def _reference_chain(model, X, Y):
    """The learner's own layers applied in order and backpropagated in reverse, with the
    learner's loss: what the model's forward and backward must reproduce. A string says
    why it could not be computed."""
    try:
        outs = _forward_chain(model.layers, X)
        if outs[-1].shape != Y.shape or not np.all(np.isfinite(outs[-1])):
            return f"the layers' output has shape {outs[-1].shape} (or is not finite), not {Y.shape}"
        loss_value = float(np.asarray(model.loss.forward(Y.copy(), outs[-1].copy()), dtype=float))
        dY = model.loss.backward(Y.copy(), outs[-1].copy())
        for layer in reversed(model.layers):
            _zero_gradients(layer)
        for layer in reversed(model.layers):
            dY = layer.backward(dY)
        grads = [{k: np.array(v, dtype=np.float64) for k, v in layer.gradients.items()} for layer in model.layers]
    except BaseException as err:
        return f"{type(err).__name__}: {str(err)[:200]}"
    return outs, loss_value, grads


def _zero_gradients(layer) -> None:
    params = getattr(layer, "parameters", None) or {}
    if isinstance(getattr(layer, "gradients", None), dict):
        for k, v in params.items():
            layer.gradients[k] = np.zeros_like(v)


def _use_our_layers(model, task, n_classes: int) -> None:
    from backproplab.nn import CrossEntropy, FullyConnected

    rng = np.random.default_rng(task["seed"])
    model.layers = [FullyConnected(a.get("n_out") or n_classes, a["activation"], rng=rng) for a in task["layer_args"]]
    model.loss = CrossEntropy()


def _spy(layers) -> list:
    """Record the order in which the model calls its layers' forward and backward."""
    log: list = []
    for i, layer in enumerate(layers):
        for method in ("forward", "backward"):
            inner = getattr(layer, method)

            def spy(*args, _inner=inner, _entry=(method, i), **kwargs):
                log.append(_entry)
                return _inner(*args, **kwargs)

            setattr(layer, method, spy)
    return log


# -- training the whole package ----------------------------------------------------------------------


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

    def __init__(self, inputs, batch_size: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.batch_size = batch_size
        self.train = Split(inputs["X_train"], inputs["Y_train"], batch_size, rng)
        self.validate = Split(inputs["X_val"], inputs["Y_val"], batch_size, rng)
        self.test = Split(inputs["X_test"], inputs["Y_test"], batch_size, rng)
        self.out_dim = inputs["Y_train"].shape[1]
        self.n_training, self.n_validation = self.train.n_samples, self.validate.n_samples


def train(task, inputs, calls: Calls) -> None:
    model, _ = _build_model(task, calls)
    if model is None:
        return
    dataset = HomeworkDataset(inputs, task["batch_size"], task["seed"])
    start = time.monotonic()
    if calls.run("train", model.train, dataset, task["epochs"]) is FAILED:
        return
    calls.note("train", seconds=time.monotonic() - start)
    calls.run("test_out", model.forward, inputs["X_test"].copy())
    calls.run("train_out", model.forward, inputs["X_train"].copy())
