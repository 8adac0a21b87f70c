"""The Fashion-MNIST MLP in PyTorch: the twin of the NumPy MLP (``fashion.numpy_layers``),
initialised the same way (He-uniform weights, zero biases), and its trainer."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from ..data import fashion_mnist
from ..engines.precision import autocast_dtype
from ..engines.torch_engine import Split, TorchTrainer
from ..engines.torch_setup import describe, place_model, start_torch


def torch_mlp(hidden: list[int], dropout: float, batch_norm: bool, n_in: int, n_classes: int) -> nn.Sequential:
    layers, width = [], n_in
    for h in hidden:
        layers += [nn.Linear(width, h), *([nn.BatchNorm1d(h)] if batch_norm else []), nn.ReLU(), nn.Dropout(dropout)]
        width = h
    layers.append(nn.Linear(width, n_classes))
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return model


def mirror(x: torch.Tensor) -> torch.Tensor:
    """Images (n, 784) or (n, 28, 28, 1) mirrored left-right."""
    return x.reshape(len(x), 28, 28, -1).flip(2).reshape(x.shape)


def flip_half(x: torch.Tensor, idx: torch.Tensor, epoch: int) -> torch.Tensor:
    """Each image mirrored with probability 1/2, from torch's generator."""
    return torch.where((torch.rand(len(x), device=x.device) < 0.5)[:, None], mirror(x), x)


def image_and_mirror(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Log of the mean class probabilities of the image and its mirror image (so that the
    cross-entropy and the arg-max work on them as on logits)."""
    return torch.log((model(x).softmax(1) + model(mirror(x)).softmax(1)) / 2)


def torch_trainer(c, arrays: dict[str, tuple[np.ndarray, np.ndarray]], schedule, run=None
                  ) -> tuple[TorchTrainer, dict]:
    """(trainer, facts for config.json) of a FashionConfig, on standardised input arrays."""
    device, dist, rng = start_torch(c, run)
    dist.check_batch(c.batch_size)
    data = {s: Split(torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)) for s, (X, y) in arrays.items()}
    model = torch_mlp(c.hidden, c.dropout, c.batch_norm, data["train"].X.shape[1], len(fashion_mnist.CLASSES))
    model = place_model(model, device, dist, c.seed)
    if c.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=c.lr, momentum=c.momentum, nesterov=c.momentum > 0,
                                    weight_decay=c.weight_decay)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
    trainer = TorchTrainer(model, optimizer, schedule, data, c.batch_size, rng, label_smoothing=c.label_smoothing,
                           mixup=c.mixup, mixup_epochs=c.mixup_epochs(),
                           augment=flip_half if c.flip else None, eval_views=image_and_mirror if c.tta else None,
                           autocast_dtype=autocast_dtype(c.precision), dist=dist)
    return trainer, describe(device, dist)
