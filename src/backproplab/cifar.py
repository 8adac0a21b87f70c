"""The CIFAR-10 pipeline: a small CNN of our own composition, trained in PyTorch.

One run reads top to bottom: choose the device and profile → read and split the data
(5,000 training images held out for validation) → normalise with training statistics
→ open the run folder → build the network → train (augmented batches, the learning
rate set per step) with a checkpoint every epoch → test once at the end → write
``predictions.csv``, the summary and the plots.

The network (``docs/cifar10-model.md`` explains every part and measures it):

    conv3×3(3→w₀), max-pool 2, BN, ReLU                       32×32 → 16×16
    [conv3×3, BN, ReLU] × (k−1), conv3×3, max-pool 2, BN, ReLU
        with widths w₁, then w₂                                → 8×8 → 4×4
    [conv3×3, BN, ReLU] × k with width w₃, global max-pool     → 1×1
    linear(w₃→10) → ×scale                                     logits
"""

from __future__ import annotations

import csv
import dataclasses
import io
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .checks import check_training_flags, with_recipe
from .data import cifar10
from .data.splits import shorten
from .runs import RunFolder
from .runs.environment import versions
from .runs.log import ACCURACY_COLUMNS, EpochLog

#: the training recipes; a flag given on the command line overrides its entry
#: (the warm-up here is a fraction of the epochs; ``--warmup`` is in epochs)
PROFILES = {
    # 2 CPU cores: >= 75% test accuracy within 5 minutes (benchmarks/RESULTS.md)
    "cpu": dict(widths=[16, 32, 64, 128], convs_per_block=1, epochs=12, batch_size=256, lr=0.2, warmup=1 / 12,
                momentum=0.9, weight_decay=5e-4, label_smoothing=0.1, crop_padding=2, tta=2),
    # a longer CPU run: >= 85% within 15 minutes
    "cpu-long": dict(widths=[24, 48, 96, 384], convs_per_block=1, epochs=18, batch_size=256, lr=0.2, warmup=1 / 18,
                     momentum=0.9, weight_decay=5e-4, label_smoothing=0.1, crop_padding=2, tta=2),
    # one GPU: wider, two convolutions per stage, bf16 autocast, channels_last, data on the GPU
    "gpu": dict(widths=[64, 128, 256, 512], convs_per_block=2, epochs=18, batch_size=512, lr=0.4, warmup=1 / 9,
                momentum=0.9, weight_decay=5e-4, label_smoothing=0.2, crop_padding=4, tta=2),
}


@dataclass
class CifarConfig:
    profile: str | None = None  # cpu | cpu-long | gpu (None: gpu on CUDA, else cpu)
    widths: list[int] | None = None  # channels of the stem and the three pooled stages
    convs_per_block: int | None = None  # 3×3 convolutions per pooled stage
    epochs: int | None = None  # passes over the 45,000 training images
    batch_size: int | None = None  # images per step
    lr: float | None = None  # peak learning rate (SGD, Nesterov momentum)
    warmup: float | None = None  # epochs of linear warm-up before the cosine decay to 0
    momentum: float | None = None
    weight_decay: float | None = None  # L2 on the weights (not on BN and biases)
    label_smoothing: float | None = None  # ε of the smoothed cross-entropy
    crop_padding: int | None = None  # random-crop translation in pixels (0: none)
    flip: bool = True  # random horizontal flips
    tta: int | None = None  # test-time views: 0 the image, 1 + mirror, 2 + 1-pixel shifts (make_tta)
    seed: int = 0  # weights, shuffle, augmentation
    split_seed: int = 0  # which 5,000 training images validate
    train_limit: int | None = None  # use only this many training images (quick runs)
    test_limit: int | None = None  # and this many validation/test images
    device: str = "auto"  # cpu | cuda | auto
    data_dir: str | None = None
    download: bool = False
    predict_on: str | None = None  # a .npy of images to predict instead of the test set

    def resolved(self, device_type: str) -> "CifarConfig":
        profile = self.profile or ("gpu" if device_type == "cuda" else "cpu")
        if profile not in PROFILES:
            raise ValueError(f"--profile must be one of {', '.join(PROFILES)}; got {profile!r}")
        return with_recipe(self, PROFILES[profile], profile=profile)


def check_config(c: CifarConfig) -> None:
    check_training_flags(c)
    if not (isinstance(c.convs_per_block, int) and c.convs_per_block >= 1):
        raise ValueError(f"--convs-per-block must be an integer >= 1; got {c.convs_per_block}")
    if len(c.widths) != 4 or min(c.widths) < 1:
        raise ValueError(f"--widths needs 4 positive channel counts (stem and three stages); got {c.widths}")
    if not 0 <= c.label_smoothing < 1:
        raise ValueError(f"--label-smoothing must be in [0, 1); got {c.label_smoothing}")
    if not 0 <= c.crop_padding <= 8:
        raise ValueError(f"--crop-padding must be between 0 and 8 pixels; got {c.crop_padding}")
    if c.tta not in (0, 1, 2):
        raise ValueError(f"--tta must be 0 (the image), 1 (+ mirror image) or 2 (+ 1-pixel shifts); got {c.tta}")


def run_name(c: CifarConfig) -> str:
    limit = f"-n{c.train_limit}" if c.train_limit else ""
    return f"cifar-{c.profile}-e{c.epochs}-bs{c.batch_size}-lr{c.lr:g}-s{c.seed}{limit}"


# -- data --------------------------------------------------------------------------------


def load_splits(c: CifarConfig) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """train / validate / test as NHWC uint8 images and labels (test replaced by --predict-on)."""
    splits = cifar10.split(cifar10.load(c.data_dir, c.download), seed=c.split_seed)
    if c.predict_on:
        X = cifar10.read_image_array(c.predict_on)
        splits["test"] = (X, np.full(len(X), -1, dtype=np.int64))  # labels unknown
    return shorten(splits, c.train_limit, c.test_limit, keep_test=bool(c.predict_on))


def channel_stats(train_images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation (on the 0..1 scale) of the training images."""
    pixels = train_images.reshape(-1, 3)
    return pixels.mean(axis=0) / 255, pixels.std(axis=0) / 255


def to_tensor(images: np.ndarray, mean: np.ndarray, std: np.ndarray, device, channels_last: bool):
    """uint8 NHWC → normalised float32 NCHW on the device (channels_last memory if asked)."""
    import torch

    x = torch.from_numpy(((images.astype(np.float32) / 255 - mean) / std).astype(np.float32))
    x = x.permute(0, 3, 1, 2)
    x = x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()
    return x.to(device)


def make_augment(padding: int, flip: bool):
    """Random translation by up to ``padding`` pixels (a crop of the zero-padded image) and
    random horizontal flips, per image, on the batch's device with torch's generator."""
    import torch
    import torch.nn.functional as F

    def augment(x):
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

    return augment


def translate(x, d: int):
    """Images (n, c, h, w) moved |d| pixels down and right (d > 0) or up and left (d < 0);
    the uncovered border is 0, the mean colour after normalisation."""
    import torch.nn.functional as F

    p, (H, W) = abs(d), x.shape[2:]
    return F.pad(x, (p, p, p, p))[:, :, p - d : p - d + H, p - d : p - d + W]


def make_tta(level: int):
    """The test-time augmentation of a level, as ``tta(model, x) → logits`` (None for 0):

    1: the mean of the logits of the image and its mirror image;
    2: half that, plus half the mean over both images moved one pixel diagonally each
       way (four more views: six forward passes in all).
    """
    if level == 0:
        return None

    def flips(model, x):
        return 0.5 * (model(x) + model(x.flip(3)))

    def flips_and_shifts(model, x):
        shifted = sum(model(translate(v, d)) for v in (x, x.flip(3)) for d in (1, -1))
        return 0.5 * flips(model, x) + 0.5 * shifted / 4

    return flips if level == 1 else flips_and_shifts


# -- the network ---------------------------------------------------------------------------


def build_model(c: CifarConfig):
    import torch
    import torch.nn as nn

    def block(c_in, c_out, pool):
        """conv → (max-pool) → BN → ReLU: pooling first makes BN and ReLU 4× cheaper."""
        return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), *([pool] if pool else []),
                nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]

    w0, *stages = c.widths
    layers = block(3, w0, nn.MaxPool2d(2))  # (w0, 16, 16)
    width = w0
    for i, w in enumerate(stages):
        last = i == len(stages) - 1
        for k in range(c.convs_per_block):
            pool = nn.MaxPool2d(2) if (k == c.convs_per_block - 1 and not last) else None
            layers += block(width, w, pool)  # → 8, 4
            width = w
    layers += [nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(width, 10, bias=False), Scale(0.125)]
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    return model


def Scale(factor: float):
    """Multiply the logits by a constant: a fixed softmax temperature that lets the
    linear layer's weights stay small under weight decay."""
    import torch.nn as nn

    class _Scale(nn.Module):
        def forward(self, x):
            return x * factor

        def extra_repr(self):
            return f"factor={factor}"

    return _Scale()


def optimizer_for(model, c: CifarConfig):
    """SGD with Nesterov momentum; weight decay on conv/linear weights only (not BN)."""
    import torch

    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    return torch.optim.SGD([{"params": decay, "weight_decay": c.weight_decay},
                            {"params": no_decay, "weight_decay": 0.0}],
                           lr=c.lr, momentum=c.momentum, nesterov=c.momentum > 0)


# -- one run -------------------------------------------------------------------------------


def run(c: CifarConfig, out: str | Path = "experiments", name: str | None = None, overwrite: bool = False,
        resume: bool = False, show_progress: bool = True, stop_after: int | None = None,
        time_test_accuracy: bool = False) -> dict:
    """Train on CIFAR-10 and write the run folder with predictions.csv; returns the summary.

    ``time_test_accuracy`` evaluates the test set after every epoch (the time-to-accuracy
    benchmark needs it); a normal run looks at the test set once, at the end.
    """
    import torch

    from .devices import choose_device
    from .nn.schedulers import Cosine
    from .torch_training import Split, fit, predict_logits

    start = time.perf_counter()
    device = choose_device(c.device)
    c = c.resolved(device.type)
    check_config(c)
    splits = load_splits(c)
    name = name or run_name(c)
    with RunFolder(Path(out) / name, overwrite=overwrite, resume=resume) as folder:
        config = {"pipeline": "cifar", **dataclasses.asdict(c)}
        if not resume:
            folder.write_json("config.json", {**config, "versions": versions(),
                                              "splits": {s: len(y) for s, (_, y) in splits.items()}})
        torch.manual_seed(c.seed)
        rng = np.random.default_rng(c.seed)
        mean, std = channel_stats(splits["train"][0])  # training split only
        data = {s: Split(to_tensor(X, mean, std, device, channels_last=True), torch.from_numpy(y).to(device))
                for s, (X, y) in splits.items()}
        model = build_model(c).to(device, memory_format=torch.channels_last)
        optimizer = optimizer_for(model, c)
        autocast = torch.bfloat16 if device.type == "cuda" else None
        # per-epoch validation sees at most the two flip views (cheap); the final
        # predictions use the profile's full test-time augmentation
        eval_kwargs = {"tta": make_tta(min(c.tta, 1))}
        log = EpochLog(folder, ACCURACY_COLUMNS + (["test_accuracy", "elapsed"] if time_test_accuracy else []),
                       c.epochs, desc=name, show_progress=show_progress)
        train_seconds = fit(folder, log, model, optimizer, Cosine(c.lr, c.epochs, warmup=c.warmup), data["train"],
                            data["validate"], c.epochs, c.batch_size, rng, config, resume=resume,
                            stop_after=stop_after, augment=make_augment(c.crop_padding, c.flip),
                            autocast_dtype=autocast, label_smoothing=c.label_smoothing,
                            extra_eval={"test": data["test"]} if time_test_accuracy else None,
                            eval_kwargs=eval_kwargs)
        log.close()
        log.plot(f"CIFAR-10, {c.profile} profile")
        logits = predict_logits(model, data["test"].X, autocast_dtype=autocast, tta=make_tta(c.tta))
        predictions = logits.argmax(1).cpu()
        folder.write_text("predictions.csv", predictions_csv(predictions.numpy()))
        summary = {"pipeline": "cifar", "profile": c.profile, "device": str(device), "epochs": c.epochs,
                   "train_seconds": train_seconds, "final_val_accuracy": log.rows[-1]["val_accuracy"],
                   "parameters": sum(p.numel() for p in model.parameters())}
        if not c.predict_on:
            labels = splits["test"][1]
            summary["test_accuracy"] = float(np.mean(predictions.numpy() == labels))
        summary["wall_seconds"] = time.perf_counter() - start
        folder.write_json("summary.json", summary)
    return {**summary, "path": str(folder.final), "rows": log.rows}


def predictions_csv(classes: np.ndarray) -> str:
    """The autograder's format: header ``Id,Category``, Id from 1 in test-set order."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["Id", "Category"])
    writer.writerows((i, int(k)) for i, k in enumerate(classes, start=1))
    return buf.getvalue()
