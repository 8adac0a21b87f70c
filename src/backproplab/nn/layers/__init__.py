"""The layers of the NumPy library, one per file, and the ``initialize_layer`` factory."""

from __future__ import annotations

from .activation import ActivationLayer
from .base import Layer
from .batch_norm import BatchNorm, BatchNorm1D
from .conv2d import Conv2D
from .dropout import Dropout
from .elman import Elman
from .flatten import Flatten
from .fully_connected import FullyConnected
from .pool2d import Pool2D

LAYERS: dict[str, type[Layer]] = {
    "fully_connected": FullyConnected,
    "conv2d": Conv2D,
    "pool2d": Pool2D,
    "flatten": Flatten,
    "dropout": Dropout,
    "batch_norm": BatchNorm,
    "activation": ActivationLayer,
    # layers that other terms of the homework have: Elman (Spring 2020), BatchNorm1D (Spring 2025)
    "elman": Elman,
    "batchnorm1d": BatchNorm1D,
}


def initialize_layer(name: str, **kwargs) -> Layer:
    """Build a layer from its spec, e.g. ``initialize_layer("fully_connected", n_out=16,
    activation="relu")``. Unknown names raise KeyError, unknown arguments ValueError."""
    if name not in LAYERS:
        raise KeyError(f"unknown layer {name!r}; expected one of {sorted(LAYERS)}")
    try:
        return LAYERS[name](**kwargs)
    except TypeError as err:
        raise ValueError(f"bad arguments for layer {name!r}: {err}") from None


__all__ = ["Layer", "ActivationLayer", "BatchNorm", "BatchNorm1D", "FullyConnected", "Elman", "Conv2D", "Pool2D",
           "Flatten", "Dropout", "LAYERS", "initialize_layer"]
