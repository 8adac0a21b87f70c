"""What several part kinds share: whether the learner's constructor ran, and the layers
with parameters W and b and an activation (``FullyConnected``, ``Conv2D``).

A parametric layer is built with each activation of its case's preference list (e.g.
relu, then linear), because a layer must be judged with a *right* activation and the
learner's may not be: its process runs the layer with every candidate and probes the
layer's own activation object on separate random inputs; the grader takes the first
candidate whose probe matches backproplab's activation and judges the layer against
backproplab's layer with that activation. So a wrong ReLU does not fail the dense layer
when a right linear activation is there to check it with; when none is right, the layer
is judged with the right first choice and says that it uses the learner's wrong one.
"""

from __future__ import annotations

import os

import numpy as np

from ..causes import result_cause
from ..harness import FAILED, construct, modified, record_fd, weighted_sum
from ..judge import Context, Finding, Result, error_problem, fd_check, judge_array, matches, modified_inputs
from ..kind import away_from_zero, samples
from ..protocol import case_label as L

#: the inputs of a case: the first forward's input (it initialises the parameters), the input,
#: the parameters, the gradient from above, a probe for the activation, and entries to differentiate
IN_X0, IN_X, IN_DY, IN_P, IN_PDY = "X0", "X", "dY", "P", "PdY"
#: what the layer's process returns, per case and candidate activation (``c0.relu.dX``)
OUT_INIT, OUT_Y, OUT_DX, OUT_PROBE_Y, OUT_PROBE_DZ = "init", "Y", "dX", "probe_Y", "probe_dZ"
PARAMETERS = ("W", "b")


def constructed(f: Finding, result: Result, label: str, what: str, ctx: Context) -> bool:
    """False, with the reason recorded, when the learner's constructor raised."""
    info = result.call(label) or {}
    if info.get("kind") == "error":
        f.worse(*error_problem(info, what, ctx))
        return False
    return True


def at(c: int, activation: str, name: str) -> str:
    return L(c, f"{activation}.{name}")


# -- drawing a case ----------------------------------------------------------------------------------


def draw_case(prepared, rng, settings: dict, shapes: dict, pre_activation) -> None:
    """A case whose Z = pre_activation(X, W, b) keeps away from ReLU's kink (|Z| > 0.05)."""
    while True:
        X0, X = rng.normal(0, 1, shapes["X"]), rng.normal(0, 1, shapes["X"])
        W, b = rng.normal(0, shapes["W_scale"], shapes["W"]), rng.normal(0, 0.5, (1, shapes["W"][-1]))
        Z = pre_activation(X, W, b)
        if np.min(np.abs(Z)) > 0.05:
            break
    P = away_from_zero(rng.normal(0, 1.5, Z.shape))
    inputs = {IN_X0: X0, IN_X: X, "W": W, "b": b, IN_DY: rng.normal(0, 1, Z.shape), IN_P: P,
              IN_PDY: rng.normal(0, 1, Z.shape)}
    inputs.update({f"idx_{n}": samples(rng, inputs[n]) for n in (IN_X, *PARAMETERS)})
    prepared.add_case({**settings, "parameters": list(PARAMETERS)}, inputs, Z=Z)


def labels(prepared) -> set[str]:
    names = (OUT_INIT, "construct", OUT_Y, OUT_DX, OUT_PROBE_Y, OUT_PROBE_DZ, "fd_X",
             *(f"d{n}" for n in PARAMETERS), *(f"fd_{n}" for n in PARAMETERS))
    return {at(c, a, n) for c, case in enumerate(prepared.cases) for a in case["activations"] for n in names}


# -- in the learner's process ---------------------------------------------------------------------------


def run(task, inputs, calls, cls) -> None:
    for c, case in enumerate(task["cases"]):
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in case["kwargs"].items()}  # JSON has no tuples
        for activation in case["activations"]:
            def label(name, c=c, activation=activation):
                return at(c, activation, name)

            layer = _construct(calls, label, cls, {**kwargs, "activation": activation}, inputs[L(c, IN_X0)])
            if layer is FAILED:
                continue
            probe_activation(calls, label, layer, inputs, c)
            _run_layer(task, inputs, calls, c, label, layer, case["parameters"])


def probe_activation(calls, label, layer, inputs, c: int) -> None:
    """The layer's own activation object on inputs of its own (the grader picks a right one)."""
    act = getattr(layer, "activation", None)
    if act is not None:
        P, PdY = inputs[L(c, IN_P)], inputs[L(c, IN_PDY)]
        calls.run(label(OUT_PROBE_Y), lambda: act.forward(P.copy()))
        calls.run(label(OUT_PROBE_DZ), lambda: act.backward(P.copy(), PdY.copy()))


def set_parameters(calls, label, layer, inputs, c: int, names):
    """Put the grader's parameters into the layer (after the first forward created its own);
    the parameters dict, or None when the layer keeps none under these names."""
    params = getattr(layer, "parameters", None)
    if not isinstance(params, dict) or not all(n in params for n in names):
        calls.note(label(OUT_INIT), missing_parameters=True)
        return None
    calls.note(label(OUT_INIT), shapes={n: list(np.shape(params[n])) for n in names})
    for n in names:
        params[n] = inputs[L(c, n)].copy()
    return params


def record_gradient_fd(calls, label, forward, params: dict, names, inputs, c: int) -> None:
    """Central finite differences of Σ dY ⊙ forward(X) — the learner's own forward — in X and
    in each parameter, at the entries the grader chose."""
    X, dY = inputs[L(c, IN_X)], inputs[L(c, IN_DY)]
    record_fd(calls, label("fd_X"), lambda A: weighted_sum(forward(A), dY), X, inputs[L(c, "idx_X")])
    for n in names:
        def with_parameter(A, n=n):
            saved = params[n]
            params[n] = A
            try:
                return weighted_sum(forward(X.copy()), dY)
            finally:
                params[n] = saved
        record_fd(calls, label(f"fd_{n}"), with_parameter, inputs[L(c, n)], inputs[L(c, f"idx_{n}")])


def _construct(calls, label, cls, kwargs: dict, X0: np.ndarray):
    """The layer, built and initialised by a first forward call. An earlier term's weights.py
    handles only 2-D shapes: where its Xavier initialiser fails on a 4-D kernel, the layer is
    built again with ``weight_init="uniform"`` (the grader sets W and b anyway)."""
    layer = calls.run(label("construct"), construct, cls, **kwargs)
    if layer is FAILED or calls.run(label(OUT_INIT), layer.forward, X0.copy()) is not FAILED:
        return layer
    first = calls.meta[label(OUT_INIT)]
    if os.path.basename(first.get("file") or "") != "weights.py" or kwargs.get("weight_init") == "uniform":
        return FAILED
    retry = calls.run(label("construct"), construct, cls, **{**kwargs, "weight_init": "uniform"})
    if retry is FAILED or calls.run(label(OUT_INIT), retry.forward, X0.copy()) is FAILED:
        if os.path.basename(calls.meta[label(OUT_INIT)].get("file") or "") == "weights.py":
            calls.meta[label(OUT_INIT)] = first  # the initialiser again: say what the first attempt said
        return FAILED
    calls.note(label(OUT_INIT), weight_init=f"uniform, since {kwargs.get('weight_init')} raised {first.get('type')} "
                                            "in weights.py")
    return retry


def _run_layer(task, inputs, calls, c: int, label, layer, names) -> None:
    X, dY = inputs[L(c, IN_X)], inputs[L(c, IN_DY)]
    params = set_parameters(calls, label, layer, inputs, c, names)
    if params is None:
        return
    Xc = X.copy()
    out = calls.run(label(OUT_Y), layer.forward, Xc)
    calls.note(label(OUT_Y), modified=modified([("X", X, Xc)]))
    if task["method"] != "backward" or out is FAILED:
        return
    dYc = dY.copy()
    calls.run(label(OUT_DX), layer.backward, dYc)
    calls.note(label(OUT_DX), modified=modified([("dY", dY, dYc)]))
    gradients = getattr(layer, "gradients", None)
    for n in names:
        calls.record(label(f"d{n}"), gradients.get(n) if isinstance(gradients, dict) else None)
    record_gradient_fd(calls, label, layer.forward, params, names, inputs, c)


# -- in the grader ---------------------------------------------------------------------------------------


def chosen_activation(f: Finding, result: Result, case: dict, inputs: dict, c: int, ours) -> str:
    """The first candidate activation whose probe matches backproplab's (the layer is judged
    with it); the first candidate when none does, saying so."""
    P, PdY = inputs[L(c, IN_P)], inputs[L(c, IN_PDY)]
    wrong = []
    for name in case["activations"]:
        sigma = ours.initialize_activation(name)
        if (matches(result.array(at(c, name, OUT_PROBE_Y)), sigma.forward(P))
                and matches(result.array(at(c, name, OUT_PROBE_DZ)), sigma.backward(P, PdY))):
            if wrong:
                f.detail.append(f"checked with the {name} activation: your {', '.join(wrong)} is not right or "
                                "could not be used (see its part)")
            return name
        wrong.append(name)
    first = case["activations"][0]
    f.detail.append(f"the layer's own {first} activation is not right (see its part): the layer is judged with the "
                    f"right {first}, so it fails while that activation does")
    return first


def reference_activation(ours, name: str, Z, dY) -> dict:
    """σ(Z), σ'(Z)⊙dY, the derivative applied twice, and taken at σ(Z), with backproplab's σ:
    what the layer should give and the mistakes it recognises."""
    sigma = ours.initialize_activation(name)
    Y, dZ = sigma.forward(Z), sigma.backward(Z, dY)
    return {"Y": Y, "dZ": dZ, "dZ2": sigma.backward(Z, dZ), "dZ_at_Y": sigma.backward(Y, dY)}


def forward_output(f: Finding, part, result: Result, label: str, what: str, ctx: Context):
    """The forward's output: judged in a forward part; in a backward part only needed to run
    (backward uses its cache), so a forward that raises stops the backward with that reason."""
    if part.method == "forward":
        return result.need(f, label, what, ctx)
    info = result.call(label) or {}
    if info.get("kind") == "error":
        verdict, cause, rule = error_problem(info, what, ctx)
        f.worse("error" if verdict == "error" else verdict, f"backward cannot run: {cause}", rule)
    return result.array(label)


def parameter_shapes(f: Finding, result: Result, label: str, expected: dict, batch: int) -> None:
    shapes = result.note(label, "shapes", {}, dict)
    for name, right in expected.items():
        shape = shapes.get(name, right)
        shape = tuple(shape) if isinstance(shape, list) else right
        ok = shape == right or (name == "b" and [d for d in shape if d != 1] == [d for d in right if d != 1])
        if ok:
            continue
        rule = "batch-dim-params" if shape and shape[0] == batch and shape[1:] == right[1:] else "param-shape"
        f.worse("wrong", result_cause(rule, name=name, shape=shape, expected_shape=right), rule)


def layer_gradients(make_layer, X, W, b, dZ):
    """(dX, dW, db) of backproplab's layer (linear, parameters W and b) for the gradient dZ at
    its pre-activation."""
    layer = make_layer()
    layer.restore({"W": W, "b": b}, {})
    layer.forward(X)
    dX = layer.backward(dZ)
    return dX, layer.gradients["W"], layer.gradients["b"]


def judge_gradients(f: Finding, result: Result, inputs: dict, c: int, activation: str, ctx: Context, cls: str,
                    gradients, act: dict, extra: dict, fields: dict | None = None) -> None:
    """dX, dW and db of a dense or convolution layer's backward against ``gradients(X, dZ)``;
    the catalogue's transformations, ``extra`` ones first ({"db": [(rule, array), …]}); then
    finite differences where none explains a difference."""
    X, X0, dY = inputs[L(c, IN_X)], inputs[L(c, IN_X0)], inputs[L(c, IN_DY)]

    def label(name):
        return at(c, activation, name)

    grads = [result.need(f, label(k), what, ctx) for k, what in
             ((OUT_DX, f"{cls}.backward"), ("dW", "gradients['W']"), ("db", "gradients['b']"))]
    right = gradients(X, act["dZ"])
    common = {"cached-output": gradients(X, act["dZ_at_Y"]), "activation-skipped": gradients(X, dY),
              "activation-twice": gradients(X, act["dZ2"]), "stale-cache": gradients(X0, act["dZ"])}
    for k, name in enumerate(("dX", "dW", "db")):
        if grads[k] is None:
            continue
        alternatives = [*extra.get(name, []), *((rule, arrays[k]) for rule, arrays in common.items())]
        if name != "dX":
            alternatives.append(("not-stored", np.zeros_like(right[k])))
        judge_array(f, name, grads[k], right[k], alternatives, gradient=True, m=X.shape[0],
                    accept_singletons=(name == "db"), fields=fields)
    fd_check(f, result, inputs, [(label(g), label(f"fd_{n}"), L(c, f"idx_{n}")) for g, n in
                                 ((OUT_DX, "X"), ("dW", "W"), ("db", "b"))],
             matches(result.array(label(OUT_Y)), act["Y"]), f"{cls}.forward")
    modified_inputs(f, result, [label(OUT_Y), label(OUT_DX)], cls)


# -- layers without parameters (pooling, flatten) -----------------------------------------------------------


def plain_labels(prepared) -> set[str]:
    return {L(c, n) for c in range(len(prepared.cases)) for n in ("construct", OUT_INIT, OUT_Y, OUT_DX, "fd_X")}


def run_plain(task, inputs, calls, cls) -> None:
    """Build the layer, run a first forward (so that a cache kept from it shows), then the
    forward and the backward the part judges, and finite differences of the forward."""
    for c, case in enumerate(task["cases"]):
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in case["kwargs"].items()}
        layer = calls.run(L(c, "construct"), construct, cls, **kwargs)
        if layer is FAILED or calls.run(L(c, OUT_INIT), layer.forward, inputs[L(c, IN_X0)].copy()) is FAILED:
            continue
        X, dY = inputs[L(c, IN_X)], inputs[L(c, IN_DY)]
        Xc = X.copy()
        out = calls.run(L(c, OUT_Y), layer.forward, Xc)
        calls.note(L(c, OUT_Y), modified=modified([("X", X, Xc)]))
        if task["method"] != "backward" or out is FAILED:
            continue
        dYc = dY.copy()
        calls.run(L(c, OUT_DX), layer.backward, dYc)
        calls.note(L(c, OUT_DX), modified=modified([("dY", dY, dYc)]))
        record_fd(calls, L(c, "fd_X"), lambda A: weighted_sum(layer.forward(A), dY), X, inputs[L(c, "idx_X")])


def plain_started(f: Finding, result: Result, c: int, what: str, ctx: Context) -> bool:
    """The layer was built and its first forward ran (else the reason is recorded)."""
    if not constructed(f, result, L(c, "construct"), f"{what}(...)", ctx):
        return False
    return result.need(f, L(c, OUT_INIT), f"{what}.forward", ctx) is not None
