"""The training loop the PyTorch pipelines (Fashion-MNIST MLP, CIFAR-10 CNN) share.

``fit`` reads top to bottom: (resume from the checkpoint) → for each epoch: train one
pass with the learning rate set per step from a schedule η(t) → evaluate on the
validation split → log the epoch → checkpoint. The shuffle order comes from a numpy
Generator, dropout and augmentation from torch's generator; both states are in every
checkpoint, so a resumed run continues exactly where the killed one stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .runs.checkpoint import load_checkpoint, restore_rng_states, rng_states, save_checkpoint
from .runs.folder import RunFolder
from .runs.log import EpochLog

@dataclass
class Split:
    X: torch.Tensor  # inputs, on the training device
    y: torch.Tensor  # integer labels, on the same device


def train_epoch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, schedule: Callable[[float], float],
                data: Split, batch_size: int, rng: np.random.Generator, epoch: int,
                augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
                autocast_dtype: torch.dtype | None = None, label_smoothing: float = 0.0) -> tuple[float, float, float]:
    """One pass over ``data`` in shuffled mini-batches; returns (mean loss, accuracy, last lr)."""
    model.train()
    n = len(data.y)
    order = torch.from_numpy(rng.permutation(n)).to(data.X.device)
    n_batches = -(-n // batch_size)
    total_loss = torch.zeros((), device=data.X.device)
    correct = torch.zeros((), dtype=torch.long, device=data.X.device)
    lr = schedule(epoch)
    for b in range(n_batches):
        idx = order[b * batch_size : (b + 1) * batch_size]
        x, y = data.X[idx], data.y[idx]
        if augment is not None:
            x = augment(x)
        lr = schedule(epoch + b / n_batches)
        for group in optimizer.param_groups:
            group["lr"] = lr
        with torch.autocast(device_type=x.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.detach().float() * len(y)
        correct += (logits.argmax(dim=1) == y).sum()
    return total_loss.item() / n, correct.item() / n, lr


@torch.no_grad()
def predict_logits(model: torch.nn.Module, X: torch.Tensor, batch_size: int = 1024,
                   autocast_dtype: torch.dtype | None = None, tta: Callable | None = None) -> torch.Tensor:
    """Logits (n, classes) in evaluation mode; ``tta`` may average several views."""
    model.eval()
    out = []
    for i in range(0, len(X), batch_size):
        x = X[i : i + batch_size]
        with torch.autocast(device_type=x.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            out.append((tta(model, x) if tta is not None else model(x)).float())
    return torch.cat(out)


def evaluate(model: torch.nn.Module, data: Split, **kwargs) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) on a split."""
    logits = predict_logits(model, data.X, **kwargs)
    return F.cross_entropy(logits, data.y).item(), (logits.argmax(dim=1) == data.y).sum().item() / len(data.y)


def fit(run: RunFolder, log: EpochLog, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
        schedule: Callable[[float], float], train: Split, val: Split, epochs: int, batch_size: int,
        rng: np.random.Generator, config: dict, resume: bool = False, stop_after: int | None = None,
        augment=None, autocast_dtype=None, label_smoothing: float = 0.0, extra_eval: dict[str, Split] | None = None,
        eval_kwargs: dict | None = None) -> float:
    """Train to ``epochs`` (continuing a checkpoint when resuming); returns the training wall time.

    ``stop_after`` ends the run with KeyboardInterrupt after that many epochs, as a kill
    would (the tests use it). ``extra_eval`` adds ``<name>_accuracy`` columns — only the
    benchmarks use it, to time accuracy on the test set; pipelines never look at test
    data before training ends.
    """
    checkpoint = run.file("checkpoint.pt")
    start, elapsed = 0, 0.0
    if resume:
        state = load_checkpoint(checkpoint)
        changed = sorted(k for k in set(config) | set(state["config"])
                         if k not in RESUMABLE and config.get(k) != state["config"].get(k))
        if changed:
            raise ValueError(f"cannot resume: the run was started with different settings for {', '.join(changed)}; "
                             "resume with the same flags")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        restore_rng_states(rng, state["rng"])
        log.rows, start, elapsed = list(state["rows"]), state["epoch"], state["elapsed"]
        log.bar.update(start)
    for epoch in range(start, epochs):
        t0 = time.perf_counter()
        train_loss, train_acc, lr = train_epoch(model, optimizer, schedule, train, batch_size, rng, epoch,
                                                augment, autocast_dtype, label_smoothing)
        val_loss, val_acc = evaluate(model, val, autocast_dtype=autocast_dtype, **(eval_kwargs or {}))
        seconds = time.perf_counter() - t0
        elapsed += seconds
        record = {"epoch": epoch + 1, "train_loss": train_loss, "val_loss": val_loss, "train_accuracy": train_acc,
                  "val_accuracy": val_acc, "lr": lr, "seconds": seconds}
        for name, split in (extra_eval or {}).items():
            record[f"{name}_loss"], record[f"{name}_accuracy"] = evaluate(
                model, split, autocast_dtype=autocast_dtype, **(eval_kwargs or {}))
            record["elapsed"] = elapsed
        log.add(record)
        save_checkpoint(checkpoint, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                     "rng": rng_states(rng), "rows": log.rows, "epoch": epoch + 1,
                                     "elapsed": elapsed, "config": config})
        if stop_after is not None and epoch + 1 == stop_after:
            raise KeyboardInterrupt(f"stopped after epoch {stop_after}")
    return elapsed


#: settings that may differ when resuming (they do not change what is computed)
RESUMABLE = {"device"}
