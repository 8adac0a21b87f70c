"""The CIFAR-10 pipeline: a small CNN of our own composition (``cifar_net``), trained in
PyTorch, and ``predictions.csv`` for the autograder.

One run reads top to bottom: settings (the profile for the device) → data (5,000
training images held out for validation; ``--predict-on`` replaces the test images) →
normalise with training statistics → model → fit (``runs.fit``, a checkpoint every
epoch) → predict the test images with test-time augmentation → write
``predictions.csv``, the plots and the summary.

This module holds the settings and the declaration and imports no torch (so that
``--help`` and the report work without PyTorch); ``cifar_training`` does the training.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

from ..report import sections
from ..runs.naming import run_name
from ..runs.options import RunOptions
from ..settings import Range, setting
from .bars import Bar
from .declaration import Pipeline, Stage
from .images import ImageData, Recipe, describe_image_result


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
        "gpu": dict(widths=[64, 256, 256], whiten_stride=1, epochs=14, **{**COMMON, "batch_size": 1024, "lr": 1.5}),
    }

    #: the profiles that ``--precision auto`` keeps in float32: bfloat16 lost more than 0.2
    #: points of test accuracy there, averaged over seeds 0 and 1 (benchmarks/RESULTS.md)
    AUTO_KEEPS_FP32: ClassVar[tuple[str, ...]] = ()

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


def cifar_run_name(c: CifarConfig) -> str:
    return run_name("cifar", c, [c.profile, f"e{c.epochs}", f"bs{c.batch_size}", f"lr{c.lr:g}", f"s{c.seed}",
                                 f"n{c.train_limit}" if c.train_limit else "", "bf16" if c.precision == "bf16" else ""])


def run(c: CifarConfig, options: RunOptions | None = None) -> dict:
    """Train on CIFAR-10 and write the run folder with predictions.csv; returns the summary."""
    from .cifar_training import train  # PyTorch, imported by the command that uses it

    return train(c, options or RunOptions())


#: the design document the report shows after the runs: its sections on the design (its
#: measurements, made on another machine and day, stay in the document)
DESIGN = ("cifar10-model.md", ("Where the ideas come from", "The network", "The recipe"))

PIPELINE = Pipeline(
    name="cifar", help="CIFAR-10: train the CNN and write predictions.csv", config=CifarConfig, run=run,
    describe_result=lambda s: describe_image_result(s, predictions=True),
    section=functools.partial(sections.cifar, design=DESIGN), data="cifar-10",
    stages=(Stage("CIFAR-10 CNN (PyTorch)", "cifar"),), datasets=("cifar",), needs_torch=lambda c: True,
    bars=(Bar("CIFAR-10 CNN, predictions.csv", {}, "test_accuracy", "test accuracy", 0.75, min_epochs=8),
          Bar("CIFAR-10 on the CPU (cpu profile)", {"profile": "cpu", "device": "cpu*"}, "test_accuracy",
              "test accuracy", 0.82, time=("train_seconds", "eval_seconds", "predict_seconds"),
              time_label="from the first step to predictions.csv", within=150)))
