"""Optimizers: SGD with momentum and Adam, with global gradient-norm clipping.

An optimizer receives the parameters with their gradients as (key, θ, g) triples and
updates each θ in place, keeping its own state per key. Its learning rate ``lr`` is
either a number (constant) or a schedule η(t) (``schedulers.py``): one argument, so a
rate and a schedule can never disagree. The update rules are PyTorch's, so the tests
run them step by step beside ``torch.optim.SGD`` and ``torch.optim.Adam``.

``state_dict()`` / ``load_state_dict()`` give the per-parameter state as plain arrays
and numbers, which a NumPy checkpoint stores, so a resumed run steps exactly as an
uninterrupted one.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable

import numpy as np

from .schedulers import initialize_scheduler

Param = tuple[str, np.ndarray, np.ndarray]  # (key, θ, ∂L/∂θ)


class Optimizer:
    def __init__(self, lr: float | Callable[[float], float] = 0.01, clip_norm: float | None = None,
                 weight_decay: float = 0.0) -> None:
        self.lr_scheduler = lr if callable(lr) else initialize_scheduler("constant", lr)
        if clip_norm is not None and not clip_norm > 0:
            raise ValueError(f"clip_norm must be positive or None; got {clip_norm!r}")
        if not (math.isfinite(weight_decay) and weight_decay >= 0):
            raise ValueError(f"weight_decay must be >= 0; got {weight_decay!r}")
        self.clip_norm = clip_norm
        self.weight_decay = weight_decay
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self.lr = self.lr_scheduler(0.0)  # the rate of the most recent step

    def step(self, params: Iterable[Param], t: float = 0.0) -> None:
        """Apply one update to every parameter, at training time t (in epochs).

        Refuses (FloatingPointError) to apply a non-finite gradient. With ``clip_norm``
        all gradients are scaled together so that their joint L2 norm is at most
        clip_norm (``torch.nn.utils.clip_grad_norm_``).
        """
        params = list(params)
        sq_norm = sum(float(np.vdot(g, g)) for _, _, g in params)
        if not math.isfinite(sq_norm):
            bad = [k for k, _, g in params if not np.all(np.isfinite(g))]
            raise FloatingPointError(
                f"non-finite gradient for {bad} at epoch {t:.2f}: training diverged; "
                "lower the learning rate or set clip_norm"
            )
        scale = 1.0
        if self.clip_norm is not None and math.sqrt(sq_norm) > self.clip_norm:
            scale = self.clip_norm / (math.sqrt(sq_norm) + 1e-6)
        self.lr = self.lr_scheduler(t)
        for key, theta, grad in params:
            g = grad * grad.dtype.type(scale) if scale != 1.0 else grad
            self._update(self.state.setdefault(key, {}), theta, g, self.lr)

    def _update(self, state: dict, theta: np.ndarray, g: np.ndarray, lr: float) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray | int | float]:
        """Every per-parameter state as ``"<key>/<slot>"`` → array or number, and the last rate."""
        out: dict = {f"{key}/{slot}": v for key, slots in self.state.items() for slot, v in slots.items()}
        out["lr"] = self.lr
        return out

    def load_state_dict(self, flat: dict) -> None:
        self.state = {}
        for name, value in flat.items():
            if name == "lr":
                self.lr = float(value)
                continue
            key, slot = name.rsplit("/", 1)
            self.state.setdefault(key, {})[slot] = value.copy() if isinstance(value, np.ndarray) else value


class SGD(Optimizer):
    """v ← μ v + (g + λθ),  θ ← θ − η v   (v starts at the first gradient; as torch.optim.SGD).

    With ``nesterov`` the step uses g + λθ + μ v instead of v.
    """

    def __init__(self, lr: float | Callable[[float], float] = 0.01, momentum: float = 0.0, clip_norm=None,
                 weight_decay: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(lr, clip_norm, weight_decay)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1); got {momentum!r}")
        if nesterov and momentum == 0:
            raise ValueError("nesterov momentum needs momentum > 0")
        self.momentum = momentum
        self.nesterov = nesterov

    def _update(self, state, theta, g, lr):
        real = theta.dtype.type  # every constant in θ's precision: a float32 θ stays float32
        d = g + real(self.weight_decay) * theta if self.weight_decay else g.copy()  # g + λθ, ours to overwrite
        if self.momentum:
            if "v" not in state:
                state["v"] = d.copy()
            else:
                state["v"] *= real(self.momentum)
                state["v"] += d
            if self.nesterov:
                d += real(self.momentum) * state["v"]
            else:
                d[...] = state["v"]
        d *= real(lr)
        theta -= d  # the step, without a temporary for η·d


class Adam(Optimizer):
    """m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  θ ← θ − η m̂ / (√v̂ + ε)

    with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ) and g including the L2 term λθ (torch.optim.Adam).
    """

    def __init__(self, lr: float | Callable[[float], float] = 0.001, betas=(0.9, 0.999), eps: float = 1e-8,
                 clip_norm=None, weight_decay: float = 0.0) -> None:
        super().__init__(lr, clip_norm, weight_decay)
        if not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Adam betas must lie in [0, 1); got {betas!r}")
        self.betas = tuple(betas)
        self.eps = eps

    def _update(self, state, theta, g, lr):
        b1, b2 = self.betas
        dtype = theta.dtype.type
        if self.weight_decay:
            g = g + theta * dtype(self.weight_decay)
        if "m" not in state:
            state.update(m=np.zeros_like(theta), v=np.zeros_like(theta), t=0)
        state["t"] += 1
        m, v, t = state["m"], state["v"], state["t"]
        m *= dtype(b1)
        m += dtype(1 - b1) * g
        v *= dtype(b2)
        v += dtype(1 - b2) * (g * g)
        denom = np.sqrt(v) / dtype(math.sqrt(1 - b2**t)) + dtype(self.eps)
        theta -= dtype(lr / (1 - b1**t)) * (m / denom)


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def initialize_optimizer(name: str, lr: float, lr_scheduler: str = "constant", momentum: float = 0.0,
                         clip_norm: float | None = None, weight_decay: float = 0.0, **schedule_kwargs):
    """Build an optimizer and its schedule by name, as in the homework, e.g.
    ``initialize_optimizer("sgd", lr=0.1, momentum=0.9, lr_scheduler="exponential", decay=0.5,
    stage_length=10, staircase=True)``."""
    if name not in OPTIMIZERS:
        raise KeyError(f"unknown optimizer {name!r}; expected one of {sorted(OPTIMIZERS)}")
    schedule = initialize_scheduler(lr_scheduler, lr, **schedule_kwargs)
    if name == "sgd":
        return SGD(schedule, momentum=momentum, clip_norm=clip_norm, weight_decay=weight_decay)
    if momentum:
        raise ValueError("momentum applies to SGD; Adam uses betas")
    return Adam(schedule, clip_norm=clip_norm, weight_decay=weight_decay)
