"""Weight initialisers.

``initialize_weights(name, activation)`` returns ``init(shape, rng, dtype)``, a
function that draws a weight array from the ``numpy.random.Generator`` it is given —
never from numpy's global random state, so a model's seed fixes every draw.

Fan-in and fan-out follow PyTorch: for a dense weight (n_in, n_out) they are n_in and
n_out; for a convolution kernel (kh, kw, c_in, c_out) they are kh·kw·c_in and
kh·kw·c_out.

| name           | distribution                                        |
|----------------|-----------------------------------------------------|
| zeros, ones    | constant 0 or 1                                     |
| uniform        | U(−a, a), a = 1/√fan_in (LeCun)                      |
| normal         | N(0, σ²), σ = 1/√fan_in (LeCun)                      |
| xavier_uniform | U(−a, a), a = gain·√(6/(fan_in+fan_out))             |
| xavier_normal  | N(0, σ²), σ = gain·√(2/(fan_in+fan_out))             |
| he_uniform     | U(−a, a), a = √2·√(3/fan_in)                         |
| he_normal      | N(0, σ²), σ = √2/√fan_in                              |

``gain`` is the activation's (1 for linear/sigmoid/softmax, 5/3 for tanh, √2 for
ReLU), as ``torch.nn.init.calculate_gain`` gives. He initialisation is derived for
ReLU, so it always uses the ReLU gain √2.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .activations import initialize_activation

WeightInit = Callable[..., np.ndarray]


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a dense (n_in, n_out) or conv (kh, kw, c_in, c_out) weight."""
    if len(shape) < 2:
        raise ValueError(f"a weight needs at least 2 dimensions; got shape {shape}")
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def zeros(shape, rng, gain):
    return np.zeros(shape)


def ones(shape, rng, gain):
    return np.ones(shape)


def uniform(shape, rng, gain):
    """LeCun uniform: U(−a, a), a = 1/√fan_in."""
    fan_in, _ = fans(shape)
    a = 1 / np.sqrt(fan_in)
    return rng.uniform(-a, a, size=shape)


def normal(shape, rng, gain):
    """LeCun normal: N(0, σ²), σ = 1/√fan_in."""
    fan_in, _ = fans(shape)
    return rng.normal(0, 1 / np.sqrt(fan_in), size=shape)


def xavier_uniform(shape, rng, gain):
    fan_in, fan_out = fans(shape)
    a = gain * np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=shape)


def xavier_normal(shape, rng, gain):
    fan_in, fan_out = fans(shape)
    return rng.normal(0, gain * np.sqrt(2 / (fan_in + fan_out)), size=shape)


def he_uniform(shape, rng, gain):
    """He (Kaiming) uniform, always with ReLU's gain √2: a = √2 · √(3/fan_in)."""
    fan_in, _ = fans(shape)
    a = np.sqrt(2) * np.sqrt(3 / fan_in)
    return rng.uniform(-a, a, size=shape)


def he_normal(shape, rng, gain):
    fan_in, _ = fans(shape)
    return rng.normal(0, np.sqrt(2 / fan_in), size=shape)


INITIALISERS = {f.__name__: f for f in (zeros, ones, uniform, normal, xavier_uniform, xavier_normal, he_uniform,
                                        he_normal)}


def initialize_weights(name: str, activation: str = "linear") -> WeightInit:
    """Return ``init(shape, rng=None, dtype=np.float64) -> ndarray`` for the named scheme."""
    if name not in INITIALISERS:
        raise KeyError(f"unknown weight initialiser {name!r}; expected one of {sorted(INITIALISERS)}")
    gain = initialize_activation(activation).gain
    draw = INITIALISERS[name]

    def init(shape, rng: np.random.Generator | None = None, dtype=np.float64) -> np.ndarray:
        rng = np.random.default_rng() if rng is None else rng
        return draw(tuple(shape), rng, gain).astype(dtype, copy=False)

    return init
