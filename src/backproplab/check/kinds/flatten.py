"""``Flatten``: (m, h, w, c) → (m, h·w·c) in row-major order; backward reshapes dY back."""

from __future__ import annotations

from ..judge import Finding, fd_check, judge_array, judge_cases, matches, modified_inputs
from ..kind import ClassSpec, PartKind, new_prepared, part_rng, samples
from ..protocol import case_label as L
from . import common
from .common import IN_DY, IN_X, IN_X0, OUT_DX, OUT_Y

CLASSES = (ClassSpec("Flatten", "layers", factory="initialize_layer", build="flatten", terms=("sp21", "sp24", "sp25")),)


def draw(part, seed: int, ours, term):
    prepared = new_prepared(part, seed)
    rng = part_rng(seed, part.name)
    X = rng.normal(0, 1, (3, 4, 2, 5))
    prepared.add_case({"label": "X of shape (3, 4, 2, 5)", "kwargs": {"keep_dim": "first"}},
                      {IN_X0: rng.normal(0, 1, X.shape), IN_X: X, "idx_X": samples(rng, X),
                       IN_DY: rng.normal(0, 1, (3, 40))})
    return prepared


def judge(prepared, result, ctx) -> Finding:
    part, inputs = prepared.part, prepared.inputs

    def judge_case(f: Finding, c: int, case: dict) -> None:
        if common.plain_started(f, result, c, "Flatten", ctx):
            _judge_case(f, part, result, inputs, c, ctx)

    return judge_cases(prepared, judge_case)


def _judge_case(f, part, result, inputs, c, ctx) -> None:
    X, dY = inputs[L(c, IN_X)], inputs[L(c, IN_DY)]
    m = X.shape[0]
    out = common.forward_output(f, part, result, L(c, OUT_Y), "Flatten.forward", ctx)
    if part.method == "forward":
        if out is not None:
            judge_array(f, "the output", out, X.reshape(m, -1),
                        [("flatten-order", X.reshape(m, -1, order="F")),
                         ("flatten-order", X.transpose(0, 3, 1, 2).reshape(m, -1))])
        modified_inputs(f, result, [L(c, OUT_Y)], "Flatten.forward")
        return
    dX = result.need(f, L(c, OUT_DX), "Flatten.backward", ctx)
    if dX is not None and f.verdict == "pass":
        C = X.shape[3]
        judge_array(f, "dX", dX, dY.reshape(X.shape),
                    [("flatten-order", dY.reshape(X.shape, order="F")),
                     ("flatten-order", dY.reshape(m, C, *X.shape[1:3]).transpose(0, 2, 3, 1))])
        fd_check(f, result, inputs, [(L(c, OUT_DX), L(c, "fd_X"), L(c, "idx_X"))], matches(out, X.reshape(m, -1)),
                 "Flatten.forward")


KIND = PartKind(
    name="flatten", order=50, classes=CLASSES, methods=("forward", "backward"), draw=draw, run=common.run_plain,
    judge=judge, labels=common.plain_labels, causes=("flatten-order", "input-modified", "not-derivative"))
