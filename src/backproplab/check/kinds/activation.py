"""Activations: ``forward(Z)`` = σ(Z), ``backward(Z, dY)`` = dZ = σ'(Z) ⊙ dY (the softmax's
Jacobian applied row by row). Judged against backproplab's activations; a backward that
no catalogue rule explains is compared with finite differences of the learner's forward.
"""

from __future__ import annotations

import numpy as np

from ..causes import result_cause
from ..harness import FAILED, construct, modified, record_fd, weighted_sum
from ..judge import Finding, fd_check, judge_array, judge_cases, matches, modified_inputs
from ..kind import COMMON_LABELS, ClassSpec, PartKind, away_from_zero, case_labels, new_prepared, part_rng, samples
from ..protocol import case_label as L
from .common import constructed

#: what crosses the boundary, per case: the inputs, then what the learner's code returns
IN_Z, IN_DY, IN_IDX_Z = "Z", "dY", "idx_Z"
OUT_Y, OUT_DZ, OUT_FD_Z = "Y", "dZ", "fd_Z"


def _spec(name: str, build: str, aliases: tuple[str, ...] = ()) -> ClassSpec:
    return ClassSpec(name, "activations", aliases, "initialize_activation", build)


CLASSES = (_spec("Linear", "linear", ("Identity",)), _spec("Sigmoid", "sigmoid"), _spec("TanH", "tanh", ("Tanh",)),
           _spec("ReLU", "relu", ("Relu",)), _spec("SoftMax", "softmax", ("Softmax",)),
           ClassSpec("ArcTan", "activations", ("Arctan",), "initialize_activation", "arctan",
                     terms=("sp21", "sp24", "sp25")))


def draw(part, seed: int, ours, term):
    prepared = new_prepared(part, seed)
    rng = part_rng(seed, part.name)
    Z = away_from_zero(rng.normal(0, 1.5, (6, 5)))
    Z[0, 0] = -abs(Z[0, 0])  # np.vectorize takes its result type from the first entry: ReLU's 0 must show up
    inputs = {IN_Z: Z, IN_IDX_Z: samples(rng, Z)}
    if part.method == "backward":
        inputs[IN_DY] = rng.normal(0, 1, Z.shape)
    prepared.add_case({"label": "Z of shape (6, 5)"}, inputs)
    if part.cls.name == "SoftMax" and part.method == "forward":
        prepared.add_case({"label": "logits near 1000", "big": True}, {IN_Z: 1000 + rng.normal(0, 3, (6, 5))})
    return prepared


def labels(prepared):
    return {*COMMON_LABELS, *case_labels(prepared, OUT_Y, OUT_DZ, OUT_FD_Z)}


# -- in the learner's process ---------------------------------------------------------------------------


def run(task, inputs, calls, cls) -> None:
    obj = calls.run("construct", construct, cls)
    if obj is FAILED:
        return
    for c in range(len(task["cases"])):
        Z = inputs[L(c, IN_Z)]
        Zc = Z.copy()
        calls.run(L(c, OUT_Y), obj.forward, Zc)
        calls.note(L(c, OUT_Y), modified=modified([("Z", Z, Zc)]))
        if task["method"] == "backward":
            dY = inputs[L(c, IN_DY)]
            Zc, dYc = Z.copy(), dY.copy()
            calls.run(L(c, OUT_DZ), obj.backward, Zc, dYc)
            calls.note(L(c, OUT_DZ), modified=modified([("Z", Z, Zc), ("dY", dY, dYc)]))
            record_fd(calls, L(c, OUT_FD_Z), lambda A: weighted_sum(obj.forward(A), dY), Z, inputs[L(c, IN_IDX_Z)])


# -- in the grader ---------------------------------------------------------------------------------------


def judge(prepared, result, ctx) -> Finding:
    part, inputs = prepared.part, prepared.inputs
    sigma = ctx.ours.initialize_activation(part.cls.build)
    what = f"{part.cls.name}.{part.method}"

    def judge_case(f: Finding, c: int, case: dict) -> None:
        Z = inputs[L(c, IN_Z)]
        if not constructed(f, result, "construct", f"{part.cls.name}()", ctx):
            pass  # the verdict says why
        elif part.method == "forward":
            Y = result.need(f, L(c, OUT_Y), what, ctx)
            if Y is not None and case.get("big") and not np.all(np.isfinite(Y)):
                f.worse("wrong", result_cause("softmax-overflow"), "softmax-overflow")
            elif Y is not None:
                alternatives = [("softmax-axis", sigma.forward(Z.T).T)] if part.cls.name == "SoftMax" else []
                judge_array(f, "the output", Y, sigma.forward(Z), alternatives)
            modified_inputs(f, result, [L(c, OUT_Y)], what)
        else:
            dY = inputs[L(c, IN_DY)]
            dZ = result.need(f, L(c, OUT_DZ), what, ctx)
            if dZ is not None:
                right = sigma.backward(Z, dY)
                judge_array(f, "dZ", dZ, right, _alternatives(part.cls.name, sigma, Z, dY, right), gradient=True,
                            m=Z.shape[0])
                fd_check(f, result, inputs, [(L(c, OUT_DZ), L(c, OUT_FD_Z), L(c, IN_IDX_Z))],
                         matches(result.array(L(c, OUT_Y)), sigma.forward(Z)), f"{part.cls.name}.forward")
            modified_inputs(f, result, [L(c, OUT_DZ)], what)

    return judge_cases(prepared, judge_case)


def _alternatives(name: str, sigma, Z, dY, right):
    alternatives = [("dY-ignored", sigma.backward(Z, np.ones_like(Z))),
                    ("activation-twice", sigma.backward(Z, right))]
    if name == "Sigmoid":
        alternatives.append(("z-as-output", dY * Z * (1 - Z)))
    elif name == "TanH":
        alternatives.append(("z-as-output", dY * (1 - Z * Z)))
    elif name == "SoftMax":
        s = sigma.forward(Z)
        alternatives.append(("softmax-elementwise", dY * s * (1 - s)))
    return alternatives


KIND = PartKind(
    name="activation", order=10, classes=CLASSES, methods=("forward", "backward"), draw=draw, run=run,
    judge=judge, labels=labels,
    causes=("dY-ignored", "activation-twice", "z-as-output", "softmax-elementwise", "softmax-overflow",
            "softmax-axis", "input-modified", "integer-result", "sign", "not-derivative", "forward-wrong"))
