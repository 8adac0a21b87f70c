"""Judges of the parts that are functions of their inputs: the activations, the loss and
the layers. Each builds the right result with backproplab's own layers (proven against
torch.autograd by the test suite), the transformations the catalogue recognises, and
compares.

A dense or convolution layer is judged with the learner's own activation: the right
output is *their* σ applied to the right Z = XW + b, so a wrong ReLU shows up in
``ReLU.*`` and is not counted again in ``FullyConnected.*``.
"""

from __future__ import annotations

import numpy as np

from ..nn.activations import initialize_activation
from ..nn.layers import Conv2D, FullyConnected, Pool2D
from ..nn.losses import CrossEntropy
from .causes import result_cause
from .judge import (Context, Finding, array_of, check_call, combine, error_problem, fd_check, judge_array, matches,
                    modified_inputs)
from .parts import conv_reference


def judge_activation(prepared, outcome, ctx: Context) -> Finding:
    part, inputs = prepared.part, prepared.inputs
    ours = initialize_activation(part.factory_name)
    cases = []
    for c, case in enumerate(prepared.cases):
        p, f = f"c{c}_", Finding(part.name)
        Z = inputs[p + "Z"]
        if part.method == "forward":
            Y = check_call(f, outcome, p + "out", f"{part.cls}.forward", ctx)
            if Y is not None and case.get("big") and not np.all(np.isfinite(Y)):
                f.worse("wrong", result_cause("softmax-overflow"), "softmax-overflow",
                        f"the output holds NaN or inf for logits near 1000 — {result_cause('softmax-overflow')}")
            elif Y is not None:
                alternatives = [("softmax-axis", ours.forward(Z.T).T)] if part.cls == "SoftMax" else []
                judge_array(f, "the output", Y, ours.forward(Z), alternatives)
            modified_inputs(f, outcome, [p + "out"], f"{part.cls}.forward")
        else:
            dY = inputs[p + "dY"]
            dZ = check_call(f, outcome, p + "dZ", f"{part.cls}.backward", ctx)
            if dZ is not None:
                right = ours.backward(Z, dY)
                judge_array(f, "dZ", dZ, right, _activation_alternatives(part.cls, ours, Z, dY, right),
                            gradient=True, m=Z.shape[0])
                forward_ok = matches(array_of(outcome, p + "out"), ours.forward(Z))
                fd_check(f, outcome, inputs, p, [("dZ", "Z")], forward_ok, f"{part.cls}.forward")
            modified_inputs(f, outcome, [p + "dZ"], f"{part.cls}.backward")
        cases.append((case["label"], f))
    return combine(part.name, cases)


def _activation_alternatives(cls: str, ours, Z, dY, right):
    alternatives = [("dY-ignored", ours.backward(Z, np.ones_like(Z))), ("activation-twice", ours.backward(Z, right))]
    if cls == "Sigmoid":
        alternatives.append(("z-as-output", dY * Z * (1 - Z)))
    elif cls == "TanH":
        alternatives.append(("z-as-output", dY * (1 - Z * Z)))
    elif cls == "SoftMax":
        s = ours.forward(Z)
        alternatives.append(("softmax-elementwise", dY * s * (1 - s)))
    return alternatives


def judge_loss(prepared, outcome, ctx: Context) -> Finding:
    part, inputs = prepared.part, prepared.inputs
    ours, cases = CrossEntropy(), []
    for c, case in enumerate(prepared.cases):
        p, f = f"c{c}_", Finding(part.name)
        Y, Y_hat = inputs[p + "Y"], inputs[p + "Y_hat"]
        m, k = Y.shape
        J_right = np.array(ours.forward(Y, Y_hat))
        if _constructed(f, outcome, "construct", "CrossEntropy(...)", ctx):
            if part.method == "forward":
                J = check_call(f, outcome, p + "out", "CrossEntropy.forward", ctx)
                if J is not None:
                    per_example = -np.sum(Y * np.log(Y_hat), axis=1)
                    judge_array(f, "J", _scalar(J), J_right, [("times-m", J_right * m), ("mean-over-classes",
                                J_right / k), ("sign", -J_right), ("per-example", per_example)])
            else:
                dY_hat = check_call(f, outcome, p + "dY_hat", "CrossEntropy.backward", ctx)
                if dY_hat is not None:
                    judge_array(f, "∂J/∂Ŷ", dY_hat, ours.backward(Y, Y_hat),
                                [("combined-gradient", (Y_hat - Y) / m), ("combined-gradient", Y_hat - Y)],
                                gradient=True, m=m)
                    J = array_of(outcome, p + "out")
                    fd_check(f, outcome, inputs, p, [("dY_hat", "Y_hat")], J is not None and matches(_scalar(J), J_right),
                             "CrossEntropy.forward")
            modified_inputs(f, outcome, [p + "out", p + "dY_hat"], f"CrossEntropy.{part.method}")
        cases.append((case["label"], f))
    return combine(part.name, cases)


def _scalar(J: np.ndarray) -> np.ndarray:
    return J.reshape(()) if J.size == 1 else J


def _constructed(f: Finding, outcome, label: str, what: str, ctx: Context) -> bool:
    info = outcome.calls.get(label) or {}
    if info.get("kind") == "error":
        f.worse(*error_problem(info, what, ctx))
        return False
    return True


# -- layers ---------------------------------------------------------------------------------------


def judge_layer(prepared, outcome, ctx: Context) -> Finding:
    part, inputs = prepared.part, prepared.inputs
    cases = []
    for c, case in enumerate(prepared.cases):
        p, f = f"c{c}_", Finding(part.name)
        if (_constructed(f, outcome, p + "construct", f"{part.cls}(...)", ctx)
                and check_call(f, outcome, p + "init", f"{part.cls}.forward", ctx) is not None):
            if (outcome.calls.get(p + "init") or {}).get("missing_parameters"):
                f.worse("wrong", f"after forward, {part.cls}.parameters does not hold W and b", "param-shape")
            else:
                JUDGES[part.cls](f, part, case, inputs, outcome, ctx, p)
        cases.append((case["label"], f))
    return combine(part.name, cases)


def _activation_values(f: Finding, outcome, case, inputs, p: str):
    """σ(Zref), σ'(Zref)⊙dY and the derivative applied twice, from the learner's activation
    where it gave arrays of the right shape, else from ours (with a note)."""
    Zref, dY = inputs[p + "Zref"], inputs[p + "dY"]
    used = (outcome.calls.get(p + "activation") or {}).get("used", case["activations"][0])
    ours = initialize_activation(used)
    values = {"ours_Y": ours.forward(Zref), "ours_dZ": ours.backward(Zref, dY)}
    for key, label in (("Y", "act_Y"), ("dZ", "act_dZ"), ("dZ2", "act_dZ2"), ("dZ_at_Y", "act_dZ_at_Y")):
        theirs = array_of(outcome, p + label)
        values[key] = theirs if theirs is not None and theirs.shape == Zref.shape else None
    if values["Y"] is None or values["dZ"] is None:
        f.detail.append(f"the layer's own {used} activation gave no usable values; judged with the right {used}")
        values["Y"], values["dZ"] = values["ours_Y"], values["ours_dZ"]
    elif not (matches(values["Y"], values["ours_Y"]) and matches(values["dZ"], values["ours_dZ"])):
        f.detail.append(f"judged with your own {used} activation, which is not right itself (see its part)")
    skipped = (outcome.calls.get(p + "activation") or {}).get("skipped")
    if skipped:
        f.detail.append(f"checked with {used}: your {', '.join(skipped)} could not be used")
    return used, values


def _forward_output(f: Finding, part, outcome, p: str, what: str, ctx: Context):
    """The forward's output: judged in a forward part; in a backward part only needed to run
    (backward uses its cache), so a forward that raises stops the backward with that reason."""
    if part.method == "forward":
        return check_call(f, outcome, p + "out", what, ctx)
    info = outcome.calls.get(p + "out") or {}
    if info.get("kind") == "error":
        verdict, cause, rule = error_problem(info, what, ctx)
        f.worse("error" if verdict == "error" else verdict, f"backward cannot run: {cause}", rule)
    return array_of(outcome, p + "out")


def _parameter_shapes(f: Finding, outcome, p: str, expected: dict, batch: int) -> None:
    shapes = (outcome.calls.get(p + "init") or {}).get("shapes") or {}
    for name, right in expected.items():
        shape = tuple(shapes.get(name, right))
        ok = shape == right or (name == "b" and [d for d in shape if d != 1] == [d for d in right if d != 1])
        if ok:
            continue
        rule = "batch-dim-params" if shape and shape[0] == batch and shape[1:] == right[1:] else "param-shape"
        cause = result_cause(rule, name=name, shape=shape, expected_shape=right)
        f.worse("wrong", cause, rule)


def _layer_gradients(make_layer, X, W, b, dZ):
    """(dX, dW, db) of our layer (linear, parameters W and b) for the gradient dZ at its
    pre-activation; Nones when there is no dZ."""
    if dZ is None:
        return None, None, None
    layer = make_layer()
    layer.restore({"W": W, "b": b}, {})
    layer.forward(X)
    dX = layer.backward(dZ)
    return dX, layer.gradients["W"], layer.gradients["b"]


def _judge_gradients(f: Finding, outcome, inputs, p: str, ctx: Context, cls: str, gradients, act, extra: dict,
                     fields: dict | None = None) -> None:
    """dX, dW and db of a dense or convolution layer's backward against ``gradients(X, dZ)``
    at the layer's own σ'; the catalogue's transformations, ``extra`` ones first
    ({"db": [(rule, array), …]}); then finite differences where none explains a difference."""
    X, X0, dY = inputs[p + "X"], inputs[p + "X0"], inputs[p + "dY"]
    grads = [check_call(f, outcome, p + k, what, ctx) for k, what in
             (("dX", f"{cls}.backward"), ("dW", "gradients['W']"), ("db", "gradients['b']"))]
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
    fd_check(f, outcome, inputs, p, [("dX", "X"), ("dW", "W"), ("db", "b")],
             matches(array_of(outcome, p + "out"), act["Y"]), f"{cls}.forward")
    modified_inputs(f, outcome, [p + "out", p + "dX"], cls)


def _dense(f: Finding, part, case, inputs, outcome, ctx: Context, p: str) -> None:
    X0, W, b, Zref = (inputs[p + k] for k in ("X0", "W", "b", "Zref"))
    used, act = _activation_values(f, outcome, case, inputs, p)
    out = _forward_output(f, part, outcome, p, "FullyConnected.forward", ctx)
    if part.method == "forward":
        _parameter_shapes(f, outcome, p, {"W": W.shape, "b": b.shape}, X0.shape[0])
        if out is not None:
            judge_array(f, "the output", out, act["Y"],
                        [("activation-not-applied", Zref if used != "linear" else None)])
        modified_inputs(f, outcome, [p + "out"], "FullyConnected.forward")
    elif f.verdict == "pass":
        def gradients(X, dZ):
            return _layer_gradients(lambda: FullyConnected(W.shape[1]), X, W, b, dZ)

        _judge_gradients(f, outcome, inputs, p, ctx, "FullyConnected", gradients, act,
                         {"db": [("bias-not-summed", act["dZ"])]})


def _conv(f: Finding, part, case, inputs, outcome, ctx: Context, p: str) -> None:
    X, X0, W, b, Zref, dY = (inputs[p + k] for k in ("X", "X0", "W", "b", "Zref", "dY"))
    stride, pad = case["stride"], case["pad"]
    used, act = _activation_values(f, outcome, case, inputs, p)
    ours = initialize_activation(used)
    flipped = W[::-1, ::-1]
    Z_flipped = conv_reference(X, flipped, b, stride, pad)
    out = _forward_output(f, part, outcome, p, "Conv2D.forward", ctx)
    fields = {"stride": stride}
    if part.method == "forward":
        _parameter_shapes(f, outcome, p, {"W": W.shape, "b": b.shape}, X0.shape[0])
        if out is not None:
            alternatives = [("kernel-flipped", ours.forward(Z_flipped)),
                            ("activation-not-applied", Zref if used != "linear" else None)]
            if stride > 1:
                alternatives.append(("stride-ignored", ours.forward(conv_reference(X, W, b, 1, pad))))
            other_pad = "valid" if pad == "same" else "same"
            alternatives.append(("padding-ignored" if pad == "same" else "padding-added",
                                 ours.forward(conv_reference(X, W, b, stride, other_pad))))
            judge_array(f, "the output", out, act["Y"], alternatives, fields=fields)
        modified_inputs(f, outcome, [p + "out"], "Conv2D.forward")
        return
    if f.verdict != "pass":
        return

    def gradients(X, dZ, W=W):
        return _layer_gradients(lambda: Conv2D(W.shape[3], W.shape[:2], stride=stride, pad=pad), X, W, b, dZ)

    dX_f, dW_f, db_f = gradients(X, ours.backward(Z_flipped, dY), flipped)  # the kernel-flipped layer's
    dZ = act["dZ"]
    extra = {"dX": [("kernel-flipped", dX_f)], "dW": [("kernel-flipped", dW_f[::-1, ::-1])],
             "db": [*(("bias-not-summed", a) for a in (dZ, dZ.sum(axis=0), dZ.sum(axis=(1, 2)))),
                    ("kernel-flipped", db_f)]}
    if pad == "same":
        extra["dW"].append(("unpadded-input", _weight_gradient_unpadded(X, dZ, W.shape, stride)))
    _judge_gradients(f, outcome, inputs, p, ctx, "Conv2D", gradients, act, extra, fields)


def _weight_gradient_unpadded(X, dZ, shape, stride):
    """dW taken from the input without its padding: dW[i,j,c,f] = Σ dZ[n,y,x,f] X[n, s·y+i, s·x+j, c],
    X read as zero past its end (a loop that indexes X where it should index X_pad)."""
    kh, kw = shape[:2]
    _, Ho, Wo, _ = dZ.shape
    extra_h, extra_w = max(0, stride * (Ho - 1) + kh - X.shape[1]), max(0, stride * (Wo - 1) + kw - X.shape[2])
    Xz = np.pad(X, ((0, 0), (0, extra_h), (0, extra_w), (0, 0)))
    dW = np.zeros(shape)
    for i in range(kh):
        for j in range(kw):
            patch = Xz[:, i:i + stride * (Ho - 1) + 1:stride, j:j + stride * (Wo - 1) + 1:stride]
            dW[i, j] = np.tensordot(patch, dZ, axes=([0, 1, 2], [0, 1, 2]))
    return dW


def _pool(f: Finding, part, case, inputs, outcome, ctx: Context, p: str) -> None:
    X, X0, dY = inputs[p + "X"], inputs[p + "X0"], inputs[p + "dY"]
    kernel, stride, mode = case["kernel"], case["stride"], part.mode
    other = "average" if mode == "max" else "max"
    window = kernel * kernel
    fields = {"stride": stride, "window": window, "mode": mode, "other": other}

    def pooled(X, mode=mode, stride=stride, dY=None):
        layer = Pool2D((kernel, kernel), mode=mode, stride=stride)
        Y = layer.forward(X)
        return Y if dY is None else layer.backward(dY)

    out = _forward_output(f, part, outcome, p, f"{part.name.rsplit('.', 1)[0]}.forward", ctx)
    right_Y = pooled(X)
    if part.method == "forward":
        if out is not None:
            alternatives = [("mode-swapped", pooled(X, other))]
            if mode == "average":
                alternatives.append(("average-not-divided", right_Y * window))
            if stride > 1:
                alternatives.append(("stride-ignored", pooled(X, stride=1)))
            judge_array(f, "the output", out, right_Y, alternatives, fields=fields)
        modified_inputs(f, outcome, [p + "out"], part.name)
        return
    dX = check_call(f, outcome, p + "dX", part.name, ctx)
    if dX is None or f.verdict != "pass":
        return
    right = pooled(X, dY=dY)
    alternatives = [("mode-swapped", pooled(X, other, dY=dY)), ("stale-cache", pooled(X0, dY=dY))]
    if mode == "average":
        alternatives.append(("average-not-divided", right * window))
    if stride < kernel and dX.shape == right.shape:
        alternatives.append(("overlap-overwritten", _overwritten(dX, right, pooled(X, dY=np.ones_like(dY)), mode,
                                                                 window)))
    judge_array(f, "dX", dX, right, alternatives, fields=fields)
    fd_check(f, outcome, inputs, p, [("dX", "X")], matches(out, right_Y), f"{part.name.rsplit('.', 1)[0]}.forward")
    modified_inputs(f, outcome, [p + "out", p + "dX"], part.name)


def _overwritten(dX, right, routed, mode: str, window: int):
    """If overlapping windows were overwritten, the learner's dX is right wherever a single
    window reaches an entry and wrong only where several do: then return the learner's
    dX itself (the rule matches), else None."""
    count = routed if mode == "max" else routed * window  # windows whose gradient reaches each entry
    single, several = count <= 1, count >= 2
    if several.any() and matches(dX[single], right[single]) and not matches(dX[several], right[several]):
        return dX
    return None


def _flatten(f: Finding, part, case, inputs, outcome, ctx: Context, p: str) -> None:
    X, dY = inputs[p + "X"], inputs[p + "dY"]
    m = X.shape[0]
    out = _forward_output(f, part, outcome, p, "Flatten.forward", ctx)
    if part.method == "forward":
        if out is not None:
            judge_array(f, "the output", out, X.reshape(m, -1),
                        [("flatten-order", X.reshape(m, -1, order="F")),
                         ("flatten-order", X.transpose(0, 3, 1, 2).reshape(m, -1))])
        modified_inputs(f, outcome, [p + "out"], "Flatten.forward")
        return
    dX = check_call(f, outcome, p + "dX", "Flatten.backward", ctx)
    if dX is not None and f.verdict == "pass":
        C = X.shape[3]
        judge_array(f, "dX", dX, dY.reshape(X.shape),
                    [("flatten-order", dY.reshape(X.shape, order="F")),
                     ("flatten-order", dY.reshape(m, C, *X.shape[1:3]).transpose(0, 2, 3, 1))])
        fd_check(f, outcome, inputs, p, [("dX", "X")], matches(out, X.reshape(m, -1)), "Flatten.forward")


JUDGES = {"FullyConnected": _dense, "Conv2D": _conv, "Pool2D": _pool, "Flatten": _flatten}
