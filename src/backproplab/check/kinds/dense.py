"""``FullyConnected``: Z = XW + b, Y = σ(Z); backward dZ = σ'(Z) ⊙ dY, dW = Xᵀ dZ,
db = Σ dZ over the batch, dX = dZ Wᵀ. Judged against backproplab's layer with a right
activation (``common``); each case with another activation."""

from __future__ import annotations

from ..judge import Finding, judge_array, judge_cases, modified_inputs
from ..kind import ClassSpec, PartKind, new_prepared, part_rng
from ..protocol import case_label as L
from ..terms import named
from . import common
from .common import IN_X0, OUT_INIT, OUT_Y, at, constructed

CLASSES = (ClassSpec("FullyConnected", "layers", factory="initialize_layer", build="fully_connected"),)


def draw(part, seed: int, ours, term):
    prepared = new_prepared(part, seed)
    rng = part_rng(seed, part.name)
    for activations in (["relu", "linear"], ["tanh", "relu", "linear"], ["softmax", "linear"]):
        activations = named(activations, term)
        settings = {"label": f"5 × 4 → 3, {activations[0]}", "activations": activations,
                    "kwargs": {"n_out": 3, "weight_init": "xavier_uniform"}}
        common.draw_case(prepared, rng, settings, {"X": (5, 4), "W": (4, 3), "W_scale": 0.6},
                         lambda X, W, b: X @ W + b)
    return prepared


def judge(prepared, result, ctx) -> Finding:
    part, inputs, ours = prepared.part, prepared.inputs, ctx.ours

    def judge_case(f: Finding, c: int, case: dict) -> None:
        activation = common.chosen_activation(f, result, case, inputs, c, ours)
        if (constructed(f, result, at(c, activation, "construct"), "FullyConnected(...)", ctx)
                and result.need(f, at(c, activation, OUT_INIT), "FullyConnected.forward", ctx) is not None):
            _judge_case(f, part, case, result, inputs, c, activation, ctx)

    return judge_cases(prepared, judge_case)


def _judge_case(f, part, case, result, inputs, c, activation, ctx) -> None:
    if result.note(at(c, activation, OUT_INIT), "missing_parameters", False, bool):
        f.worse("wrong", "after forward, FullyConnected.parameters does not hold W and b", "param-shape")
        return
    W, b, Z = inputs[L(c, "W")], inputs[L(c, "b")], case["Z"]
    act = common.reference_activation(ctx.ours, activation, Z, inputs[L(c, common.IN_DY)])
    out = common.forward_output(f, part, result, at(c, activation, OUT_Y), "FullyConnected.forward", ctx)
    if part.method == "forward":
        common.parameter_shapes(f, result, at(c, activation, OUT_INIT), {"W": W.shape, "b": b.shape},
                                inputs[L(c, IN_X0)].shape[0])
        if out is not None:
            judge_array(f, "the output", out, act["Y"],
                        [("activation-not-applied", Z if activation != "linear" else None)])
        modified_inputs(f, result, [at(c, activation, OUT_Y)], "FullyConnected.forward")
    elif f.verdict == "pass":
        def gradients(X, dZ):
            return common.layer_gradients(lambda: ctx.ours.FullyConnected(W.shape[1]), X, W, b, dZ)

        common.judge_gradients(f, result, inputs, c, activation, ctx, "FullyConnected", gradients, act,
                               {"db": [("bias-not-summed", act["dZ"])]})


KIND = PartKind(
    name="fully connected", order=20, classes=CLASSES, methods=("forward", "backward"), draw=draw, run=common.run,
    judge=judge, labels=common.labels,
    causes=("activation-not-applied", "batch-dim-params", "param-shape", "activation-skipped", "activation-twice",
            "cached-output", "bias-not-summed", "transposed", "over-m", "times-m", "not-stored", "stale-cache",
            "input-modified", "not-derivative", "forward-wrong"))
