"""``Pool2D`` (NHWC), max and average: each output is the maximum or mean of its kh × kw
window; backward routes dY to each window's maximum (the first, on ties) or spreads it
evenly, adding where windows overlap. Judged against backproplab's ``Pool2D`` with kernel
2 stride 2, and kernel 3 stride 1 (overlapping windows)."""

from __future__ import annotations

import numpy as np

from ..judge import Finding, fd_check, judge_array, judge_cases, matches, modified_inputs
from ..kind import ClassSpec, PartKind, new_prepared, part_rng, samples
from ..protocol import case_label as L
from . import common
from .common import IN_DY, IN_X, IN_X0, OUT_DX, OUT_Y

CLASSES = (ClassSpec("Pool2D", "layers", factory="initialize_layer", build="pool2d", terms=("sp21", "sp24", "sp25")),)


def draw(part, seed: int, ours, term):
    prepared = new_prepared(part, seed)
    rng = part_rng(seed, part.name)
    for kernel, stride, shape in ((2, 2, (2, 6, 4, 3)), (3, 1, (2, 5, 4, 2))):
        X = rng.normal(0, 1, shape)
        out = (shape[1] - kernel) // stride + 1, (shape[2] - kernel) // stride + 1
        settings = {"label": f"kernel {kernel}, stride {stride}", "kernel": kernel, "stride": stride,
                    "kwargs": {"kernel_shape": [kernel, kernel], "mode": part.variant, "stride": stride, "pad": 0}}
        prepared.add_case(settings, {IN_X0: rng.normal(0, 1, shape), IN_X: X, "idx_X": samples(rng, X),
                                     IN_DY: rng.normal(0, 1, (shape[0], *out, shape[3]))})
    return prepared


def judge(prepared, result, ctx) -> Finding:
    part, inputs = prepared.part, prepared.inputs
    what = f"Pool2D.{part.variant}"

    def judge_case(f: Finding, c: int, case: dict) -> None:
        if common.plain_started(f, result, c, what, ctx):
            _judge_case(f, part, case, result, inputs, c, what, ctx)

    return judge_cases(prepared, judge_case)


def _judge_case(f, part, case, result, inputs, c, what, ctx) -> None:
    X, X0, dY = inputs[L(c, IN_X)], inputs[L(c, IN_X0)], inputs[L(c, IN_DY)]
    kernel, stride, mode = case["kernel"], case["stride"], part.variant
    other = "average" if mode == "max" else "max"
    window = kernel * kernel
    fields = {"stride": stride, "window": window, "mode": mode, "other": other}

    def pooled(X, mode=mode, stride=stride, dY=None):
        layer = ctx.ours.Pool2D((kernel, kernel), mode=mode, stride=stride)
        Y = layer.forward(X)
        return Y if dY is None else layer.backward(dY)

    out = common.forward_output(f, part, result, L(c, OUT_Y), f"{what}.forward", ctx)
    right_Y = pooled(X)
    if part.method == "forward":
        if out is not None:
            alternatives = [("mode-swapped", pooled(X, other))]
            if mode == "average":
                alternatives.append(("average-not-divided", right_Y * window))
            if stride > 1:
                alternatives.append(("stride-ignored", pooled(X, stride=1)))
            judge_array(f, "the output", out, right_Y, alternatives, fields=fields)
        modified_inputs(f, result, [L(c, OUT_Y)], part.name)
        return
    dX = result.need(f, L(c, OUT_DX), part.name, ctx)
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
    fd_check(f, result, inputs, [(L(c, OUT_DX), L(c, "fd_X"), L(c, "idx_X"))], matches(out, right_Y),
             f"{what}.forward")
    modified_inputs(f, result, [L(c, OUT_Y), L(c, OUT_DX)], part.name)


def _overwritten(dX, right, routed, mode: str, window: int):
    """If overlapping windows were overwritten, the learner's dX is right wherever a single
    window reaches an entry and wrong only where several do: then return the learner's
    dX itself (the rule matches), else None."""
    count = routed if mode == "max" else routed * window  # windows whose gradient reaches each entry
    single, several = count <= 1, count >= 2
    if several.any() and matches(dX[single], right[single]) and not matches(dX[several], right[several]):
        return dX
    return None


KIND = PartKind(
    name="pooling", order=40, classes=CLASSES, methods=("forward", "backward"), variants=("max", "average"),
    draw=draw, run=common.run_plain, judge=judge, labels=common.plain_labels,
    causes=("mode-swapped", "average-not-divided", "stride-ignored", "overlap-overwritten", "stale-cache",
            "input-modified", "not-derivative", "forward-wrong"))
