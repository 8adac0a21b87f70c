"""``Conv2D`` (NHWC, W of shape (kh, kw, C_in, C_out)): the cross-correlation
Z[n,y,x,f] = Σ X_pad[n, s·y+i, s·x+j, c] W[i,j,c,f] + b[f], Y = σ(Z). Judged against
backproplab's ``Conv2D`` (proven against torch.nn.functional.conv2d) with a right
activation (``common``), at stride 1 with padding "same" and stride 2 with "valid"."""

from __future__ import annotations

import numpy as np

from ..judge import Finding, judge_array, judge_cases, modified_inputs
from ..kind import ClassSpec, PartKind, new_prepared, part_rng
from ..protocol import case_label as L
from ..terms import named
from . import common
from .common import IN_DY, IN_X, IN_X0, OUT_INIT, OUT_Y, at, constructed

CLASSES = (ClassSpec("Conv2D", "layers", factory="initialize_layer", build="conv2d",
                     terms=("sp20", "sp21", "sp24", "sp25")),)


def reference(ours, X, W, b, stride, pad, activation="linear"):
    """backproplab's convolution with these parameters."""
    layer = ours.Conv2D(W.shape[3], W.shape[:2], activation=activation, stride=stride, pad=pad)
    layer.restore({"W": W, "b": b}, {})
    return layer.forward(X)


def draw(part, seed: int, ours, term):
    prepared = new_prepared(part, seed)
    rng = part_rng(seed, part.name)
    cases = ((1, "same", ["relu", "linear"]), (2, "valid", ["tanh", "relu", "linear"]))
    if term is not None and term.name == "sp20":  # that term's padding helper knows "same" only
        cases = cases[:1]
    for stride, pad, activations in cases:
        activations = named(activations, term)
        settings = {"label": f"stride {stride}, padding \"{pad}\", 3×3 kernel, {activations[0]}",
                    "activations": activations, "stride": stride, "pad": pad,
                    "kwargs": {"n_out": 3, "kernel_shape": [3, 3], "stride": stride, "pad": pad,
                               "weight_init": "xavier_uniform"}}
        common.draw_case(prepared, rng, settings, {"X": (2, 5, 6, 2), "W": (3, 3, 2, 3), "W_scale": 0.4},
                         lambda X, W, b, stride=stride, pad=pad: reference(ours, X, W, b, stride, pad))
    return prepared


def judge(prepared, result, ctx) -> Finding:
    part, inputs = prepared.part, prepared.inputs

    def judge_case(f: Finding, c: int, case: dict) -> None:
        activation = common.chosen_activation(f, result, case, inputs, c, ctx.ours)
        if (constructed(f, result, at(c, activation, "construct"), "Conv2D(...)", ctx)
                and result.need(f, at(c, activation, OUT_INIT), "Conv2D.forward", ctx) is not None):
            if result.note(at(c, activation, OUT_INIT), "missing_parameters", False, bool):
                f.worse("wrong", "after forward, Conv2D.parameters does not hold W and b", "param-shape")
            else:
                _judge_case(f, part, case, result, inputs, c, activation, ctx)

    return judge_cases(prepared, judge_case)


def _judge_case(f, part, case, result, inputs, c, activation, ctx) -> None:
    ours = ctx.ours
    X, W, b, dY, Z = inputs[L(c, IN_X)], inputs[L(c, "W")], inputs[L(c, "b")], inputs[L(c, IN_DY)], case["Z"]
    stride, pad = case["stride"], case["pad"]
    act = common.reference_activation(ours, activation, Z, dY)
    sigma = ours.initialize_activation(activation)
    flipped = W[::-1, ::-1]
    Z_flipped = reference(ours, X, flipped, b, stride, pad)
    out = common.forward_output(f, part, result, at(c, activation, OUT_Y), "Conv2D.forward", ctx)
    fields = {"stride": stride}
    if part.method == "forward":
        common.parameter_shapes(f, result, at(c, activation, OUT_INIT), {"W": W.shape, "b": b.shape},
                                inputs[L(c, IN_X0)].shape[0])
        if out is not None:
            alternatives = [("kernel-flipped", sigma.forward(Z_flipped)),
                            ("activation-not-applied", Z if activation != "linear" else None)]
            if stride > 1:
                alternatives.append(("stride-ignored", sigma.forward(reference(ours, X, W, b, 1, pad))))
            other_pad = "valid" if pad == "same" else "same"
            alternatives.append(("padding-ignored" if pad == "same" else "padding-added",
                                 sigma.forward(reference(ours, X, W, b, stride, other_pad))))
            judge_array(f, "the output", out, act["Y"], alternatives, fields=fields)
        modified_inputs(f, result, [at(c, activation, OUT_Y)], "Conv2D.forward")
        return
    if f.verdict != "pass":
        return

    def gradients(X, dZ, W=W):
        return common.layer_gradients(lambda: ours.Conv2D(W.shape[3], W.shape[:2], stride=stride, pad=pad), X, W, b,
                                      dZ)

    dX_f, dW_f, db_f = gradients(X, sigma.backward(Z_flipped, dY), flipped)  # the kernel-flipped layer's
    dZ = act["dZ"]
    extra = {"dX": [("kernel-flipped", dX_f)], "dW": [("kernel-flipped", dW_f[::-1, ::-1])],
             "db": [*(("bias-not-summed", a) for a in (dZ, dZ.sum(axis=0), dZ.sum(axis=(1, 2)))),
                    ("kernel-flipped", db_f)]}
    if pad == "same":
        extra["dW"].append(("unpadded-input", _weight_gradient_unpadded(X, dZ, W.shape, stride)))
    common.judge_gradients(f, result, inputs, c, activation, ctx, "Conv2D", gradients, act, extra, fields)


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


KIND = PartKind(
    name="convolution", order=30, classes=CLASSES, methods=("forward", "backward"), draw=draw, run=common.run,
    judge=judge, labels=common.labels,
    causes=("kernel-flipped", "stride-ignored", "padding-ignored", "padding-added", "unpadded-input", "empty",
            "bias-not-summed", "activation-skipped", "activation-not-applied", "batch-dim-params", "param-shape",
            "input-modified", "not-derivative", "forward-wrong"))
