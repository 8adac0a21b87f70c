"""``CrossEntropy``: J = −(1/m) Σ y ln ŷ over the m examples of a batch; backward
∂J/∂Ŷ = −(1/m) Y / Ŷ (the softmax applies its own Jacobian)."""

from __future__ import annotations

import numpy as np

from ..harness import FAILED, construct, modified, record_fd
from ..judge import Finding, fd_check, judge_array, judge_cases, matches, modified_inputs
from ..kind import COMMON_LABELS, ClassSpec, PartKind, case_labels, new_prepared, part_rng, samples
from ..protocol import case_label as L
from .common import constructed

IN_Y, IN_Y_HAT, IN_IDX = "Y", "Y_hat", "idx_Y_hat"
OUT_J, OUT_DY_HAT, OUT_FD = "J", "dY_hat", "fd_Y_hat"

CLASSES = (ClassSpec("CrossEntropy", "losses", factory="initialize_loss", build="cross_entropy"),)


def draw(part, seed: int, ours, term):
    prepared = new_prepared(part, seed)
    rng = part_rng(seed, part.name)
    Y = np.eye(4)[rng.integers(0, 4, 6)]
    logits = rng.normal(0, 1, (6, 4))
    Y_hat = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    prepared.add_case({"label": "6 examples, 4 classes", "build": part.cls.build},
                      {IN_Y: Y, IN_Y_HAT: Y_hat, IN_IDX: samples(rng, Y_hat)})
    return prepared


def labels(prepared):
    return {*COMMON_LABELS, *case_labels(prepared, OUT_J, OUT_DY_HAT, OUT_FD)}


def run(task, inputs, calls, cls) -> None:
    """Shared by the losses: forward(Y, Ŷ), backward(Y, Ŷ), finite differences of forward in Ŷ."""
    loss = calls.run("construct", construct, cls, name=task["cases"][0]["build"])
    if loss is FAILED:
        return
    for c in range(len(task["cases"])):
        Y, Y_hat = inputs[L(c, IN_Y)], inputs[L(c, IN_Y_HAT)]
        Yc, Y_hatc = Y.copy(), Y_hat.copy()
        calls.run(L(c, OUT_J), loss.forward, Yc, Y_hatc)
        calls.note(L(c, OUT_J), modified=modified([("Y", Y, Yc), ("Y_hat", Y_hat, Y_hatc)]))
        if task["method"] == "backward":
            Yc, Y_hatc = Y.copy(), Y_hat.copy()
            calls.run(L(c, OUT_DY_HAT), loss.backward, Yc, Y_hatc)
            calls.note(L(c, OUT_DY_HAT), modified=modified([("Y", Y, Yc), ("Y_hat", Y_hat, Y_hatc)]))
            record_fd(calls, L(c, OUT_FD), lambda A: float(np.asarray(loss.forward(Y.copy(), A), dtype=float)),
                      Y_hat, inputs[L(c, IN_IDX)])


def scalar(J: np.ndarray) -> np.ndarray:
    return J.reshape(()) if J.size == 1 else J


def judge(prepared, result, ctx) -> Finding:
    part, inputs = prepared.part, prepared.inputs
    ours = ctx.ours.CrossEntropy()

    def judge_case(f: Finding, c: int, case: dict) -> None:
        Y, Y_hat = inputs[L(c, IN_Y)], inputs[L(c, IN_Y_HAT)]
        m, k = Y.shape
        J_right = np.array(ours.forward(Y, Y_hat))
        if constructed(f, result, "construct", "CrossEntropy(...)", ctx):
            if part.method == "forward":
                J = result.need(f, L(c, OUT_J), "CrossEntropy.forward", ctx)
                if J is not None:
                    per_example = -np.sum(Y * np.log(Y_hat), axis=1)
                    judge_array(f, "J", scalar(J), J_right, [("times-m", J_right * m), ("mean-over-classes",
                                J_right / k), ("sign", -J_right), ("per-example", per_example)])
            else:
                dY_hat = result.need(f, L(c, OUT_DY_HAT), "CrossEntropy.backward", ctx)
                if dY_hat is not None:
                    judge_array(f, "∂J/∂Ŷ", dY_hat, ours.backward(Y, Y_hat),
                                [("combined-gradient", (Y_hat - Y) / m), ("combined-gradient", Y_hat - Y)],
                                gradient=True, m=m)
                    J = result.array(L(c, OUT_J))
                    fd_check(f, result, inputs, [(L(c, OUT_DY_HAT), L(c, OUT_FD), L(c, IN_IDX))],
                             J is not None and matches(scalar(J), J_right), "CrossEntropy.forward")
            modified_inputs(f, result, [L(c, OUT_J), L(c, OUT_DY_HAT)], f"CrossEntropy.{part.method}")

    return judge_cases(prepared, judge_case)


KIND = PartKind(
    name="cross-entropy loss", order=60, classes=CLASSES, methods=("forward", "backward"), draw=draw, run=run,
    judge=judge, labels=labels,
    causes=("times-m", "mean-over-classes", "sign", "per-example", "combined-gradient", "input-modified",
            "not-derivative", "forward-wrong"))
