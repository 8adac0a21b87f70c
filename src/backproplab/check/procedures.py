"""What the child calls in a learner's package, one procedure per kind of part.

Each procedure reads its inputs (``c0_X``, ``c0_dY``, … one prefix per case), calls the
learner's code through ``Calls.run`` and records everything the grader needs to judge
and to explain: the outputs, the gradients, central finite differences of the learner's
own forward at the sampled entries the grader chose, the values of the activation the
layer holds (so a layer is judged with the learner's activation, not counted twice), and
whether an input array was changed in place.
"""

from __future__ import annotations

import importlib
import os

import numpy as np

from .child import FAILED, Calls, changed, construct, find_class, record_fd, weighted_sum


def _import(calls: Calls, module: str):
    found = calls.run("import", importlib.import_module, f"neural_networks.{module}")
    return None if found is FAILED else found


def _class(calls: Calls, task: dict, module):
    spec = task["class"]
    cls = find_class(module, spec["name"], spec["aliases"], spec["factory"], spec["factory_name"])
    if cls is None:
        calls.note("absent", kind="absent")
    return cls


def probe(task, inputs, calls: Calls) -> None:
    """Import one module and say which of the homework's classes it has."""
    module = _import(calls, task["module"])
    if module is None:
        return
    found = {}
    for spec in task["classes"]:
        cls = find_class(module, spec["name"], spec["aliases"], spec["factory"], spec["factory_name"])
        found[spec["name"]] = None if cls is None else cls.__name__
    calls.note("classes", kind="classes", found=found)


# -- activations and losses: pure functions of their arguments ----------------------------------------


def activation(task, inputs, calls: Calls) -> None:
    module = _import(calls, "activations")
    cls = module and _class(calls, task, module)
    if cls is None:
        return
    obj = calls.run("construct", construct, cls)
    if obj is FAILED:
        return
    for c in range(len(task["cases"])):
        p = f"c{c}_"
        Z = inputs[p + "Z"]
        Zc = Z.copy()
        calls.run(p + "out", obj.forward, Zc)
        if changed(Z, Zc):
            calls.note(p + "out", modified=["Z"])
        if task["method"] == "backward":
            dY = inputs[p + "dY"]
            Zc, dYc = Z.copy(), dY.copy()
            calls.run(p + "dZ", obj.backward, Zc, dYc)
            calls.note(p + "dZ", modified=[n for n, a, b in (("Z", Z, Zc), ("dY", dY, dYc)) if changed(a, b)])
            record_fd(calls, p + "fd_Z", lambda A: weighted_sum(obj.forward(A), dY), Z, inputs[p + "idx_Z"])


def loss(task, inputs, calls: Calls) -> None:
    module = _import(calls, "losses")
    cls = module and _class(calls, task, module)
    if cls is None:
        return
    obj = calls.run("construct", construct, cls, name="cross_entropy")
    if obj is FAILED:
        return
    for c in range(len(task["cases"])):
        p = f"c{c}_"
        Y, Y_hat = inputs[p + "Y"], inputs[p + "Y_hat"]
        Yc, Y_hatc = Y.copy(), Y_hat.copy()
        calls.run(p + "out", obj.forward, Yc, Y_hatc)
        calls.note(p + "out", modified=[n for n, a, b in (("Y", Y, Yc), ("Y_hat", Y_hat, Y_hatc)) if changed(a, b)])
        if task["method"] == "backward":
            Yc, Y_hatc = Y.copy(), Y_hat.copy()
            calls.run(p + "dY_hat", obj.backward, Yc, Y_hatc)
            calls.note(p + "dY_hat", modified=[n for n, a, b in (("Y", Y, Yc), ("Y_hat", Y_hat, Y_hatc))
                                               if changed(a, b)])
            record_fd(calls, p + "fd_Y_hat", lambda A: float(np.asarray(obj.forward(Y.copy(), A), dtype=float)),
                      Y_hat, inputs[p + "idx_Y_hat"])


# -- layers: forward caches, backward fills ``gradients`` ----------------------------------------------


def choose_activation(calls: Calls, prefix: str, preferences: list[str], Z: np.ndarray, dY: np.ndarray) -> str:
    """The first activation of ``preferences`` that the learner's ``initialize_activation``
    builds and that returns arrays of the right shape (an optional TanH left as a blank
    must not make the dense and convolution layers fail)."""
    module = importlib.import_module("neural_networks.activations")
    build = getattr(module, "initialize_activation", None)
    skipped = []
    for name in preferences:
        try:
            act = build(name)
            Y, dZ = np.asarray(act.forward(Z.copy())), np.asarray(act.backward(Z.copy(), dY.copy()))
            if Y.shape == Z.shape == dZ.shape and np.all(np.isfinite(Y)) and np.all(np.isfinite(dZ)):
                calls.note(prefix + "activation", used=name, skipped=skipped)
                return name
            skipped.append(name)
        except BaseException:  # a blank, an error: try the next one
            skipped.append(name)
    calls.note(prefix + "activation", used=preferences[-1], skipped=skipped[:-1])
    return preferences[-1]


def layer(task, inputs, calls: Calls) -> None:
    module = _import(calls, "layers")
    cls = module and _class(calls, task, module)
    if cls is None:
        return
    for c, case in enumerate(task["cases"]):
        p = f"c{c}_"
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in case["kwargs"].items()}  # JSON has no tuples
        if "activations" in case:
            kwargs["activation"] = choose_activation(calls, p, case["activations"], inputs[p + "Zref"],
                                                     inputs[p + "dY"])
        obj = _construct_layer(calls, p, cls, kwargs, inputs[p + "X0"])
        if obj is not FAILED:
            _run_layer(task, case, inputs, calls, p, obj)


def _construct_layer(calls: Calls, p: str, cls, kwargs: dict, X0: np.ndarray):
    """The layer, built and initialised by a first forward call. An earlier term's weights.py
    handles only 2-D shapes: where its Xavier initialiser fails on a 4-D kernel, the layer is
    built again with ``weight_init="uniform"`` (the grader sets W and b anyway)."""
    obj = calls.run(p + "construct", construct, cls, **kwargs)
    if obj is FAILED or calls.run(p + "init", obj.forward, X0.copy()) is not FAILED:
        return obj
    failed_in = os.path.basename(calls.meta[p + "init"].get("file") or "")
    if failed_in != "weights.py" or kwargs.get("weight_init") == "uniform":
        return FAILED
    first = calls.meta[p + "init"]
    retry = calls.run(p + "construct", construct, cls, **{**kwargs, "weight_init": "uniform"})
    if retry is FAILED or calls.run(p + "init", retry.forward, X0.copy()) is FAILED:
        if os.path.basename(calls.meta[p + "init"].get("file") or "") == "weights.py":
            calls.meta[p + "init"] = first  # the initialiser again: say what the first attempt said
        return FAILED
    calls.note(p + "init", weight_init=f"uniform, since {kwargs.get('weight_init')} raised {first.get('type')} "
                                       f"in weights.py")
    return retry


def _run_layer(task, case, inputs, calls: Calls, p: str, obj) -> None:
    X, dY = inputs[p + "X"], inputs[p + "dY"]
    names = case.get("parameters", [])
    params = getattr(obj, "parameters", None)
    if names:
        if not isinstance(params, dict) or not all(n in params for n in names):
            calls.note(p + "init", missing_parameters=True)
            return
        calls.note(p + "init", shapes={n: list(np.shape(params[n])) for n in names})
        for n in names:
            params[n] = inputs[p + n].copy()
    Xc = X.copy()
    out = calls.run(p + "out", obj.forward, Xc)
    calls.note(p + "out", modified=["X"] if changed(X, Xc) else [])
    act = getattr(obj, "activation", None)
    if p + "Zref" in inputs:
        _record_activation(calls, p, act, inputs[p + "Zref"], dY)
    if task["method"] != "backward" or out is FAILED:
        return
    dYc = dY.copy()
    calls.run(p + "dX", obj.backward, dYc)
    calls.note(p + "dX", modified=["dY"] if changed(dY, dYc) else [])
    gradients = getattr(obj, "gradients", None)
    for n in names:
        value = gradients.get(n) if isinstance(gradients, dict) else None
        calls.record(p + "d" + n, value)
    record_fd(calls, p + "fd_X", lambda A: weighted_sum(obj.forward(A), dY), X, inputs[p + "idx_X"])
    for n in names:
        def with_parameter(A, n=n):
            saved = params[n]
            params[n] = A
            try:
                return weighted_sum(obj.forward(X.copy()), dY)
            finally:
                params[n] = saved
        record_fd(calls, p + "fd_" + n, with_parameter, inputs[p + n], inputs[p + "idx_" + n])


def _record_activation(calls: Calls, p: str, act, Z: np.ndarray, dY: np.ndarray) -> None:
    """The layer's own activation at the right pre-activation Z: σ(Z), σ'(Z)⊙dY, the
    derivative applied twice and taken at σ(Z), from which the grader builds what the layer
    should give and the mistakes it recognises."""
    if act is None or not hasattr(act, "forward") or not hasattr(act, "backward"):
        return
    Y = calls.run(p + "act_Y", act.forward, Z.copy())
    dZ = calls.run(p + "act_dZ", act.backward, Z.copy(), dY.copy())
    if isinstance(dZ, np.ndarray) and dZ.shape == Z.shape:
        calls.run(p + "act_dZ2", act.backward, Z.copy(), dZ.copy())
    if isinstance(Y, np.ndarray) and Y.shape == Z.shape:  # a layer that caches σ(Z) where it needs Z
        calls.run(p + "act_dZ_at_Y", act.backward, Y.copy(), dY.copy())


def procedures() -> dict:
    from .model_procedures import model, train

    return {"probe": probe, "activation": activation, "loss": loss, "layer": layer, "model": model, "train": train}
