"""The CIFAR-10 pipeline: a small CNN of our own composition (``cifar_net``), trained in
PyTorch, and ``predictions.csv`` for the autograder.

One run reads top to bottom: settings (the profile for the device) → data (5,000
training images held out for validation; ``--predict-on`` replaces the test images) →
normalise with training statistics → model → fit (``runs.fit``, a checkpoint every
epoch) → predict the test images with test-time augmentation → write
``predictions.csv``, the plots and the summary.
"""

from __future__ import annotations

import csv
import functools
import io
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from . import cifar_net, settings
from .data import cifar10
from .data.splits import hold_out, shorten
from .devices import choose_device, describe, start_torch
from .nn.schedulers import Triangle
from .nn.training import batch_slices
from .runs.fit import fit
from .runs.options import RunOptions
from .runs.outputs import write_outputs
from .runs.run import Run, start_run
from .settings import Range, setting
from .shared_settings import ImageData, Recipe
from .torch_training import Split, TorchTrainer

#: the settings every CPU profile shares (the airbench94 recipe's, converted to SGD on the
#: mean loss of a batch of 512: lr 11.5 per 1024 decoupled → 0.75; weight decay 0.0153/11.5)
COMMON = dict(convs_per_block=2, whiten_kernel=2, whiten_bias_epochs=3, activation="gelu", scale=1 / 9,
              bn_momentum=0.4, batch_size=512, lr=0.75, warmup=0.23, lr_start=0.2, lr_end=0.07, momentum=0.85,
              weight_decay=0.0153 / 11.5, bias_lr_scale=64, lookahead_start=3, label_smoothing=0.2,
              crop_padding=2, tta=2)


@dataclass
class CifarConfig(Recipe, ImageData):
    PROFILE_KEY: ClassVar[str] = "profile"
    #: the training recipes (docs/cifar10-model.md measures each part); a flag given on the
    #: command line overrides its entry. lr is for the mean loss over a batch, SGD units.
    PROFILES: ClassVar[dict] = {
        "sprint": dict(widths=[32, 64, 64], whiten_stride=2, epochs=4, **COMMON),
        "cpu": dict(widths=[40, 96, 96], whiten_stride=2, epochs=8, **COMMON),
        "cpu-medium": dict(widths=[48, 128, 128], whiten_stride=2, epochs=12, **COMMON),
        "cpu-long": dict(widths=[32, 128, 128], whiten_stride=1, epochs=12, **COMMON),
        "gpu": dict(widths=[64, 256, 256], whiten_stride=1, epochs=10, **{**COMMON, "batch_size": 1024, "lr": 1.5}),
    }

    profile: str | None = setting(None, "the training recipe", unset="gpu on CUDA, else cpu",
                                  choices=tuple(PROFILES))
    widths: list[int] | None = setting(None, "channels of the three pooled stages", range=Range(1, 4096),
                                       profile=True)
    convs_per_block: int | None = setting(None, "3x3 convolutions per pooled stage", range=Range(1, 8), profile=True)
    whiten_kernel: int | None = setting(None, "size of the frozen patch-whitening first layer's patches",
                                        range=Range(1, 8), profile=True)
    whiten_stride: int | None = setting(None, "stride of the whitening layer (2: every later layer works on a "
                                        "16x16 map or smaller)", range=Range(1, 4), profile=True)
    whiten_bias_epochs: float | None = setting(None, "epochs during which the whitening layer's bias trains",
                                               range=Range(0, 10000), profile=True)
    activation: str | None = setting(None, "non-linearity", choices=("gelu", "relu"), profile=True)
    scale: float | None = setting(None, "fixed factor on the logits (a softmax temperature)",
                                  range=Range(0, 10, low_open=True), profile=True)
    bn_momentum: float | None = setting(None, "weight of each batch in BatchNorm's running statistics",
                                        range=Range(0, 1, low_open=True), profile=True)
    bias_lr_scale: float | None = setting(None, "the BatchNorm and whitening biases learn this many times faster "
                                          "(their weight decay per step unchanged)", range=Range(0, 1000, low_open=True),
                                          profile=True)
    lr_start: float | None = setting(None, "learning rate at the first step, as a fraction of the peak",
                                     range=Range(0, 1), profile=True)
    lr_end: float | None = setting(None, "learning rate at the last step, as a fraction of the peak",
                                   range=Range(0, 1), profile=True)
    lookahead: bool = setting(True, "pull the weights back to their moving average every 5 steps (Lookahead)")
    lookahead_start: float | None = setting(None, "epoch from which the moving average is used",
                                            range=Range(0, 10000), profile=True)
    crop_padding: int | None = setting(None, "random translation in pixels (reflect padding; 0: none)",
                                       range=Range(0, 8), profile=True)
    flip: bool = setting(True, "horizontal flips, alternating every epoch for each image")
    tta: int | None = setting(None, "test-time augmentation: 0 the image only, 1 + its mirror image, 2 + both "
                              "shifted by one pixel", choices=(0, 1, 2), profile=True)
    predict_on: str | None = setting(None, "a .npy of uint8 images (N x 3072 or N x 32 x 32 x 3) to predict "
                                     "instead of the test set", unset="the test set")


def run_name(c: CifarConfig) -> str:
    limit = f"-n{c.train_limit}" if c.train_limit else ""
    return f"cifar-{c.profile}-e{c.epochs}-bs{c.batch_size}-lr{c.lr:g}-s{c.seed}{limit}"


def describe_result(s: dict) -> str:
    lines = [f"test accuracy {s['test_accuracy']:.2%} after {s['epochs']} epochs "
             f"({s['train_seconds']:.0f} s training, {s['wall_seconds']:.0f} s in all, {s['device']})"] \
        if "test_accuracy" in s else []
    return "\n".join(lines + [f"predictions: {s['path']}/predictions.csv", f"run folder: {s['path']}"])


# -- data --------------------------------------------------------------------------------


def load_splits(c: CifarConfig) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """train / validate / test as NHWC uint8 images and labels (test replaced by --predict-on)."""
    predict = cifar10.read_image_array(c.predict_on) if c.predict_on else None  # checked before the big read
    splits = hold_out(cifar10.load(c.data_dir, c.download), c.validation, c.split_seed)
    if predict is not None:
        splits["test"] = (predict, np.full(len(predict), -1, dtype=np.int64))  # labels unknown
    return shorten(splits, c.train_limit, c.test_limit, keep_test=predict is not None)


def channel_stats(train_images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation (on the 0..1 scale) of the training images;
    a channel that is constant in training gets standard deviation 1 (it is only centred)."""
    pixels = train_images.reshape(-1, 3)
    std = pixels.std(axis=0) / 255
    return pixels.mean(axis=0) / 255, np.where(std > 0, std, 1.0)


def to_tensor(images: np.ndarray, mean: np.ndarray, std: np.ndarray, device, channels_last: bool = True):
    """uint8 NHWC → normalised float32 NCHW on the device (channels_last memory if asked)."""
    x = torch.from_numpy(((images.astype(np.float32) / 255 - mean) / std).astype(np.float32))
    x = x.permute(0, 3, 1, 2)
    x = x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()
    return x.to(device)


# -- one run -------------------------------------------------------------------------------


def run(c: CifarConfig, options: RunOptions | None = None) -> dict:
    """Train on CIFAR-10 and write the run folder with predictions.csv; returns the summary."""
    started = time.perf_counter()
    options = options or RunOptions()
    c = settings.resolve(c, profile=c.profile or ("gpu" if choose_device(c.device).type == "cuda" else "cpu"))
    settings.check(c)
    with start_run("cifar", c, options, run_name(c), c.epochs, started) as run:
        splits = load_splits(c)
        trainer, facts = build_trainer(c, splits)
        run.write_config(splits, **facts)
        fitted = fit(run, trainer, c.epochs)
        return finish(run, c, trainer, splits, {**fitted, **facts})


def build_trainer(c: CifarConfig, splits) -> tuple[TorchTrainer, dict]:
    device, dist, rng = start_torch(c.device, c.threads, c.seed)
    dist.check_batch(c.batch_size)
    mean, std = channel_stats(splits["train"][0])  # training split only
    data = {s: Split(to_tensor(X, mean, std, device), torch.from_numpy(y).to(device)) for s, (X, y) in splits.items()}
    model = cifar_net.build_model(c.widths, c.convs_per_block, c.whiten_kernel, c.whiten_stride, c.activation,
                                  c.scale, c.bn_momentum)
    model[0].fit(data["train"].X[:5000].cpu())  # the whitening transform of training patches
    flops = cifar_net.flops_per_image(model)
    model = model.to(device, memory_format=torch.channels_last)
    if dist.world > 1 and device.type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)  # batch statistics over every GPU
    dist.split_random_streams(c.seed)
    optimizer = cifar_net.optimizer(model, c.lr, c.momentum, c.weight_decay, c.bias_lr_scale, c.whiten_bias_epochs)
    steps = len(batch_slices(len(splits["train"][1]), c.batch_size))
    if c.lookahead:
        optimizer = cifar_net.Lookahead(optimizer, model, total_steps=steps * c.epochs,
                                        start_step=int(c.lookahead_start * steps))
    flips = cifar_net.flip_mask(len(splits["train"][1]), c.seed) if c.flip else None
    trainer = TorchTrainer(
        model, optimizer, Triangle(c.lr, c.epochs, peak=c.warmup, start=c.lr_start, end=c.lr_end), data,
        c.batch_size, rng, augment=functools.partial(cifar_net.augment, padding=c.crop_padding, flips=flips),
        label_smoothing=c.label_smoothing, autocast_dtype=torch.bfloat16 if device.type == "cuda" else None,
        dist=dist)  # per-epoch validation on the image alone; the final predictions use the profile's views
    return trainer, {**describe(device, dist), "channel_mean": mean.tolist(), "channel_std": std.tolist(),
                     "flops_per_image": flops}


def finish(run: Run, c: CifarConfig, trainer: TorchTrainer, splits, facts: dict) -> dict:
    """Predict the test images, write predictions.csv, the pictures and the summary."""
    t0 = time.perf_counter()
    predicted = trainer.predict("test", cifar_net.TTA[c.tta])
    run.folder.write_text("predictions.csv", predictions_csv(predicted))
    predict_seconds = time.perf_counter() - t0
    labels = None if c.predict_on else splits["test"][1]
    write_outputs(run, f"CIFAR-10, {c.profile} profile", labels, predicted, cifar10.CLASSES, images=splits["test"][0],
                  first_weights=trainer.first_layer_weights())
    summary = {"profile": c.profile, "device": facts["device"], "epochs": c.epochs,
               "train_seconds": facts["train_seconds"], "eval_seconds": facts["eval_seconds"],
               "predict_seconds": predict_seconds, "final_val_accuracy": run.log.rows[-1]["val_accuracy"],
               "parameters": trainer.parameter_count(),
               "architecture": trainer.describe_model()}
    if labels is not None:
        summary["test_accuracy"] = float(np.mean(predicted == labels))
    return run.finish(summary)


def predictions_csv(classes: np.ndarray) -> str:
    """The autograder's format: header ``Id,Category``, Id from 1 in test-set order."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["Id", "Category"])
    writer.writerows((i, int(k)) for i, k in enumerate(classes, start=1))
    return buf.getvalue()
