"""Training the CIFAR-10 CNN in PyTorch (``cifar.run`` calls ``train``): the images to
normalised tensors, the network and its optimizer, ``runs.fit``, then the predictions
with test-time augmentation, ``predictions.csv``, the pictures and the summary."""

from __future__ import annotations

import concurrent.futures
import csv
import dataclasses
import functools
import io
import time

import numpy as np
import torch

from .. import settings
from ..data import cifar10
from ..data.dataset import Standardizer
from ..engines.torch_engine import Split, TorchTrainer
from ..engines import precision
from ..engines.torch_setup import choose_device, describe, place_model, start_torch
from ..nn.schedulers import Triangle
from ..nn.training import batch_slices
from ..runs.fit import fit_epochs
from ..runs.options import RunOptions
from ..runs.outputs import write_outputs
from ..runs.run import Run, start_run
from . import cifar_net
from .cifar import CifarConfig, cifar_run_name
from .images import image_splits


# -- data --------------------------------------------------------------------------------


def load_splits(c: CifarConfig) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """train / validate / test as NHWC uint8 images and labels (test replaced by --predict-on)."""
    if c.predict_on:  # checked before the big read
        images = cifar10.read_image_array(c.predict_on)
        unlabelled = (images, np.full(len(images), -1, dtype=np.int64))
        return image_splits(c, cifar10.load(c.data_dir, c.download), unlabelled)
    return image_splits(c, cifar10.load(c.data_dir, c.download))


def channel_stats(train_images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation (on the 0..1 scale) of the training images
    (``Standardizer``'s rule: a channel constant in training is only centred)."""
    scale = Standardizer.fit(train_images.reshape(-1, 3))
    return scale.mean / 255, scale.std / 255


def to_tensor(images: np.ndarray, mean: np.ndarray, std: np.ndarray, device, channels_last: bool = True):
    """uint8 NHWC → normalised float32 NCHW on the device (channels_last memory if asked).
    Each channel's 256 possible values are normalised once, (v / 255 − mean) / std, and
    looked up, a thousand images at a time (no float64 copy of the images), in as many
    threads as torch uses."""
    table = ((np.arange(256, dtype=np.float32)[:, None] / 255 - mean) / std).astype(np.float32)  # (256, 3)
    out = np.empty(images.shape, dtype=np.float32)  # (n, H, W, 3)

    def look_up(i: int) -> None:  # NumPy releases the GIL here: the chunks run on every thread torch may use
        out[i : i + 1024] = table[images[i : i + 1024], np.arange(3)]

    with concurrent.futures.ThreadPoolExecutor(torch.get_num_threads()) as pool:
        list(pool.map(look_up, range(0, len(images), 1024)))
    x = torch.from_numpy(out).permute(0, 3, 1, 2)  # NCHW view of NHWC memory: channels_last already
    x = x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()
    return x.to(device)


# -- one run -------------------------------------------------------------------------------


def train(c: CifarConfig, options: RunOptions) -> dict:
    started = time.perf_counter()
    device = choose_device(c.device)
    c = settings.resolve(c, profile=c.profile or ("gpu" if device.type == "cuda" else "cpu"))
    settings.check(c)
    arithmetic, why = precision.for_run(c, device, options, cifar_run_name)
    c = dataclasses.replace(c, precision=arithmetic)
    with start_run("cifar", c, options, cifar_run_name(c), c.epochs, started) as run:
        splits = load_splits(c)
        trainer, facts = build_trainer(run, c, splits)
        run.write_config(splits, **facts, precision_reason=why)
        fitted = fit_epochs(run, trainer, c.epochs)
        return finish_cifar_run(run, c, trainer, splits, {**fitted, **facts})


def build_trainer(run: Run, c: CifarConfig, splits) -> tuple[TorchTrainer, dict]:
    device, dist, rng = start_torch(c, run)
    dist.check_batch(c.batch_size)
    mean, std = channel_stats(splits["train"][0])  # training split only
    data = {s: Split(to_tensor(X, mean, std, device), torch.from_numpy(y).to(device)) for s, (X, y) in splits.items()}
    model = cifar_net.build_model(c.widths, c.convs_per_block, c.whiten_kernel, c.whiten_stride, c.activation,
                                  c.scale, c.bn_momentum)
    model[0].fit_whitening(data["train"].X[:5000].cpu())  # the whitening transform of training patches
    flops = cifar_net.flops_per_image(model)
    model = place_model(model, device, dist, c.seed, channels_last=True)
    optimizer = cifar_net.optimizer(model, c.lr, c.momentum, c.weight_decay, c.bias_lr_scale, c.whiten_bias_epochs)
    steps = len(batch_slices(len(splits["train"][1]), c.batch_size))
    if c.lookahead:
        optimizer = cifar_net.Lookahead(optimizer, model, total_steps=steps * c.epochs,
                                        start_step=int(c.lookahead_start * steps))
    flips = cifar_net.flip_mask(len(splits["train"][1]), c.seed) if c.flip else None
    autocast = precision.autocast_dtype(c.precision)
    trainer = TorchTrainer(
        model, optimizer, Triangle(c.lr, c.epochs, peak=c.warmup, start=c.lr_start, end=c.lr_end), data,
        c.batch_size, rng, augment=functools.partial(cifar_net.augment, padding=c.crop_padding, flips=flips),
        label_smoothing=c.label_smoothing, autocast_dtype=autocast, dist=dist)
    # per-epoch validation on the image alone; the final predictions use the profile's views
    return trainer, {**describe(device, dist), "channel_mean": mean.tolist(), "channel_std": std.tolist(),
                     "flops_per_image": flops}


def finish_cifar_run(run: Run, c: CifarConfig, trainer: TorchTrainer, splits, facts: dict) -> dict:
    """Predict the test images, write predictions.csv, the pictures and the summary."""
    t0 = time.perf_counter()
    predicted = trainer.predict("test", cifar_net.TTA[c.tta])
    run.folder.write_text("predictions.csv", predictions_csv(predicted))
    predict_seconds = time.perf_counter() - t0
    labels = None if c.predict_on else splits["test"][1]
    write_outputs(run, f"CIFAR-10, {c.profile} profile", labels, predicted, cifar10.CLASSES, images=splits["test"][0],
                  first_weights=trainer.first_layer_weights())
    summary = {"profile": c.profile, "device": facts["device"], "precision": c.precision, "epochs": c.epochs,
               "train_seconds": facts["train_seconds"], "eval_seconds": facts["eval_seconds"],
               "predict_seconds": predict_seconds, "tta": c.tta, "final_val_accuracy": run.final_val_accuracy(),
               "parameters": trainer.parameter_count(), "architecture": trainer.describe_model()}
    if labels is not None:
        summary["test_accuracy"] = float(np.mean(predicted == labels))
    return run.complete(summary)


def predictions_csv(classes: np.ndarray) -> str:
    """The autograder's format: header ``Id,Category``, Id from 1 in test-set order."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["Id", "Category"])
    writer.writerows((i, int(k)) for i, k in enumerate(classes, start=1))
    return buf.getvalue()
