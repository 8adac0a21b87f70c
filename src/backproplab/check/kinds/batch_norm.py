"""``BatchNorm1D`` (Spring 2025) over X (m, C), in the homework's conventions:

    μ = mean of the rows, σ² = (1/m) Σ (x − μ)² (biased),  X̂ = (X − μ) / √(σ² + ε),  Y = γ ⊙ X̂ + β
    running = momentum · running + (1 − momentum) · batch   (mean and biased variance, from zeros)
    mode "test": X̂ = (X − running_mu) / √(running_var + ε), nothing updated
    backward: dγ = Σ dY ⊙ X̂,  dβ = Σ dY,  dX = (γ / (m √(σ² + ε))) (m dY − Σ dY − X̂ Σ (dY ⊙ X̂))

The layer is built with ``momentum`` and ``eps`` given (as the course's test builds it); its
first training forward initialises it (and is the first batch of the running statistics),
then the grader sets γ and β. The forward part runs several training forwards, reading the
running mean and variance after each (``cache["running_mu"]``, ``cache["running_var"]``, or an
attribute ``running_mu``/``running_mean``/``running_var``), then a test forward; the backward
part one training forward and ``backward(dY)``. Judged against backproplab's
``BatchNorm1D``; the catalogue's mistakes are recognised by ``simulate``, which computes what
a layer with one of them gives. γ, β, their gradients and the running statistics may be
(1, C) or (C,).
"""

from __future__ import annotations

import numpy as np

from ..causes import result_cause
from ..harness import FAILED, construct, modified
from ..judge import Finding, fd_check, judge_array, judge_cases, matches, modified_inputs, same_up_to_singletons
from ..kind import COMMON_LABELS, ClassSpec, PartKind, new_prepared, part_rng, samples
from ..protocol import case_label as L
from . import common
from .common import IN_DY, IN_X, IN_X0, OUT_DX, OUT_INIT, OUT_Y, constructed, forward_output

CLASSES = (ClassSpec("BatchNorm1D", "layers", factory="initialize_layer", build="batchnorm1d", terms=("sp25",)),)
PARAMETERS = ("gamma", "beta")
#: per case: the test batch; the running statistics read after training batch k ("mu0" after the
#: initialising forward) and after the test forward; the training outputs ("Y1", …) and the test output
IN_X_TEST, OUT_Y_TEST, TEST = "X_test", "Y_test", "_test"
#: the forward cases: (momentum, ε, training forwards after the first, batch shape)
FORWARD_CASES = ((0.95, 1e-8, 4, (8, 3)), (0.8, 0.1, 3, (6, 4)))
BACKWARD_CASES = ((0.95, 1e-8, 0, (8, 3)), (0.8, 0.1, 0, (6, 4)))


def batch(k) -> str:
    return f"X{k}"


def output(k) -> str:
    return f"Y{k}"


def stat(which: str, k) -> str:
    return f"{which}{k}"


def draw(part, seed: int, ours, term):
    prepared = new_prepared(part, seed)
    rng = part_rng(seed, part.name)
    for momentum, eps, steps, shape in FORWARD_CASES if part.method == "forward" else BACKWARD_CASES:
        def batch_of(shape=shape):  # columns of different means and spreads, as a layer's inputs are
            return rng.normal(rng.uniform(-2, 2, shape[1]), rng.uniform(0.5, 2, shape[1]), shape)

        C = shape[1]
        inputs = {IN_X0: batch_of(), "gamma": rng.normal(1, 0.3, (1, C)), "beta": rng.normal(0, 0.5, (1, C))}
        if part.method == "forward":
            inputs.update({batch(k): batch_of() for k in range(1, steps + 1)})
            inputs[IN_X_TEST] = batch_of()
            label = f"momentum {momentum}, ε {eps:g}: {steps + 1} training batches of {shape[0]} × {C}, then a test one"
        else:
            inputs.update({IN_X: batch_of(), IN_DY: rng.normal(0, 1, shape)})
            inputs.update({f"idx_{n}": samples(rng, inputs[n]) for n in (IN_X, *PARAMETERS)})
            label = f"ε {eps:g}, a batch of {shape[0]} × {C}"
        prepared.add_case({"label": label, "kwargs": {"momentum": momentum, "eps": eps}, "steps": steps}, inputs)
    return prepared


def labels(prepared) -> set[str]:
    names = {"construct", OUT_INIT, OUT_Y, OUT_DX, OUT_Y_TEST, "fd_X", *(f"d{n}" for n in PARAMETERS),
             *(f"fd_{n}" for n in PARAMETERS)}
    for case in prepared.cases:
        names |= {output(k) for k in range(1, case["steps"] + 1)}
        names |= {stat(w, k) for w in ("mu", "var") for k in [*range(case["steps"] + 1), TEST]}
    return {*COMMON_LABELS, *(L(c, n) for c in range(len(prepared.cases)) for n in names)}


# -- in the learner's process ---------------------------------------------------------------------------


def run(task, inputs, calls, cls) -> None:
    for c, case in enumerate(task["cases"]):
        layer = _started(calls, c, cls, case["kwargs"], inputs)
        if layer is None:
            continue
        if task["method"] == "forward":
            for k in range(1, case["steps"] + 1):
                X = inputs[L(c, batch(k))]
                Xc = X.copy()
                calls.run(L(c, output(k)), layer.forward, Xc, mode="train")
                calls.note(L(c, output(k)), modified=modified([("X", X, Xc)]))
                _record_running(calls, layer, c, k)
            calls.run(L(c, OUT_Y_TEST), layer.forward, inputs[L(c, IN_X_TEST)].copy(), mode="test")
            _record_running(calls, layer, c, TEST)
        else:
            _run_backward(calls, c, inputs, layer)


def _started(calls, c: int, cls, kwargs: dict, inputs):
    """The layer, built, initialised by a first training forward and given the grader's γ and β;
    None when that failed (the reason recorded)."""
    layer = calls.run(L(c, "construct"), construct, cls, **kwargs)
    if layer is FAILED or calls.run(L(c, OUT_INIT), layer.forward, inputs[L(c, IN_X0)].copy(), mode="train") is FAILED:
        return None
    _record_running(calls, layer, c, 0)
    params = getattr(layer, "parameters", None)
    if not isinstance(params, dict) or not all(n in params for n in PARAMETERS):
        calls.note(L(c, OUT_INIT), missing_parameters=True)
        return None
    calls.note(L(c, OUT_INIT), shapes={n: list(np.shape(params[n])) for n in PARAMETERS})
    for n in PARAMETERS:  # in the learner's own shape where it is one of the homework's, (1, C) or (C,)
        value = inputs[L(c, n)].copy()
        params[n] = value.reshape(-1) if np.shape(params[n]) == (value.size,) else value
    return layer


def running(layer, which: str):
    """A copy of the running mean (``which`` "mu") or variance ("var"): ``cache["running_mu"]``,
    else an attribute ``running_mu`` (or ``running_mean``); None where there is none."""
    names = (f"running_{which}", "running_mean") if which == "mu" else (f"running_{which}",)
    cache = getattr(layer, "cache", None)
    found = [cache.get(names[0])] if isinstance(cache, dict) else []
    for value in found + [getattr(layer, n, None) for n in names]:
        if isinstance(value, np.ndarray) and value.dtype.kind in "iuf" and value.size:
            return value.astype(np.float64)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return np.array(float(value))
    return None


def _record_running(calls, layer, c: int, k) -> None:
    for which in ("mu", "var"):
        calls.run(L(c, stat(which, k)), running, layer, which)


def _run_backward(calls, c: int, inputs, layer) -> None:
    X, dY = inputs[L(c, IN_X)], inputs[L(c, IN_DY)]
    Xc = X.copy()
    if calls.run(L(c, OUT_Y), layer.forward, Xc, mode="train") is FAILED:
        return
    calls.note(L(c, OUT_Y), modified=modified([("X", X, Xc)]))
    dYc = dY.copy()
    calls.run(L(c, OUT_DX), layer.backward, dYc)
    calls.note(L(c, OUT_DX), modified=modified([("dY", dY, dYc)]))
    gradients = getattr(layer, "gradients", None)
    for n in PARAMETERS:
        calls.record(L(c, f"d{n}"), gradients.get(n) if isinstance(gradients, dict) else None)
    common.record_gradient_fd(calls, lambda name: L(c, name), lambda A: layer.forward(A, mode="train"),
                              layer.parameters, PARAMETERS, inputs, c)


# -- in the grader ---------------------------------------------------------------------------------------

#: the mistakes ``simulate`` reproduces in the forward part, by catalogue rule
FORWARD_MISTAKES = ("bn-unbiased-variance", "bn-unbiased-running", "bn-eps-outside", "bn-momentum-swapped",
                    "bn-running-first-batch", "bn-test-batch-stats")


def simulate(batches, X_test, gamma, beta, momentum: float, eps: float, mistake: str | None = None) -> dict:
    """What a BatchNorm1D that makes ``mistake`` (a rule of ``FORWARD_MISTAKES``, or None) gives for
    the training ``batches`` (the first initialises the layer; γ and β are set after it) and then
    ``X_test``: {"Y": outputs of the training batches after the first, "mu"/"var": the running
    statistics after each training batch, "Y_test": the test output}."""
    alpha = 1 - momentum if mistake == "bn-momentum-swapped" else momentum
    outside = mistake == "bn-eps-outside"
    out = {"Y": [], "mu": [], "var": []}
    r_mu = r_var = np.zeros((1, batches[0].shape[1]))
    for k, X in enumerate(batches):
        m = X.shape[0]
        mu, var = X.mean(axis=0, keepdims=True), X.var(axis=0, keepdims=True)  # (1, C), biased
        unbiased = var * m / (m - 1)
        normalising = unbiased if mistake == "bn-unbiased-variance" else var
        averaged = unbiased if mistake in ("bn-unbiased-variance", "bn-unbiased-running") else var
        if k == 0 and mistake == "bn-running-first-batch":
            r_mu, r_var = mu, averaged
        else:
            r_mu, r_var = alpha * r_mu + (1 - alpha) * mu, alpha * r_var + (1 - alpha) * averaged
        out["mu"].append(r_mu)
        out["var"].append(r_var)
        if k:
            out["Y"].append(gamma * _normalised(X, mu, normalising, eps, outside) + beta)
    if mistake == "bn-test-batch-stats":
        r_mu, r_var = X_test.mean(axis=0, keepdims=True), X_test.var(axis=0, keepdims=True)
    out["Y_test"] = gamma * _normalised(X_test, r_mu, r_var, eps, outside) + beta
    return out


def _normalised(X, mu, var, eps: float, outside: bool = False):
    return (X - mu) / (np.sqrt(var) + eps if outside else np.sqrt(var + eps))


def fitted(yours: np.ndarray, right: np.ndarray) -> np.ndarray:
    """(C,) for (1, C) or the other way round: the same numbers, both shapes the homework's."""
    return yours.reshape(right.shape) if same_up_to_singletons(yours, right) else yours


def judge(prepared, result, ctx) -> Finding:
    part, inputs = prepared.part, prepared.inputs

    def judge_case(f: Finding, c: int, case: dict) -> None:
        if (constructed(f, result, L(c, "construct"), "BatchNorm1D(...)", ctx)
                and result.need(f, L(c, OUT_INIT), "BatchNorm1D.forward", ctx) is not None):
            if result.note(L(c, OUT_INIT), "missing_parameters", False, bool):
                f.worse("wrong", "after forward, BatchNorm1D.parameters does not hold gamma and beta", "param-shape")
            elif part.method == "forward":
                _parameter_shapes(f, result, c, inputs[L(c, IN_X0)].shape)
                _judge_forward(f, case, result, inputs, c, ctx)
            else:
                forward_output(f, part, result, L(c, OUT_Y), "BatchNorm1D.forward", ctx)
                _judge_backward(f, case, result, inputs, c, ctx)

    return judge_cases(prepared, judge_case)


def _parameter_shapes(f: Finding, result, c: int, X_shape) -> None:
    m, C = X_shape
    shapes = result.note(L(c, OUT_INIT), "shapes", {}, dict)
    for name in PARAMETERS:
        shape = tuple(shapes.get(name, (1, C))) if isinstance(shapes.get(name, []), list) else (1, C)
        if shape not in ((1, C), (C,)):
            rule = "batch-dim-params" if shape == (m, C) else "param-shape"
            f.worse("wrong", result_cause(rule, name=name, shape=shape, expected_shape=(1, C)), rule)


def _reference(ctx, case, inputs, c):
    """backproplab's layer after the initialising forward, holding the grader's γ and β."""
    layer = ctx.ours.BatchNorm1D(**case["kwargs"])
    layer.forward(inputs[L(c, IN_X0)], mode="train")
    layer.parameters.update(gamma=inputs[L(c, "gamma")], beta=inputs[L(c, "beta")])
    return layer


def _judge_forward(f: Finding, case, result, inputs, c: int, ctx) -> None:
    steps, kwargs = case["steps"], case["kwargs"]
    layer = _reference(ctx, case, inputs, c)
    right = {"Y": [], "mu": [layer.buffers["running_mean"].copy()], "var": [layer.buffers["running_var"].copy()]}
    for k in range(1, steps + 1):
        right["Y"].append(layer.forward(inputs[L(c, batch(k))], mode="train"))
        right["mu"].append(layer.buffers["running_mean"].copy())
        right["var"].append(layer.buffers["running_var"].copy())
    right["Y_test"] = layer.forward(inputs[L(c, IN_X_TEST)], mode="test")
    batches = [inputs[L(c, IN_X0)], *(inputs[L(c, batch(k))] for k in range(1, steps + 1))]
    gamma, beta, X_test = inputs[L(c, "gamma")], inputs[L(c, "beta")], inputs[L(c, IN_X_TEST)]
    mistakes = {rule: simulate(batches, X_test, gamma, beta, kwargs["momentum"], kwargs["eps"], rule)
                for rule in FORWARD_MISTAKES}
    series = [("Y", [output(k) for k in range(1, steps + 1)], "the output of training forward {k}", 2),
              ("mu", [stat("mu", k) for k in range(steps + 1)], "the running mean after training batch {k}", 1),
              ("var", [stat("var", k) for k in range(steps + 1)], "the running variance after training batch {k}", 1)]
    running_ok = True
    for key, names, what, first in series:
        for k, name in enumerate(names):
            yours = _needed(f, result, L(c, name), what.format(k=k + first), ctx, key)
            alternatives = [(rule, sim[key][k]) for rule, sim in _explaining(mistakes, key)]
            if yours is None or not judge_array(f, what.format(k=k + first), fitted(yours, right[key][k]),
                                                right[key][k], alternatives):
                running_ok &= key == "Y"
                break  # the later steps follow from this one
    what = 'the output of forward(X, mode="test")'
    Y_test = result.need(f, L(c, OUT_Y_TEST), what, ctx)
    if Y_test is not None and not running_ok:
        f.detail.append(f"{what} is not judged: it normalises with the running statistics, which are wrong")
    elif Y_test is not None:
        judge_array(f, what, Y_test, right["Y_test"], [(rule, sim["Y_test"]) for rule, sim in _explaining(mistakes,
                                                                                                    "Y_test")])
    _test_updates(f, result, c, steps)
    modified_inputs(f, result, [L(c, output(k)) for k in range(1, steps + 1)], "BatchNorm1D.forward")


def _explaining(mistakes: dict, key: str) -> list:
    """The simulated mistakes that may explain ``key``: the unbiased variance in the normalisation
    shows in the training outputs; beyond them it is the unbiased running variance's."""
    return [(rule, sim) for rule, sim in mistakes.items() if key == "Y" or rule != "bn-unbiased-variance"]


def _needed(f: Finding, result, label: str, what: str, ctx, key: str):
    """The array, or None with the reason recorded (a running statistic the layer does not keep)."""
    if key != "Y" and (result.call(label) or {}).get("kind") == "none":
        name = "mean" if key == "mu" else "variance"
        f.worse("wrong", f"BatchNorm1D keeps no running {name}: after a training forward, neither "
                         f"cache[\"running_{key}\"] nor an attribute running_{key}"
                         f"{' or running_mean' if key == 'mu' else ''} holds one")
        return None
    return result.need(f, label, what, ctx)


def _test_updates(f: Finding, result, c: int, steps: int) -> None:
    """A test forward must leave the running statistics as the last training forward left them."""
    for which, name in (("mu", "the running mean"), ("var", "the running variance")):
        before, after = result.array(L(c, stat(which, steps))), result.array(L(c, stat(which, TEST)))
        if before is not None and after is not None and not matches(after, before):
            f.worse("wrong", result_cause("bn-test-updates", what=name), "bn-test-updates")
            return


def _gradients(X, gamma, dY, std):
    """(dX, dγ, dβ) of the training forward γ (X − μ)/std + β with ``std`` held as the formula's √(σ² + ε)."""
    m = X.shape[0]
    X_hat = (X - X.mean(axis=0, keepdims=True)) / std  # (m, C)
    sum_dY, sum_dY_xhat = dY.sum(axis=0, keepdims=True), (dY * X_hat).sum(axis=0, keepdims=True)  # (1, C)
    return gamma / (m * std) * (m * dY - sum_dY - X_hat * sum_dY_xhat), sum_dY_xhat, sum_dY


def _judge_backward(f: Finding, case, result, inputs, c: int, ctx) -> None:
    X, dY, gamma = inputs[L(c, IN_X)], inputs[L(c, IN_DY)], inputs[L(c, "gamma")]
    if f.verdict != "pass":  # the training forward before it raised
        return
    grads = [result.need(f, L(c, k), what, ctx) for k, what in
             ((OUT_DX, "BatchNorm1D.backward"), ("dgamma", "gradients['gamma']"), ("dbeta", "gradients['beta']"))]
    if f.verdict != "pass":
        return
    layer = _reference(ctx, case, inputs, c)
    Y = layer.forward(X, mode="train")
    right = (layer.backward(dY), layer.gradients["gamma"], layer.gradients["beta"])
    m, eps = X.shape[0], case["kwargs"]["eps"]
    var = X.var(axis=0, keepdims=True)
    std = np.sqrt(var + eps)
    mistakes = {"bn-eps-outside": _gradients(X, gamma, dY, np.sqrt(var) + eps),
                "bn-unbiased-variance": _gradients(X, gamma, dY, np.sqrt(var * m / (m - 1) + eps))}
    extra = {"dX": [("bn-no-stat-paths", gamma * dY / std),
                    ("bn-no-variance-path", gamma / std * (dY - dY.mean(axis=0, keepdims=True)))],
             "dgamma": [("not-stored", np.zeros_like(right[1]))],
             "dbeta": [("bias-not-summed", dY), ("not-stored", np.zeros_like(right[2]))]}
    for k, name in enumerate(("dX", "dgamma", "dbeta")):
        alternatives = [*extra[name], *((rule, arrays[k]) for rule, arrays in mistakes.items())]
        judge_array(f, name.replace("gamma", "γ").replace("beta", "β"), fitted(grads[k], right[k]), right[k],
                    alternatives, gradient=True, m=m)
    fd_check(f, result, inputs, [(L(c, g), L(c, f"fd_{n}"), L(c, f"idx_{n}")) for g, n in
                                 ((OUT_DX, IN_X), ("dgamma", "gamma"), ("dbeta", "beta"))],
             matches(result.array(L(c, OUT_Y)), Y), "BatchNorm1D.forward")
    modified_inputs(f, result, [L(c, OUT_Y), L(c, OUT_DX)], "BatchNorm1D")


KIND = PartKind(
    name="batch normalisation", order=25, classes=CLASSES, methods=("forward", "backward"), draw=draw, run=run,
    judge=judge, labels=labels,
    causes=(*FORWARD_MISTAKES, "bn-test-updates", "bn-no-stat-paths", "bn-no-variance-path", "bias-not-summed",
            "not-stored", "batch-dim-params", "param-shape", "times-m", "over-m", "input-modified", "not-derivative",
            "forward-wrong"))
