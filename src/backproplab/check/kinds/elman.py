"""``Elman`` (Spring 2020), the recurrent layer over X (m, n_in, T), time last:

    s_0 = 0,  Z_t = X_t W + s_{t−1} U + b,  s_t = σ(Z_t),  forward returns s_T (m, n_out)
    backward(dL/ds_T): δ_T = dL/ds_T; for t = T … 1: dZ_t = σ'(Z_t) ⊙ δ_t, dW += X_tᵀ dZ_t,
    dU += s_{t−1}ᵀ dZ_t, db += Σ dZ_t, dX_t = dZ_t Wᵀ, δ_{t−1} = dZ_t Uᵀ

with W (n_in, n_out), U (n_out, n_out), b (1, n_out) or (n_out,). ``backward`` returns the T
arrays dL/dX_t (m, n_in) in time order, as a list (the homework's) or one array
(m, n_in, T); the part's process stacks a list into that array. Judged against
backproplab's ``Elman`` with a right activation, as the dense layer is (``common``): the
learner's tanh may be wrong, and a right linear activation then checks the layer. The
forward part calls forward twice on the same sequence (a state kept from the first call
shows); backward is called once, on a layer that ran forward on that sequence once since
its parameters were set (a solution that adds into its gradients would double on a second
call). The catalogue's mistakes of backpropagation through time are what ``bptt`` gives.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..causes import result_cause
from ..harness import FAILED, construct, modified
from ..judge import Finding, fd_check, judge_array, judge_cases, matches, modified_inputs
from ..kind import COMMON_LABELS, ClassSpec, PartKind, away_from_zero, new_prepared, part_rng, samples
from ..protocol import case_label as L
from ..terms import named
from . import common
from .common import IN_DY, IN_P, IN_PDY, IN_X, IN_X0, OUT_DX, OUT_INIT, OUT_PROBE_DZ, OUT_PROBE_Y, OUT_Y, at, \
    constructed

CLASSES = (ClassSpec("Elman", "layers", factory="initialize_layer", build="elman", terms=("sp20",)),)
PARAMETERS = ("W", "U", "b")
#: the output of a second forward on the same sequence (a layer whose state outlives a call differs)
OUT_AGAIN = "Y_again"
#: the cases: the activations to try, X's shape (m, n_in, T) and n_out (m, n_in, T, n_out all
#: different, so that a list of dL/dX_t made one array, (T, m, n_in), is told from (m, n_in, T))
CASES = ((["tanh", "linear"], (3, 2, 5), 4), (["sigmoid", "linear"], (4, 3, 2), 5))


def draw(part, seed: int, ours, term):
    prepared = new_prepared(part, seed)
    rng = part_rng(seed, part.name)
    for activations, (m, n_in, T), n_out in CASES:
        activations = named(activations, term)
        inputs = {IN_X0: rng.normal(0, 1, (m, n_in, T)), IN_X: rng.normal(0, 1, (m, n_in, T)),
                  "W": rng.normal(0, 0.6, (n_in, n_out)), "U": rng.normal(0, 0.5, (n_out, n_out)),
                  "b": rng.normal(0, 0.5, (1, n_out)), IN_DY: rng.normal(0, 1, (m, n_out)),
                  IN_P: away_from_zero(rng.normal(0, 1.5, (m, n_out))), IN_PDY: rng.normal(0, 1, (m, n_out))}
        inputs.update({f"idx_{n}": samples(rng, inputs[n]) for n in (IN_X, *PARAMETERS)})
        prepared.add_case({"label": f"X ({m}, {n_in}, T = {T}) → {n_out} units, {activations[0]}",
                           "activations": activations, "parameters": list(PARAMETERS),
                           "kwargs": {"n_out": n_out, "weight_init": "xavier_uniform"}}, inputs)
    return prepared


def labels(prepared) -> set[str]:
    names = ("construct", OUT_INIT, OUT_PROBE_Y, OUT_PROBE_DZ, OUT_Y, OUT_AGAIN, OUT_DX, "fd_X",
             *(f"d{n}" for n in PARAMETERS), *(f"fd_{n}" for n in PARAMETERS))
    return {*COMMON_LABELS, *(at(c, a, n) for c, case in enumerate(prepared.cases) for a in case["activations"]
                              for n in names)}


# -- in the learner's process ---------------------------------------------------------------------------


def run(task, inputs, calls, cls) -> None:
    for c, case in enumerate(task["cases"]):
        for activation in case["activations"]:
            def label(name, c=c, activation=activation):
                return at(c, activation, name)

            layer = calls.run(label("construct"), construct, cls, **case["kwargs"], activation=activation)
            if layer is FAILED or calls.run(label(OUT_INIT), layer.forward, inputs[L(c, IN_X0)].copy()) is FAILED:
                continue
            common.probe_activation(calls, label, layer, inputs, c)
            params = common.set_parameters(calls, label, layer, inputs, c, PARAMETERS)
            if params is None:
                continue
            X = inputs[L(c, IN_X)]
            Xc = X.copy()
            out = calls.run(label(OUT_Y), layer.forward, Xc)
            calls.note(label(OUT_Y), modified=modified([("X", X, Xc)]))
            if out is not FAILED and task["method"] == "forward":
                calls.run(label(OUT_AGAIN), layer.forward, X.copy())
            elif out is not FAILED:
                _run_backward(calls, label, layer, params, inputs, c)


def time_last(value, shape: tuple[int, int, int]):
    """dL/dX as one array (m, n_in, T): a list, tuple or iterator of arrays (m, n_in), one per
    time step, stacked in the order given (however many); an array (T, m, n_in) likewise;
    anything else unchanged (the grader says what it is)."""
    m, n_in, T = shape
    if hasattr(value, "__next__"):  # e.g. reversed(list)
        value = list(itertools.islice(value, 10 * T + 1))
    if (isinstance(value, (list, tuple)) and value
            and all(isinstance(v, np.ndarray) and v.shape == (m, n_in) for v in value)):
        return np.stack(value, axis=-1)
    if isinstance(value, np.ndarray) and value.ndim == 3 and value.shape[1:] == (m, n_in) and value.shape != shape:
        return np.moveaxis(value, 0, -1)
    return value


def _run_backward(calls, label, layer, params, inputs, c: int) -> None:
    X, dY = inputs[L(c, IN_X)], inputs[L(c, IN_DY)]
    dYc = dY.copy()
    calls.run(label(OUT_DX), lambda: time_last(layer.backward(dYc), X.shape))
    calls.note(label(OUT_DX), modified=modified([("dY", dY, dYc)]))
    gradients = getattr(layer, "gradients", None)
    for n in PARAMETERS:
        calls.record(label(f"d{n}"), gradients.get(n) if isinstance(gradients, dict) else None)
    common.record_gradient_fd(calls, label, layer.forward, params, PARAMETERS, inputs, c)


# -- in the grader ---------------------------------------------------------------------------------------


def states(X, W, U, b, sigma, s0=None) -> tuple[list, list]:
    """([Z_1 … Z_T], [s_0 … s_T]) of the recurrence, from ``s0`` (zeros if None)."""
    s = [np.zeros((X.shape[0], W.shape[1])) if s0 is None else s0]
    Z = []
    for t in range(X.shape[2]):
        Z.append(X[:, :, t] @ W + s[-1] @ U + b)  # (m, n_out)
        s.append(sigma.forward(Z[-1]))
    return Z, s


def bptt(X, W, U, b, dY, sigma, keep="all", delta="U", derivative="once", at_state=False, shift=False) -> dict:
    """{"dX" (m, n_in, T), "dW", "dU", "db", "db_rows" (Σ_t dZ_t, (m, n_out))} of backpropagation
    through time, or of one of the catalogue's mistakes: ``keep`` "last"/"first" (the weights'
    gradients of that step alone), ``delta`` "same" (every step gets dL/ds_T) or "no-U"
    (δ_{t−1} = dZ_t), ``derivative`` "skip"/"twice", ``at_state`` (σ' taken at s_t), ``shift``
    (dU pairs dZ_t with s_t)."""
    Z, s = states(X, W, U, b, sigma)
    T = X.shape[2]
    out = {"dX": np.zeros(X.shape), "dW": np.zeros(W.shape), "dU": np.zeros(U.shape), "db": np.zeros(b.shape),
           "db_rows": np.zeros(dY.shape)}
    d = dY
    for t in reversed(range(T)):
        where = s[t + 1] if at_state else Z[t]
        dZ = d if derivative == "skip" else sigma.backward(where, d)
        dZ = sigma.backward(where, dZ) if derivative == "twice" else dZ
        step = {"dW": X[:, :, t].T @ dZ, "dU": s[t + 1 if shift else t].T @ dZ, "db": dZ.sum(axis=0, keepdims=True),
                "db_rows": dZ}
        if keep == "all":
            for k, v in step.items():
                out[k] += v
        elif t == (T - 1 if keep == "last" else 0):
            out.update(step)
        out["dX"][:, :, t] = dZ @ W.T
        d = dY if delta == "same" else dZ if delta == "no-U" else dZ @ U.T
    return out


#: the mistakes ``bptt`` reproduces, by catalogue rule
MISTAKES = [("elman-not-accumulated", {"keep": "last"}), ("elman-not-accumulated", {"keep": "first"}),
            ("elman-delta-not-propagated", {"delta": "same"}), ("elman-delta-not-propagated", {"delta": "no-U"}),
            ("cached-output", {"at_state": True}), ("activation-skipped", {"derivative": "skip"}),
            ("activation-twice", {"derivative": "twice"}), ("elman-state-off-by-one", {"shift": True})]


def reference(ours, activation: str, W, U, b):
    layer = ours.Elman(W.shape[1], activation=activation)
    layer.restore({"W": W, "U": U, "b": b}, {})
    return layer


def judge(prepared, result, ctx) -> Finding:
    part, inputs = prepared.part, prepared.inputs

    def judge_case(f: Finding, c: int, case: dict) -> None:
        activation = common.chosen_activation(f, result, case, inputs, c, ctx.ours)
        if (constructed(f, result, at(c, activation, "construct"), "Elman(...)", ctx)
                and result.need(f, at(c, activation, OUT_INIT), "Elman.forward", ctx) is not None):
            if result.note(at(c, activation, OUT_INIT), "missing_parameters", False, bool):
                f.worse("wrong", "after forward, Elman.parameters does not hold W, U and b", "param-shape")
            else:
                _judge_case(f, part, result, inputs, c, activation, ctx)

    return judge_cases(prepared, judge_case)


def _judge_case(f: Finding, part, result, inputs, c: int, activation: str, ctx) -> None:
    X, W, U, b = (inputs[L(c, n)] for n in (IN_X, *PARAMETERS))
    right = reference(ctx.ours, activation, W, U, b).forward(X)
    out = common.forward_output(f, part, result, at(c, activation, OUT_Y), "Elman.forward", ctx)
    if part.method == "forward":
        common.parameter_shapes(f, result, at(c, activation, OUT_INIT), {"W": W.shape, "U": U.shape, "b": b.shape},
                                X.shape[0])
        if out is not None:
            linear = reference(ctx.ours, "linear", W, U, b).forward(X) if activation != "linear" else None
            judge_array(f, "the output s_T", out, right, [("activation-not-applied", linear)])
            _state_kept(f, out, result.array(at(c, activation, OUT_AGAIN)), X, W, U, b,
                        ctx.ours.initialize_activation(activation))
        modified_inputs(f, result, [at(c, activation, OUT_Y)], "Elman.forward")
    elif f.verdict == "pass":
        _judge_gradients(f, result, inputs, c, activation, ctx, matches(out, right))


def _state_kept(f: Finding, out, again, X, W, U, b, sigma) -> None:
    """The same sequence twice must give the same s_T; a layer that starts the second call from
    the state the first ended with (its list of states kept, not reset) is a stale cache."""
    if again is None or matches(again, out):
        return
    if not matches(again, states(X, W, U, b, sigma, s0=out)[1][-1]):
        f.worse("wrong", "Elman.forward gives another output when called again on the same sequence")
        return
    cause = result_cause("stale-cache", what="Elman.forward")
    if f.verdict == "pass":
        f.worse("wrong", cause, "stale-cache")
    else:
        f.set_cause("stale-cache", cause)
    f.detail.append("called again on the same sequence, it starts from the state its previous call ended with: "
                    "every sequence starts from s_0 = 0 (initialise the cache at the start of forward)")


def _judge_gradients(f: Finding, result, inputs, c: int, activation: str, ctx, forward_ok: bool) -> None:
    X, W, U, b, dY = (inputs[L(c, n)] for n in (IN_X, *PARAMETERS, IN_DY))

    def label(name):
        return at(c, activation, name)

    grads = {k: result.need(f, label(k), what, ctx) for k, what in
             ((OUT_DX, "Elman.backward"), ("dW", "gradients['W']"), ("dU", "gradients['U']"), ("db", "gradients['b']"))}
    dX = grads[OUT_DX]
    if dX is not None and dX.shape[:2] == X.shape[:2] and dX.ndim == 3 and dX.shape[2] > X.shape[2]:
        f.worse("wrong", result_cause("stale-cache", what="Elman.backward"), "stale-cache",
                f"Elman.backward returns {dX.shape[2]} time steps for a sequence of {X.shape[2]}: the lists in its "
                "cache keep the steps of every earlier forward call (initialise the cache at the start of forward)")
        return
    layer = reference(ctx.ours, activation, W, U, b)
    layer.forward(X)
    right = {OUT_DX: layer.backward(dY), **{f"d{n}": layer.gradients[n] for n in PARAMETERS}}
    sigma = ctx.ours.initialize_activation(activation)
    mistakes = [(rule, bptt(X, W, U, b, dY, sigma, **kwargs)) for rule, kwargs in MISTAKES]
    for name, yours in grads.items():
        if yours is None:
            continue
        alternatives = [("elman-time-reversed", right[name][:, :, ::-1])] if name == OUT_DX else \
            [("not-stored", np.zeros_like(right[name]))]  # before "one step's", whose dU is 0 at s_0 = 0
        alternatives += [(rule, arrays[name]) for rule, arrays in mistakes]
        if name == "db":
            alternatives.append(("bias-not-summed", bptt(X, W, U, b, dY, sigma)["db_rows"]))
        judge_array(f, name, yours, right[name], alternatives, gradient=True, m=X.shape[0],
                    accept_singletons=(name == "db"))
    fd_check(f, result, inputs, [(label(g), label(f"fd_{n}"), L(c, f"idx_{n}")) for g, n in
                                 ((OUT_DX, IN_X), ("dW", "W"), ("dU", "U"), ("db", "b"))], forward_ok, "Elman.forward")
    modified_inputs(f, result, [label(OUT_Y), label(OUT_DX)], "Elman")


KIND = PartKind(
    name="recurrent", order=35, classes=CLASSES, methods=("forward", "backward"), draw=draw, run=run, judge=judge,
    labels=labels,
    causes=("elman-not-accumulated", "elman-delta-not-propagated", "elman-time-reversed", "elman-state-off-by-one",
            "cached-output", "activation-skipped", "activation-twice", "activation-not-applied", "stale-cache",
            "bias-not-summed", "not-stored", "batch-dim-params", "param-shape", "transposed", "times-m", "over-m",
            "input-modified", "not-derivative", "forward-wrong"))
