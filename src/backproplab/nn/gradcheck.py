"""Finite-difference gradient checking, and the table ``backproplab gradcheck`` prints.

``check_gradients`` compares an analytic gradient with the two-sided difference

    ∂L/∂x_i ≈ Σ (f(x + h e_i) − f(x − h e_i)) ⊙ dLdf / (2h),

where f is a layer's forward pass and dLdf a fixed upstream gradient (so L = ⟨f, dLdf⟩),
and returns the relative error ‖num − ana‖ / ‖num + ana‖ (0 when both are 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

TOLERANCE = 1e-7


def numerical_gradient(
    fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dLdf: np.ndarray, h: float = 1e-6
) -> np.ndarray:
    """The two-sided finite-difference gradient of L = ⟨fn(x), dLdf⟩ with respect to x."""
    x = np.array(x, dtype=np.float64)  # a private copy we perturb in place
    grad = np.zeros_like(x)
    flat_x, flat_g = x.reshape(-1), grad.reshape(-1)
    for i in range(flat_x.size):
        original = flat_x[i]
        flat_x[i] = original + h
        f_plus = np.sum(fn(x.copy()) * dLdf)
        flat_x[i] = original - h
        f_minus = np.sum(fn(x.copy()) * dLdf)
        flat_x[i] = original
        flat_g[i] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(num: np.ndarray, ana: np.ndarray) -> float:
    """‖num − ana‖ / ‖num + ana‖, defined as 0 when both gradients are exactly 0."""
    denom = np.linalg.norm(num + ana)
    diff = np.linalg.norm(num - ana)
    if denom == 0:
        return 0.0 if diff == 0 else float("inf")
    return float(diff / denom)


def check_gradients(
    fn: Callable[[np.ndarray], np.ndarray],
    grad: np.ndarray,
    x: np.ndarray,
    dLdf: np.ndarray,
    h: float = 1e-6,
) -> float:
    """Relative error between the analytic ``grad`` and finite differences of ``fn`` at ``x``."""
    if np.shape(grad) != np.shape(x):
        raise ValueError(f"grad must have the shape of x {np.shape(x)}; got {np.shape(grad)}")
    return relative_error(numerical_gradient(fn, x, dLdf, h), np.asarray(grad, dtype=np.float64))


# -- the table of `backproplab gradcheck` ----------------------------------------------


@dataclass
class GradcheckRow:
    component: str  # e.g. "FullyConnected(relu)"
    wrt: str  # "X", a parameter ("W", "U", "b", "gamma", "beta"), "Z" or "Y_hat"
    shape: tuple[int, ...]
    error: float

    @property
    def passed(self) -> bool:
        return bool(self.error < TOLERANCE)


def _layer_rows(name: str, layer, X: np.ndarray, rng: np.random.Generator) -> list[GradcheckRow]:
    Y = layer.forward(X)
    dLdY = rng.standard_normal(Y.shape)
    dX = layer.backward(dLdY)
    rows = [GradcheckRow(name, "X", X.shape, check_gradients(layer.forward, dX, X, dLdY))]
    for p in sorted(layer.parameters):
        value, grad = layer.parameters[p].copy(), layer.gradients[p]
        error = check_gradients(layer.forward_with_param(p, X), grad, value, dLdY)
        layer.parameters[p] = value
        rows.append(GradcheckRow(name, p, value.shape, error))
    return rows


def gradient_check_table(seed: int = 0) -> list[GradcheckRow]:
    """Check every activation, every loss and every layer in float64 on random inputs."""
    rng = np.random.default_rng(seed)
    return [*_activation_rows(rng), *_loss_rows(rng), *_dense_rows(rng), *_image_rows(rng),
            *_normalisation_rows(rng), *_dropout_rows(rng, seed)]


def _activation_rows(rng: np.random.Generator) -> list[GradcheckRow]:
    from .activations import ACTIVATIONS

    rows = []
    for name in ["linear", "sigmoid", "tanh", "relu", "arctan", "softmax"]:
        act = ACTIVATIONS[name]()
        Z = rng.standard_normal((4, 5))
        dY = rng.standard_normal(Z.shape)
        rows.append(GradcheckRow(f"{type(act).__name__}", "Z", Z.shape,
                                 check_gradients(act.forward, act.backward(Z, dY), Z, dY)))
    return rows


def _loss_rows(rng: np.random.Generator) -> list[GradcheckRow]:
    from .losses import L2, CrossEntropy

    def row(name, loss, Y, Y_hat):
        return GradcheckRow(name, "Y_hat", Y_hat.shape,
                            check_gradients(lambda P: loss.forward(Y, P), loss.backward(Y, Y_hat), Y_hat, 1.0))

    rows = [row("CrossEntropy", CrossEntropy(), np.eye(5)[rng.integers(0, 5, size=4)],
                rng.dirichlet(np.ones(5), size=4))]
    Y, Y_hat = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))  # L2's targets are any reals
    return rows + [row("L2(half)", L2(half=True), Y, Y_hat), row("L2(mean)", L2(half=False), Y, Y_hat)]


def _dense_rows(rng: np.random.Generator) -> list[GradcheckRow]:
    from .layers import Elman, FullyConnected

    rows = []
    for act in ["linear", "relu", "tanh", "softmax"]:
        layer = FullyConnected(3, activation=act, rng=rng)
        rows += _layer_rows(f"FullyConnected({act})", layer, rng.standard_normal((4, 6)), rng)
    for act in ["tanh", "relu"]:
        layer = Elman(3, activation=act, rng=rng)
        rows += _layer_rows(f"Elman({act}, 3 time steps)", layer, rng.standard_normal((4, 5, 3)), rng)  # (m, n_in, T)
    return rows


def _image_rows(rng: np.random.Generator) -> list[GradcheckRow]:
    from .layers import Conv2D, Flatten, Pool2D

    rows = []
    X_img = rng.standard_normal((2, 7, 6, 3))
    for stride, pad in [(1, "same"), (2, "valid"), (2, 1)]:
        layer = Conv2D(4, kernel_shape=(3, 2), activation="relu", stride=stride, pad=pad, rng=rng)
        rows += _layer_rows(f"Conv2D(3x2, stride {stride}, pad {pad})", layer, X_img, rng)
    for mode in ["max", "average"]:
        for stride, pad in [(None, 0), (1, 1)]:
            layer = Pool2D((2, 3), mode=mode, stride=stride, pad=pad)
            rows += _layer_rows(f"Pool2D({mode}, 2x3, stride {stride or 'kernel'}, pad {pad})", layer, X_img, rng)
    return rows + _layer_rows("Flatten", Flatten(), X_img, rng)


def _normalisation_rows(rng: np.random.Generator) -> list[GradcheckRow]:
    from .layers import BatchNorm, BatchNorm1D

    rows = []
    for name, layer, X in [("BatchNorm(2-D input)", BatchNorm(), rng.standard_normal((5, 4))),
                           ("BatchNorm(4-D input)", BatchNorm(), rng.standard_normal((2, 7, 6, 3))),
                           ("BatchNorm1D(train)", BatchNorm1D(), rng.standard_normal((5, 4)))]:
        layer.forward(X)
        layer.parameters["gamma"] = rng.standard_normal(layer.parameters["gamma"].shape)
        rows += _layer_rows(name, layer, X, rng)
    return rows


def _dropout_rows(rng: np.random.Generator, seed: int) -> list[GradcheckRow]:
    from .layers import Dropout

    dropout = Dropout(0.3)

    def dropout_forward(X: np.ndarray) -> np.ndarray:
        dropout.rng = np.random.default_rng(seed)  # the same mask on every call
        return dropout.forward(X)

    X = rng.standard_normal((4, 6))
    dY = rng.standard_normal(dropout_forward(X).shape)
    return [GradcheckRow("Dropout(p=0.3)", "X", X.shape, check_gradients(dropout_forward, dropout.backward(dY), X, dY))]


def format_table(rows: list[GradcheckRow]) -> str:
    """A fixed-width text table, one line per (component, gradient)."""
    header = f"{'component':<44} {'wrt':<6} {'shape':<16} {'rel. error':>11}  result"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r.component:<44} {r.wrt:<6} {str(r.shape):<16} {r.error:>11.2e}  {'PASS' if r.passed else 'FAIL'}"
        )
    n_fail = sum(not r.passed for r in rows)
    lines.append(f"{len(rows) - n_fail}/{len(rows)} gradients pass at relative error < {TOLERANCE:g} (float64)")
    return "\n".join(lines)
