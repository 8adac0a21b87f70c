"""What the image pipelines (Fashion-MNIST, CIFAR-10) share: their settings, declared
once and inherited by ``FashionConfig`` and ``CifarConfig`` (the training recipe, filled
from the pipeline's profiles, and where the data and the randomness come from), the
train / validate / test splits, and the line that states a run's result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.splits import hold_out, shorten
from ..runs.values import precision_words
from ..settings import SEED, Range, setting

FRACTION = Range(0, 1, high_open=True)
LIMIT = Range(10, 2**31 - 1)


@dataclass
class Recipe:
    epochs: int | None = setting(None, "passes over the training images", range=Range(1, 10000), profile=True,
                                 quick=2)
    batch_size: int | None = setting(None, "images per step", range=Range(2, 65536), profile=True)
    lr: float | None = setting(None, "peak learning rate", range=Range(0, 10, low_open=True), profile=True)
    warmup: float | None = setting(None, "fraction of the epochs spent warming the learning rate up linearly, "
                                   "before the cosine decay to 0", range=FRACTION, profile=True)
    momentum: float | None = setting(None, "SGD momentum (Nesterov)", range=FRACTION, profile=True)
    weight_decay: float | None = setting(None, "L2 coefficient on the weights", range=Range(0, 1), profile=True)
    label_smoothing: float | None = setting(None, "ε of the smoothed cross-entropy (training only)", range=FRACTION,
                                            profile=True)


@dataclass
class ImageData:
    seed: int = setting(0, "seed of the weights, dropout, shuffle and augmentation", range=SEED)
    split_seed: int = setting(0, "seed of the validation hold-out", range=SEED)
    validation: int = setting(5000, "training images held out for validation", range=Range(10, 40000))
    train_limit: int | None = setting(None, "train on only the first N training images (a quick run)", range=LIMIT,
                                      quick=2000, unset="all")
    test_limit: int | None = setting(None, "validate and test on only the first N images", range=LIMIT, quick=500,
                                     unset="all")
    device: str = setting("auto", "PyTorch device (cuda when available for auto)", choices=("auto", "cpu", "cuda"),
                          resumable=True)
    precision: str = setting("auto", "arithmetic of the PyTorch engine: bf16 (bfloat16 autocast; the weights, "
                             "optimizer, BatchNorm statistics and loss stay float32), fp32, or auto: bf16 where the "
                             "CPU or GPU computes it natively", choices=("auto", "fp32", "bf16"))
    threads: int | None = setting(None, "PyTorch CPU threads", range=Range(1, 1024), resumable=True,
                                  unset="every core, shared among torchrun's processes")
    data_dir: str | None = setting(None, "folder holding the data set", resumable=True,
                                   unset="$BACKPROPLAB_DATA, a system copy, then the cache folder")
    download: bool = setting(False, "download the data set if it is not found", resumable=True)


def image_splits(c: ImageData, data: dict[str, tuple[np.ndarray, np.ndarray]],
                 test: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """train / validate / test from a data set's official train and test parts: ``validation``
    training images held out (seeded by ``split_seed``), test replaced by ``test`` if given,
    then shortened to the quick-run limits (a replaced test set is kept whole)."""
    splits = hold_out(data, c.validation, c.split_seed)
    if test is not None:
        splits["test"] = test
    return shorten(splits, c.train_limit, c.test_limit, keep_test=test is not None)


def describe_image_result(s: dict, predictions: bool = False) -> str:
    """A run's result for the terminal: test accuracy, epochs, time, where; the run folder
    (and its predictions.csv)."""
    tta = f"{s['predict_seconds']:.0f} s predicting the test set with test-time augmentation, " \
        if s.get("tta") else ""
    precision = f", {precision_words(s['precision'])}" if s.get("precision") else ""
    lines = [f"test accuracy {s['test_accuracy']:.2%} after {s['epochs']} epochs ({s['train_seconds']:.0f} s "
             f"training, {tta}{s['wall_seconds']:.0f} s in all, {s['device']}{precision})"] \
        if "test_accuracy" in s else []
    if predictions:
        lines.append(f"predictions: {s['path']}/predictions.csv")
    return "\n".join(lines + [f"run folder: {s['path']}"])
