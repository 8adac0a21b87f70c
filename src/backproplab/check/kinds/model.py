"""``NeuralNetwork.forward`` and ``.backward``: the learner's model, built as the homework
builds it (three dense layers, relu, relu, softmax, and the cross-entropy loss), with the
weights the grader chose put into its layers.

The grader computes what the model must give with backproplab's layers holding the same
weights: forward, the last layer's output; backward, each layer's dW and db for the loss
at a given Ŷ (not the forward's output, so that backward's inputs reveal nothing of
forward's answer) and the loss it must return. The order in which the model calls its
layers names the wiring mistakes (a loop that stops one layer early). When the model
reproduces the learner's own layers applied in order but not the right result, the cause
says so: the wiring is right and a layer it uses is wrong (see that layer's part).
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np

from ..causes import result_cause
from ..harness import FAILED, construct
from ..judge import Finding, Result, error_problem, judge_array, matches
from ..kind import COMMON_LABELS, ClassSpec, PartKind, new_prepared, part_rng

#: the network of the model parts (the output layer's n_out is the data's); three layers, so
#: that the order in which the model calls them tells its mistakes apart
LAYERS = [
    {"name": "fully_connected", "activation": "relu", "weight_init": "xavier_uniform", "n_out": 5},
    {"name": "fully_connected", "activation": "relu", "weight_init": "xavier_uniform", "n_out": 4},
    {"name": "fully_connected", "activation": "softmax", "weight_init": "xavier_uniform", "n_out": None},
]
#: the homework's optimizer arguments (SGD with momentum, a constant rate)
OPTIMIZER = {"name": "SGD", "lr": 0.01, "lr_scheduler": "constant", "momentum": 0.9, "clip_norm": None,
             "lr_decay": 0.99, "staircase": False, "stage_length": 1}
IN_X, IN_Y, IN_Y_HAT = "X", "Y", "Y_hat"
OUT, OUT_J = "out", "J"
CLASSES = (ClassSpec("NeuralNetwork", "models"),)


def layer_label(i: int, name: str) -> str:
    return f"layer{i}.{name}"


def draw(part, seed: int, ours, term):
    prepared = new_prepared(part, seed)
    rng = part_rng(seed, part.name)
    X = rng.normal(0, 1, (8, 4))
    Y = np.eye(3)[rng.permutation(np.arange(8) % 3)]
    prepared.task.update(layer_args=LAYERS, optimizer_args=OPTIMIZER)
    sizes = [X.shape[1], *(a["n_out"] or Y.shape[1] for a in LAYERS)]
    layers = [ours.FullyConnected(n_out, a["activation"]) for n_out, a in zip(sizes[1:], LAYERS)]
    inputs = {IN_X: X, IN_Y: Y}
    for i, layer in enumerate(layers):
        W, b = rng.normal(0, 0.7, (sizes[i], sizes[i + 1])), rng.normal(0, 0.3, (1, sizes[i + 1]))
        layer.restore({"W": W, "b": b}, {})
        inputs[layer_label(i, "W")], inputs[layer_label(i, "b")] = W, b
    chain, h = [], X
    for layer in layers:
        h = layer.forward(h)
        chain.append(h)
    expected = {"chain": chain}
    if part.method == "backward":
        Y_hat = ours.initialize_activation("softmax").forward(rng.normal(0, 1, Y.shape))
        inputs[IN_Y_HAT] = Y_hat
        loss = ours.CrossEntropy()
        dY = loss.backward(Y, Y_hat)
        for layer in reversed(layers):
            dY = layer.backward(dY)
        expected.update(J=float(loss.forward(Y, Y_hat)), grads=[dict(layer.gradients) for layer in layers])
    prepared.inputs, prepared.expected = inputs, expected
    return prepared


def labels(prepared):
    per_layer = [layer_label(i, n) for i in range(len(LAYERS)) for n in ("Y", "W", "b")]
    return {*COMMON_LABELS, "output_layer", "init", OUT, OUT_J, *per_layer}


# -- in the learner's process ---------------------------------------------------------------------------


class AttrDict(dict):
    """The homework's layer and optimizer arguments: a dict whose keys are also attributes."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self[name] = value


def accepted(module: str, function: str, arguments: dict) -> dict:
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


def build(task, calls, cls, layer_args: list[dict]):
    """The learner's model as the homework builds it, or None (the reason recorded)."""
    layer_args = [AttrDict(accepted("layers", "initialize_layer", a)) for a in layer_args]
    optimizer_args = AttrDict(accepted("optimizers", "initialize_optimizer", task["optimizer_args"]))
    model = calls.run("construct", construct, cls, loss="cross_entropy", layer_args=layer_args,
                      optimizer_args=optimizer_args, logger=None, seed=task["seed"])
    return None if model is FAILED else model


def run(task, inputs, calls, cls) -> None:
    model = build(task, calls, cls, task["layer_args"])
    if model is None:
        return
    X, Y = inputs[IN_X], inputs[IN_Y]
    layers = getattr(model, "layers", None)
    if not isinstance(layers, list):
        calls.note("construct", no_layers=True)
        return
    if len(layers) == len(task["layer_args"]) - 1:  # the output layer is added by train(), as the homework does
        builder = importlib.import_module("neural_networks.layers").initialize_layer
        args = AttrDict(accepted("layers", "initialize_layer", {**task["layer_args"][-1], "n_out": Y.shape[1]}))
        last = calls.run("output_layer", builder, **args)
        if last is FAILED:
            return
        layers.append(last)
    if calls.run("init", _put_weights, layers, inputs, X) is FAILED:
        return
    _record_chain(calls, layers, X)
    log = _spy(layers)
    if task["method"] == "forward":
        log.clear()
        calls.run(OUT, model.forward, X.copy())
        calls.note(OUT, order=list(log))
        return
    _forward_chain(layers, X)  # the caches the model's backward will use
    for layer in layers:
        _zero_gradients(layer)
    log.clear()
    calls.run(OUT_J, model.backward, Y.copy(), inputs[IN_Y_HAT].copy())
    calls.note(OUT_J, order=list(log))
    for i, layer in enumerate(layers):
        gradients = getattr(layer, "gradients", None)
        for k in ("W", "b"):
            calls.record(layer_label(i, k), gradients.get(k) if isinstance(gradients, dict) else None)


def _put_weights(layers, inputs, X):
    """Initialise each layer (a first forward through it) and give it the grader's weights."""
    h = X.copy()
    for layer in layers:
        h = layer.forward(h)
    for i, layer in enumerate(layers):
        for k in ("W", "b"):
            layer.parameters[k] = inputs[layer_label(i, k)].copy()
    return True


def _forward_chain(layers, X) -> list:
    outs, h = [], X.copy()
    for layer in layers:
        h = layer.forward(h)
        outs.append(h)
    return outs


def _zero_gradients(layer) -> None:
    params = getattr(layer, "parameters", None) or {}
    if isinstance(getattr(layer, "gradients", None), dict):
        for k, v in params.items():
            layer.gradients[k] = np.zeros_like(v)


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


def _record_chain(calls, layers, X) -> None:
    """The learner's own layers applied in order: a claim, used only to explain a mistake."""
    try:
        for i, h in enumerate(_forward_chain(layers, X)):
            calls.record(layer_label(i, "Y"), h)
    except BaseException:
        pass


# -- in the grader ---------------------------------------------------------------------------------------


def built(f: Finding, result: Result, ctx) -> bool:
    """The model was built and its layers took the grader's weights (else the reason is recorded)."""
    for label, what in (("construct", "NeuralNetwork(...)"), ("output_layer", "initialize_layer(...) for the "
                                                                              "output layer"),
                        ("init", "the layers' first forward (or setting their parameters W and b)")):
        info = result.call(label) or {}
        if info.get("kind") == "error":
            f.worse(*error_problem(info, what, ctx))
            return False
    if result.note("construct", "no_layers", False, bool):
        f.worse("wrong", "NeuralNetwork keeps no list self.layers of its layers")
        return False
    return True


def _order(result: Result, label: str, method: str) -> list[int]:
    order = result.note(label, "order", [], list)
    return [e[1] for e in order if isinstance(e, list) and len(e) == 2 and e[0] == method and type(e[1]) is int]


def judge(prepared, result, ctx) -> Finding:
    f = Finding(prepared.part.name)
    if not built(f, result, ctx):
        return f
    if prepared.part.method == "forward":
        _forward(f, result, prepared, ctx)
    else:
        _backward(f, result, prepared, ctx)
    return f


def _forward(f: Finding, result: Result, prepared, ctx) -> None:
    out = result.need(f, OUT, "NeuralNetwork.forward", ctx)
    if out is None:
        return
    chain, X = prepared.expected["chain"], prepared.inputs[IN_X]
    n = len(chain)
    which = next((f"the output of layer {i + 1} of {n}" for i, h in enumerate(chain[:-1]) if matches(out, h)), None)
    if which is None and matches(out, X):
        which = "its input X unchanged"
    alternatives = [("model-output", out)] if which else []
    order = _order(result, OUT, "forward")
    if order != list(range(n)) and not alternatives:
        alternatives = [("model-order", out)]
    if judge_array(f, "the output", out, chain[-1], alternatives,
                   fields={"which": which, "method": "forward", "order": order,
                           "expected": f"forward goes through every layer, first to last: {list(range(n))}"}):
        return
    own = result.array(layer_label(n - 1, "Y"))
    if not f.rules and matches(out, own):
        f.set_cause("model-layers-wrong", result_cause("model-layers-wrong", method="forward",
                                                       parts=_failing(ctx, USES) or "its layers"))


def _backward(f: Finding, result: Result, prepared, ctx) -> None:
    n = len(LAYERS)
    if result.call(OUT_J) is None:
        f.worse("error", "NeuralNetwork.backward was not reached (the part's process sent no result for it)")
        return
    info = result.call(OUT_J)
    order = _order(result, OUT_J, "backward")
    expected = list(reversed(range(n)))
    rule = None
    if order != expected:
        if order and order == list(range(n))[: len(order)]:
            rule = "model-order"  # first to last, as forward goes
        elif order and 0 not in order and order == expected[: len(order)]:
            rule = "model-skips-first"
        elif order and order == expected[1: len(order) + 1]:
            rule = "model-skips-last"
        else:
            rule = "model-order"
    fields = {"method": "backward", "order": order,
              "expected": f"backpropagation goes from the last layer to the first: {expected}"}
    if info.get("kind") == "error":
        verdict, cause, env_rule = error_problem(info, "NeuralNetwork.backward", ctx)
        if rule:
            cause = f"{result_cause(rule, **fields)} ({cause})"
        f.worse(verdict, cause, rule or env_rule)
        return
    all_zero = True
    for i, grads in enumerate(prepared.expected["grads"]):
        for k in ("W", "b"):
            yours = result.array(layer_label(i, k))
            if result.call(layer_label(i, k)) is None:
                f.worse("error", f"layer {i + 1}'s gradients['{k}'] was not sent (the part's process ended early?)")
                continue
            if yours is None:
                f.worse("wrong", f"layer {i + 1}'s gradients['{k}'] is missing after NeuralNetwork.backward", rule)
                continue
            all_zero &= not np.any(yours)
            judge_array(f, f"layer {i + 1}'s d{k}", yours, grads[k], [("all-zero", np.zeros_like(grads[k]))],
                        accept_singletons=(k == "b"))
    J_right = prepared.expected["J"]
    if info.get("kind") in ("ellipsis", "none") and all_zero:
        f.worse("not implemented", f"NeuralNetwork.backward returns {'...' if info['kind'] == 'ellipsis' else 'None'}"
                                   " and computes no gradient", "not-implemented")
        return
    J = result.array(OUT_J)
    if J is None or J.size != 1 or not matches(J.reshape(()), np.array(J_right)):
        value = "None" if J is None else (f"{J.reshape(()):.6g}" if J.size == 1 else f"shape {J.shape}")
        f.worse("wrong", result_cause("model-returns-loss", value=value, expected=f"{J_right:.6g}"),
                "model-returns-loss")
    if f.verdict == "wrong" and rule:
        f.set_cause(rule, result_cause(rule, **fields))
    elif f.verdict == "wrong" and not f.rules and _failing(ctx, USES):
        f.set_cause("model-layers-wrong", result_cause("model-layers-wrong", method="backward",
                                                       parts=_failing(ctx, USES)))


#: the parts the model's layers and loss rely on
USES = ["ReLU.forward", "ReLU.backward", "SoftMax.forward", "SoftMax.backward", "FullyConnected.forward",
        "FullyConnected.backward", "CrossEntropy.forward", "CrossEntropy.backward"]


def _failing(ctx, names) -> str:
    """The parts among ``names`` judged so far that do not pass."""
    return ", ".join(n for n in names if n in ctx.findings and ctx.findings[n].verdict != "pass")


KIND = PartKind(
    name="model", order=90, classes=CLASSES, methods=("forward", "backward"), draw=draw, run=run, judge=judge,
    labels=labels,
    causes=("model-output", "model-order", "model-skips-first", "model-skips-last", "model-returns-loss",
            "all-zero", "model-layers-wrong"))
