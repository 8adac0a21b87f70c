"""``L2``, the mean squared error of Y and Ŷ of shape (m, 1) (Spring 2020–23), in either of
the homework's two conventions:

    ½ (Spring 2021–23):  J = (1/(2m)) Σ (y − ŷ)²,   ∂J/∂Ŷ = (Ŷ − Y)/m
    no ½ (Spring 2020):  J = (1/m) Σ (y − ŷ)²,      ∂J/∂Ŷ = 2(Ŷ − Y)/m

A forward passes in either convention (the detail names the one it uses). The backward is
judged against the convention of the learner's own forward (the part runs that forward
too), so that a forward and a backward of different conventions fail the backward; where
the forward matches neither, against the convention of the term's handout, saying so.
The learner's process is the cross-entropy loss's (``cross_entropy.run``).
"""

from __future__ import annotations

import numpy as np

from ..judge import Finding, fd_check, judge_array, judge_cases, matches, modified_inputs
from ..kind import ClassSpec, PartKind, new_prepared, part_rng, samples
from ..protocol import case_label as L
from .common import constructed
from .cross_entropy import IN_IDX, IN_Y, IN_Y_HAT, OUT_DY_HAT, OUT_FD, OUT_J, labels, run, scalar

CLASSES = (ClassSpec("L2", "losses", factory="initialize_loss", build="l2", terms=("sp20", "sp21")),)

#: the two conventions: (half, how J reads, where it comes from, how ∂J/∂Ŷ reads)
CONVENTIONS = {
    True: ("(1/(2m)) Σ (y − ŷ)²", "the Spring 2021–23 convention", "(Ŷ − Y)/m"),
    False: ("(1/m) Σ (y − ŷ)²", "the Spring 2020 convention", "2(Ŷ − Y)/m"),
}


def draw(part, seed: int, ours, term):
    prepared = new_prepared(part, seed)
    rng = part_rng(seed, part.name)
    Y = rng.normal(0, 1, (7, 1))
    Y_hat = Y + rng.normal(0, 0.8, Y.shape)
    prepared.add_case({"label": "7 examples, one output", "build": part.cls.build},
                      {IN_Y: Y, IN_Y_HAT: Y_hat, IN_IDX: samples(rng, Y_hat)})
    prepared.expected["half"] = term is None or term.name != "sp20"  # the handout's convention, if J fits neither
    prepared.expected["term"] = term.name if term is not None else None
    return prepared


def judge(prepared, result, ctx) -> Finding:
    part = prepared.part

    def judge_case(f: Finding, c: int, case: dict) -> None:
        if constructed(f, result, "construct", "L2(...)", ctx):
            if part.method == "forward":
                _judge_forward(f, prepared, result, c, ctx)
            else:
                _judge_backward(f, prepared, result, c, ctx)
            modified_inputs(f, result, [L(c, OUT_J), L(c, OUT_DY_HAT)], f"L2.{part.method}")

    return judge_cases(prepared, judge_case)


def convention_of(J: np.ndarray | None, Y, Y_hat, ctx) -> bool | None:
    """True (½) or False (no ½) for the convention whose J the learner's forward gave; None for neither."""
    if J is None:
        return None
    return next((half for half in CONVENTIONS if matches(scalar(J), np.array(ctx.ours.L2(half).forward(Y, Y_hat)))),
                None)


def _judge_forward(f, prepared, result, c, ctx) -> None:
    Y, Y_hat = prepared.inputs[L(c, IN_Y)], prepared.inputs[L(c, IN_Y_HAT)]
    J = result.need(f, L(c, OUT_J), "L2.forward", ctx)
    if J is None:
        return
    half = convention_of(J, Y, Y_hat, ctx)
    if half is not None:
        f.detail.append(_note(half, prepared.expected["term"]))
        judge_array(f, "J", scalar(J), np.array(ctx.ours.L2(half).forward(Y, Y_hat)))
        return
    half = prepared.expected["half"]
    m, formula = Y.shape[0], CONVENTIONS[half][0]
    squared = (Y - Y_hat) ** 2  # (m, 1)
    norm, absolute = np.sqrt(np.sum(squared)), np.sum(np.abs(Y - Y_hat))
    alternatives = [("per-example", per) for per in (squared, squared / 2, squared[:, 0], squared[:, 0] / 2)]
    alternatives += [("times-m", np.array(ctx.ours.L2(h).forward(Y, Y_hat) * m)) for h in CONVENTIONS]
    alternatives += [("l2-not-squared", np.array(v / d)) for v in (norm, absolute) for d in (1, m, 2 * m)]
    judge_array(f, "J", scalar(J), np.array(ctx.ours.L2(half).forward(Y, Y_hat)), alternatives, m=m,
                fields={"formula": formula})
    f.detail.append(f"your L2.forward matches neither convention; it is compared with J = {formula} "
                    f"({CONVENTIONS[half][1]}, your term's)")


def _note(half: bool, term: str | None) -> str:
    formula, source, _ = CONVENTIONS[half]
    note = f"your L2 uses J = {formula} ({source})"
    if term is not None and half != (term != "sp20"):
        note += f"; the handout of your term ({term}) uses J = {CONVENTIONS[not half][0]}: both are accepted here"
    return note


def _judge_backward(f, prepared, result, c, ctx) -> None:
    Y, Y_hat = prepared.inputs[L(c, IN_Y)], prepared.inputs[L(c, IN_Y_HAT)]
    dY_hat = result.need(f, L(c, OUT_DY_HAT), "L2.backward", ctx)
    if dY_hat is None:
        return
    own = convention_of(result.array(L(c, OUT_J)), Y, Y_hat, ctx)
    half = prepared.expected["half"] if own is None else own
    formula, source, gradient = CONVENTIONS[half]
    if own is None:
        basis = f"J = {formula} ({source}, your term's: your L2.forward matches neither convention, see its part)"
    else:
        basis = f"your forward's J = {formula} ({source})"
    f.detail.append(f"judged against ∂J/∂Ŷ = {gradient}, the gradient of {basis}")
    right = ctx.ours.L2(half).backward(Y, Y_hat)
    other = ctx.ours.L2(not half).backward(Y, Y_hat)
    fields = {"factor": "2 ×" if half else "½ ×", "basis": basis, "gradient": gradient,
              "other": f"J = {CONVENTIONS[not half][0]}, ∂J/∂Ŷ = {CONVENTIONS[not half][2]}"}
    judge_array(f, "∂J/∂Ŷ", dY_hat, right, [("l2-other-convention", other)], gradient=True, m=Y.shape[0],
                fields=fields)
    fd_check(f, result, prepared.inputs, [(L(c, OUT_DY_HAT), L(c, OUT_FD), L(c, IN_IDX))], own is not None,
             "L2.forward")


KIND = PartKind(
    name="L2 loss", order=65, classes=CLASSES, methods=("forward", "backward"), draw=draw, run=run, judge=judge,
    labels=labels,
    causes=("per-example", "times-m", "l2-not-squared", "l2-other-convention", "sign", "over-m", "input-modified",
            "not-derivative", "forward-wrong"))
