"""The settings the image pipelines (Fashion-MNIST, CIFAR-10) share, declared once and
inherited by ``FashionConfig`` and ``CifarConfig``: the training recipe (filled from the
pipeline's profiles) and where the data and the randomness come from."""

from __future__ import annotations

from dataclasses import dataclass

from .settings import Range, setting

FRACTION = Range(0, 1, high_open=True)
SEED = Range(0, 2**32 - 1)
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
    threads: int | None = setting(None, "PyTorch CPU threads", range=Range(1, 1024), resumable=True,
                                  unset="every core, shared among torchrun's processes")
    data_dir: str | None = setting(None, "folder holding the data set", resumable=True,
                                   unset="the places README: Data lists")
    download: bool = setting(False, "download the data set if it is not found", resumable=True)
