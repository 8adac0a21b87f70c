"""Judges of the model's parts.

``NeuralNetwork.forward`` and ``.backward`` wire the learner's own layers and loss, so
they are judged against those same objects applied in order and backpropagated in
reverse: a wrong layer is judged in its own part, not counted again here. (Where the
learner's layers or loss cannot run at all, the child puts backproplab's in their place
and the wiring is judged with those.) The child also records the order in which the
model called its layers, which names the mistake (a loop that stops one layer early).

``NeuralNetwork.train`` is judged by what the whole package achieves: the homework's
two-layer network trained by the learner's ``train`` on Iris must reach the test
accuracy bar.
"""

from __future__ import annotations

import numpy as np

from .causes import result_cause
from .judge import Context, Finding, array_of, check_call, error_problem, judge_array, matches
from .parts import TRAIN

#: the parts that training on Iris relies on (a failing one is named when training fails)
TRAINING_USES = ["ReLU.forward", "ReLU.backward", "SoftMax.forward", "SoftMax.backward", "FullyConnected.forward",
                 "FullyConnected.backward", "CrossEntropy.forward", "CrossEntropy.backward", "NeuralNetwork.forward",
                 "NeuralNetwork.backward"]


def _built(f: Finding, outcome, ctx: Context) -> bool:
    calls = outcome.calls
    for label, what in (("construct", "NeuralNetwork(...)"), ("output_layer", "initialize_layer(...) for the "
                                                                               "output layer")):
        info = calls.get(label) or {}
        if info.get("kind") == "error":
            f.worse(*error_problem(info, what, ctx))
            return False
    if (calls.get("construct") or {}).get("no_layers"):
        f.worse("wrong", "NeuralNetwork keeps no list self.layers of its layers", None)
        return False
    fallback = calls.get("fallback")
    if fallback and fallback.get("failed"):
        f.worse("error", f"the model could not be checked: {fallback['failed']}", None)
        return False
    if fallback:
        f.detail.append(f"your layers or loss could not be used ({fallback['reason']}): the model's wiring was "
                        "checked with backproplab's layers and loss in their place")
    return True


def judge_model(prepared, outcome, ctx: Context) -> Finding:
    f = Finding(prepared.part.name)
    if not _built(f, outcome, ctx):
        return f
    chain = []
    while f"chain{len(chain)}" in outcome.calls:
        chain.append(array_of(outcome, f"chain{len(chain)}"))
    if prepared.part.method == "forward":
        _forward(f, outcome, prepared.inputs["X"], chain, ctx)
    else:
        _backward(f, outcome, prepared.inputs, len(chain), ctx)
    return f


def _order(outcome, label: str, method: str) -> list[int]:
    return [i for m, i in (outcome.calls.get(label) or {}).get("order", []) if m == method]


def _forward(f: Finding, outcome, X, chain, ctx: Context) -> None:
    out = check_call(f, outcome, "out", "NeuralNetwork.forward", ctx)
    if out is None:
        return
    n = len(chain)
    which = next((f"the output of layer {i + 1} of {n}" for i, h in enumerate(chain[:-1]) if matches(out, h)), None)
    if which is None and matches(out, X):
        which = "its input X unchanged"
    alternatives = [("model-output", out)] if which else []
    order = _order(outcome, "out", "forward")
    if order != list(range(n)) and not alternatives:
        alternatives = [("model-order", out)]
    judge_array(f, "the output", out, chain[-1], alternatives,
                fields={"which": which, "method": "forward", "order": order,
                        "expected": f"forward goes through every layer, first to last: {list(range(n))}"})


def _backward(f: Finding, outcome, inputs, n: int, ctx: Context) -> None:
    info = outcome.calls.get("loss") or {}
    order = _order(outcome, "loss", "backward")
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
    for i in range(n):
        for k in ("W", "b"):
            yours, right = array_of(outcome, f"grad{i}_{k}"), array_of(outcome, f"ref{i}_{k}")
            if right is None:
                continue
            if yours is None:
                f.worse("wrong", f"layer {i + 1}'s gradients['{k}'] is missing after NeuralNetwork.backward", rule)
                continue
            all_zero &= not np.any(yours)
            judge_array(f, f"layer {i + 1}'s d{k}", yours, right, [("all-zero", np.zeros_like(right))])
    loss_kind, loss_right = info.get("kind"), array_of(outcome, "ref_loss")
    if loss_kind in ("ellipsis", "none") and all_zero:
        f.worse("not implemented", f"NeuralNetwork.backward returns {'...' if loss_kind == 'ellipsis' else 'None'} "
                                   "and computes no gradient", "not-implemented")
        return
    loss = array_of(outcome, "loss")
    if loss is None or loss.size != 1 or not matches(loss.reshape(()), loss_right.reshape(())):
        value = "None" if loss is None else (f"{loss.reshape(()):.6g}" if loss.size == 1 else f"shape {loss.shape}")
        f.worse("wrong", result_cause("model-returns-loss", value=value, expected=f"{float(loss_right):.6g}"),
                "model-returns-loss")
    if f.verdict == "wrong" and rule:
        f.cause, f.rule = result_cause(rule, **fields), rule


def judge_train(prepared, outcome, ctx: Context) -> Finding:
    f = Finding(prepared.part.name)
    if not _built(f, outcome, ctx):
        return f
    info = outcome.calls.get("train") or {}
    if info.get("kind") == "error":
        f.worse(*error_problem(info, "NeuralNetwork.train", ctx))
        return f
    out = check_call(f, outcome, "test_out", "NeuralNetwork.forward after training", ctx)
    if out is None:
        return f
    Y = prepared.inputs["Y_test"]
    if out.shape != Y.shape:
        f.worse("wrong", f"after training, forward gives shape {out.shape} for {Y.shape[0]} flowers, not {Y.shape}",
                "wrong-shape")
        return f
    accuracy = float(np.mean(np.argmax(out, axis=1) == np.argmax(Y, axis=1)))
    seconds = info.get("seconds")
    f.detail.append(f"test accuracy {accuracy:.1%} on {len(Y)} Iris test flowers after {prepared.task['epochs']} "
                    f"epochs{f' ({seconds:.1f} s)' if seconds else ''}")
    if accuracy >= TRAIN["bar"]:
        return f
    cause = result_cause("train-accuracy", accuracy=f"{accuracy:.1%}", bar=f"{TRAIN['bar']:.0%}")
    if not np.all(np.isfinite(out)):
        cause += "; the network's outputs are NaN or infinite (training diverged)"
    failing = [name for name in TRAINING_USES if name in ctx.findings and ctx.findings[name].verdict != "pass"]
    if failing:
        cause += f"; the parts it uses that fail: {', '.join(failing)}"
    f.worse("wrong", cause, "train-accuracy")
    return f
