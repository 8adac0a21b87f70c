"""The CIFAR-10 network, its augmentation and its test-time augmentation, in PyTorch.

The network (``docs/cifar10-model.md`` explains every part and measures it):

    conv3×3(3→w₀), max-pool 2, BN, ReLU                       32×32 → 16×16
    [conv3×3, BN, ReLU] × (k−1), conv3×3, max-pool 2, BN, ReLU
        with widths w₁, then w₂                                → 8×8 → 4×4
    [conv3×3, BN, ReLU] × k with width w₃, global max-pool     → 1×1
    linear(w₃→10) → ×scale                                     logits
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class Scale(nn.Module):
    """Multiply by a constant: a fixed softmax temperature on the logits, which lets the
    linear layer's weights stay small under weight decay."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor}"


def block(c_in: int, c_out: int, pool: bool) -> list[nn.Module]:
    """conv → (max-pool) → BN → ReLU: pooling first makes BN and ReLU 4× cheaper."""
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), *([nn.MaxPool2d(2)] if pool else []),
            nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


def build_model(widths: list[int], convs_per_block: int) -> nn.Sequential:
    w0, *stages = widths
    layers = block(3, w0, pool=True)  # (w0, 16, 16)
    width = w0
    for i, w in enumerate(stages):
        last = i == len(stages) - 1
        for k in range(convs_per_block):
            layers += block(width, w, pool=k == convs_per_block - 1 and not last)  # → 8, 4
            width = w
    layers += [nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(width, 10, bias=False), Scale(0.125)]
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    return model


def sgd(model: nn.Module, lr: float, momentum: float, weight_decay: float) -> torch.optim.SGD:
    """SGD with Nesterov momentum; weight decay on conv/linear weights only (not BN)."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    return torch.optim.SGD([{"params": decay, "weight_decay": weight_decay},
                            {"params": no_decay, "weight_decay": 0.0}],
                           lr=lr, momentum=momentum, nesterov=momentum > 0)


# -- augmentation -----------------------------------------------------------------------


def augment(x: torch.Tensor, epoch: int, padding: int, flip: bool) -> torch.Tensor:
    """Random translation by up to ``padding`` pixels (a crop of the zero-padded image) and
    random horizontal flips, per image, on the batch's device with torch's generator."""
    B, C, H, W = x.shape
    if flip:
        mirror = torch.rand(B, device=x.device) < 0.5
        x = torch.where(mirror[:, None, None, None], x.flip(3), x)
    if padding:
        p = padding
        xp = F.pad(x, (p, p, p, p))
        dy = torch.randint(0, 2 * p + 1, (B,), device=x.device)
        dx = torch.randint(0, 2 * p + 1, (B,), device=x.device)
        rows = (dy[:, None] + torch.arange(H, device=x.device))[:, None, :, None].expand(B, C, H, W + 2 * p)
        xp = xp.gather(2, rows)
        cols = (dx[:, None] + torch.arange(W, device=x.device))[:, None, None, :].expand(B, C, H, W)
        x = xp.gather(3, cols).contiguous(memory_format=torch.channels_last)
    return x


def translate(x: torch.Tensor, d: int) -> torch.Tensor:
    """Images (n, c, h, w) moved |d| pixels down and right (d > 0) or up and left (d < 0);
    the uncovered border is 0, the mean colour after normalisation."""
    p, (H, W) = abs(d), x.shape[2:]
    return F.pad(x, (p, p, p, p))[:, :, p - d : p - d + H, p - d : p - d + W]


def flips(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Test-time augmentation level 1: the mean logits of the image and its mirror image."""
    return 0.5 * (model(x) + model(x.flip(3)))


def flips_and_shifts(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Level 2: half level 1, plus half the mean over both images moved one pixel
    diagonally each way (four more views: six forward passes in all)."""
    shifted = sum(model(translate(v, d)) for v in (x, x.flip(3)) for d in (1, -1))
    return 0.5 * flips(model, x) + 0.5 * shifted / 4


#: test-time augmentation by level: None (the image alone), flips, flips and shifts
TTA = {0: None, 1: flips, 2: flips_and_shifts}
