"""The CIFAR-10 network, its optimizer, augmentation and test-time augmentation, in PyTorch.

The design follows the published fast-CIFAR work (``docs/cifar10-model.md`` cites it and
measures every part on a 2-core CPU); the code is ours:

    whiten: conv k×k, stride s (3 → 6k²), frozen to the patch-whitening transform, GELU
    for each width w in widths:
        conv3×3 → max-pool 2 → BatchNorm → GELU → [conv3×3 → BatchNorm → GELU] × (convs − 1)
    global max-pool → linear (w → 10, no bias) → × scale                         logits

With stride s = 2 the whitening layer halves the resolution at once (32 → 16), so no
layer ever works on a 32×32 map: the stages run at 16, 8, 4 and 2 pixels.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU}


class Scale(nn.Module):
    """Multiply by a constant: a fixed softmax temperature on the logits."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor:g}"


class BatchNorm(nn.BatchNorm2d):
    """Batch normalisation with a learned shift only: the scale γ stays 1 (the next
    convolution can scale), and a tiny ε."""

    def __init__(self, channels: int, momentum: float) -> None:
        super().__init__(channels, eps=1e-12, momentum=momentum)
        self.weight.requires_grad = False


class Conv(nn.Conv2d):
    """A 3×3 convolution without bias, initialised as an identity on its first input
    channels (a Dirac kernel) plus PyTorch's default noise elsewhere: an implicit residual."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(c_in, c_out, 3, padding="same", bias=False)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        with torch.no_grad():
            nn.init.dirac_(self.weight[: min(self.in_channels, self.out_channels)])


class Whiten(nn.Conv2d):
    """The first layer: k×k patches projected onto the eigenvectors of their covariance,
    scaled to unit variance, each as a +/− pair (so the GELU after it keeps both signs).
    Its weights are fixed from the training images (``fit``); only its bias trains, and
    only for the first few epochs."""

    def __init__(self, kernel: int, stride: int) -> None:
        super().__init__(3, 2 * 3 * kernel * kernel, kernel, stride=stride, padding=0, bias=True)
        self.weight.requires_grad = False

    @torch.no_grad()
    def fit_whitening(self, images: torch.Tensor, eps: float = 5e-4) -> None:
        """images (n, 3, H, W), normalised: the whitening transform of their k×k patches."""
        k, s = self.kernel_size[0], self.stride[0]
        patches = images.float().unfold(2, k, s).unfold(3, k, s)  # (n, 3, h', w', k, k)
        patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, 3 * k * k)  # (n·h'·w', 3k²)
        covariance = patches.T @ patches / len(patches)
        eigenvalues, eigenvectors = torch.linalg.eigh(covariance)  # ascending
        filters = (eigenvectors.T / torch.sqrt(eigenvalues.clamp(min=0) + eps)[:, None]).reshape(-1, 3, k, k)
        self.weight.copy_(torch.cat([filters, -filters]).flip(0).to(self.weight.dtype))
        self.bias.zero_()


def group(c_in: int, c_out: int, convs: int, activation: str, bn_momentum: float) -> list[nn.Module]:
    """conv → max-pool → BN → act, then (conv → BN → act) × (convs − 1): pooling right
    after the first convolution makes everything after it 4× cheaper."""
    act = ACTIVATIONS[activation]
    layers = [Conv(c_in, c_out), nn.MaxPool2d(2), BatchNorm(c_out, bn_momentum), act()]
    for _ in range(convs - 1):
        layers += [Conv(c_out, c_out), BatchNorm(c_out, bn_momentum), act()]
    return layers


def build_model(widths: list[int], convs: int, whiten_kernel: int, whiten_stride: int, activation: str,
                scale: float, bn_momentum: float) -> nn.Sequential:
    whiten = Whiten(whiten_kernel, whiten_stride)
    layers: list[nn.Module] = [whiten, ACTIVATIONS[activation]()]
    width = whiten.out_channels
    for w in widths:
        layers += group(width, w, convs, activation, bn_momentum)
        width = w
    layers += [nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(width, 10, bias=False), Scale(scale)]
    return nn.Sequential(*layers)


def optimizer(model: nn.Sequential, lr: float, momentum: float, weight_decay: float, bias_lr_scale: float,
              whiten_bias_epochs: float) -> torch.optim.SGD:
    """SGD with Nesterov momentum in three groups: the weights; the BatchNorm shifts, which
    learn ``bias_lr_scale`` times faster (with weight decay scaled down by as much, so that
    the decay per step is the same); and the whitening bias, trained like the shifts until
    ``whiten_bias_epochs`` and frozen after (``torch_engine.set_lr`` reads "until")."""
    whiten_bias = model[0].bias
    weights = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    shifts = [p for p in model.parameters() if p.requires_grad and p.ndim == 1 and p is not whiten_bias]
    bias_decay = weight_decay / bias_lr_scale
    return torch.optim.SGD([
        {"params": weights, "weight_decay": weight_decay},
        {"params": shifts, "weight_decay": bias_decay, "lr_scale": bias_lr_scale},
        {"params": [whiten_bias], "weight_decay": bias_decay, "lr_scale": bias_lr_scale, "until": whiten_bias_epochs},
    ], lr=lr, momentum=momentum, nesterov=momentum > 0)


class Lookahead:
    """An exponential moving average of the weights that the network is pulled back to every
    ``every`` steps (Lookahead), from epoch ``start`` on, with a decay that grows as the run
    ends: decay = base^every · (step / total)^3. Wraps the optimizer (``step``,
    ``zero_grad``, ``state_dict``), so the trainer and the checkpoint need nothing new."""

    def __init__(self, base: torch.optim.Optimizer, model: nn.Module, total_steps: int, start_step: int,
                 every: int = 5, decay_base: float = 0.95) -> None:
        self.base, self.model = base, model
        self.total, self.start, self.every, self.decay_base = total_steps, start_step, every, decay_base
        self.steps = 0
        self.average = {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}

    @property
    def param_groups(self):
        return self.base.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.base.zero_grad(set_to_none=set_to_none)

    @torch.no_grad()
    def step(self) -> None:
        self.base.step()
        self.steps += 1
        if self.steps >= self.start and (self.steps % self.every == 0 or self.steps == self.total):
            decay = self.decay_base ** self.every * (min(self.steps, self.total) / self.total) ** 3
            for k, v in self.model.state_dict().items():
                if k in self.average:
                    self.average[k].lerp_(v, 1 - decay)
                    v.copy_(self.average[k])

    def state_dict(self) -> dict:
        return {"base": self.base.state_dict(), "steps": self.steps, "average": self.average}

    def load_state_dict(self, state: dict) -> None:
        self.base.load_state_dict(state["base"])
        self.steps = state["steps"]
        self.average = {k: v.clone() for k, v in state["average"].items()}


# -- augmentation -----------------------------------------------------------------------


def flip_mask(n: int, seed: int) -> torch.Tensor:
    """Which images start mirrored (a coin per image, seeded)."""
    return torch.rand(n, generator=torch.Generator().manual_seed(seed)) < 0.5


def augment(x: torch.Tensor, idx: torch.Tensor, epoch: int, padding: int, flips: torch.Tensor | None) -> torch.Tensor:
    """Alternating flips and random translation of a batch (images ``idx`` of the split).

    Flips: image i is mirrored in even epochs if ``flips[i]``, and in odd epochs if not —
    so every image is seen both ways every two epochs (better than a coin each time).
    Translation: by up to ``padding`` pixels each way, a crop of the reflect-padded image,
    drawn per image from torch's generator.

    Both are one gather of whole pixels (all C channels, contiguous in channels_last
    memory) from the batch itself: crop row i of the padded image is row reflect(dy + i − p)
    of the image, and a mirrored image's column j is the unmirrored one's column W − 1 − j
    (reflect padding is symmetric, so mirroring and padding commute).
    """
    B, C, H, W = x.shape
    mirror = None if flips is None else flips.to(x.device)[idx] ^ bool(epoch % 2)  # (B,)
    if not padding:
        return x if mirror is None else torch.where(mirror[:, None, None, None], x.flip(3), x)
    p = padding
    dy = torch.randint(0, 2 * p + 1, (B,), device=x.device)
    dx = torch.randint(0, 2 * p + 1, (B,), device=x.device)
    rows = reflect(dy[:, None] - p + torch.arange(H, device=x.device), H)  # (B, H)
    cols = dx[:, None] - p + torch.arange(W, device=x.device)  # (B, W), in the padded frame − p
    if mirror is not None:
        cols = torch.where(mirror[:, None], W - 1 - cols, cols)
    cols = reflect(cols, W)
    source = (rows[:, :, None] * W + cols[:, None, :]).view(B, H * W, 1)  # (B, H·W, 1): each pixel's origin
    pixels = x.permute(0, 2, 3, 1).reshape(B, H * W, C)  # (B, H·W, C): a view of channels_last memory
    out = pixels.gather(1, source.expand(B, H * W, C))  # (B, H·W, C)
    return out.view(B, H, W, C).permute(0, 3, 1, 2)  # NCHW, in channels_last memory


def reflect(i: torch.Tensor, n: int) -> torch.Tensor:
    """Indices −n < i < 2n − 1 folded into 0 … n − 1 as reflect padding does (−1 → 1, n → n − 2)."""
    i = i.abs()
    return torch.where(i > n - 1, 2 * (n - 1) - i, i)


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


def flops_per_image(model: nn.Module, image_shape=(3, 32, 32)) -> int:
    """Multiply-adds × 2 of one forward pass through the convolutions and linear layers."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += output[0].numel() * module.in_channels * math.prod(module.kernel_size) * 2 // module.groups
        elif isinstance(module, nn.Linear):
            total += module.in_features * module.out_features * 2

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *image_shape))
    model.train(training)
    for h in hooks:
        h.remove()
    return total
