"""The flag checks the image pipelines share (Fashion-MNIST, CIFAR-10): each raises
ValueError naming the flag, what it must be and what it got."""

from __future__ import annotations

import dataclasses


def check_training_flags(c) -> None:
    """epochs, batch_size, lr, warmup and the quick-run limits of a pipeline config."""
    for name in ("epochs", "batch_size"):
        value = getattr(c, name)
        if not (isinstance(value, int) and value >= 1):
            raise ValueError(f"--{name.replace('_', '-')} must be an integer >= 1; got {value}")
    if not c.lr > 0:
        raise ValueError(f"--lr must be positive; got {c.lr}")
    if not 0 <= c.warmup < c.epochs:
        raise ValueError(f"--warmup must be in [0, epochs); got {c.warmup}")
    for name in ("train_limit", "test_limit"):
        value = getattr(c, name)
        if value is not None and value < 10:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 10; got {value}")


def with_recipe(c, recipe: dict, **extra):
    """The config with every unset (None) field taken from ``recipe``, whose warm-up is a
    fraction of the epochs (so a shorter run warms up proportionally)."""
    recipe = dict(recipe)
    recipe["warmup"] *= c.epochs if c.epochs is not None else recipe["epochs"]
    return dataclasses.replace(c, **extra, **{k: v for k, v in recipe.items() if getattr(c, k) is None})
