"""The PyTorch engine's trainer: one training loop for every PyTorch pipeline (the
Fashion-MNIST MLP, the CIFAR-10 CNN), behind the methods of ``runs.fit.Trainer``.

One epoch reads top to bottom: shuffle with the run's numpy Generator → for each
mini-batch: (augment) → forward → cross-entropy → backward → set the learning rate
η(t) from the schedule → optimizer step. Dropout and augmentation draw from torch's
generator; both generators' states are in every checkpoint, so a resumed run
continues exactly where the interrupted one stopped.

Under ``torchrun`` (``distributed.Dist``) every process runs this same loop on its own
shard of each global batch; DistributedDataParallel averages the gradients, and the
loss is scaled so that the average equals the single-process gradient of the global
batch. Evaluation is sharded too, and its sums are added up across processes.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import TrainingError
from ..nn.training import batch_slices
from ..runs.checkpoint import DamagedCheckpoint, load_torch, save_torch
from .distributed import Dist


@dataclass
class Split:
    X: torch.Tensor  # inputs, on the training device
    y: torch.Tensor  # integer labels, on the same device


def set_lr(optimizer, lr: float, t: float, freeze: bool = True) -> None:
    """Every parameter group's rate at η(t), times the group's own ``lr_scale`` (default 1);
    0 once t reaches the group's ``until`` (a group trained for the first epochs only).
    With ``freeze`` such a group's parameters also stop asking for gradients from then on,
    so the backward pass skips what only they needed (for the whitening bias: the first
    activation's backward and the first convolution's gradient to its input). Under
    DistributedDataParallel, whose set of trained parameters is fixed when it wraps the
    model, the group keeps its gradients at rate 0 instead (the same weights either way)."""
    for group in optimizer.param_groups:
        trained = t < group.get("until", math.inf)
        group["lr"] = lr * group.get("lr_scale", 1.0) if trained else 0.0
        if freeze and "until" in group:
            for p in group["params"]:
                p.requires_grad_(trained)


class TorchTrainer:
    checkpoint_name = "checkpoint.pt"

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, schedule: Callable[[float], float],
                 data: dict[str, Split], batch_size: int, rng: np.random.Generator, *,
                 augment: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor] | None = None,
                 label_smoothing: float = 0.0, mixup: float = 0.0, mixup_epochs: float = math.inf,
                 autocast_dtype: torch.dtype | None = None, eval_views: Callable | None = None,
                 dist: Dist | None = None) -> None:
        self.model, self.optimizer, self.schedule = model, optimizer, schedule
        self.data, self.batch_size, self.rng = data, batch_size, rng
        self.augment, self.label_smoothing, self.autocast_dtype = augment, label_smoothing, autocast_dtype
        self.eval_views = eval_views  # test-time augmentation of the per-epoch validation
        self.mixup = mixup  # α of the Beta(α, α) mixing weight; 0: no mixup
        self.mixup_epochs = mixup_epochs  # epochs 0 … mixup_epochs − 1 mix; later ones train on clean batches
        self.dist = dist or Dist()
        self.net = self.dist.wrap(model)  # DistributedDataParallel under torchrun, else the model
        self.best: dict | None = None

    # -- training ------------------------------------------------------------------------

    def train_epoch(self, epoch: int, on_batch: Callable[[float], None]) -> dict:
        """One pass over the training split in shuffled mini-batches."""
        train, device = self.data["train"], self.data["train"].X.device
        self.net.train()
        order = torch.from_numpy(self.rng.permutation(len(train.y))).to(device)
        slices = batch_slices(len(train.y), self.batch_size)
        total_loss = torch.zeros((), device=device)
        correct = torch.zeros((), dtype=torch.long, device=device)
        lr = self.schedule(epoch)
        for b, piece in enumerate(slices):
            batch = order[piece]
            idx = batch[self.dist.shard(len(batch))]  # this process's part of the global batch
            x, y = train.X[idx], train.y[idx]
            if self.augment is not None:
                x = self.augment(x, idx, epoch)
            t = epoch + b / len(slices)
            lr = self.schedule(t)
            set_lr(self.optimizer, lr, t, freeze=self.dist.world == 1)
            with torch.autocast(device_type=device.type, dtype=self.autocast_dtype,
                                enabled=self.autocast_dtype is not None):
                logits, loss = self.forward_loss(x, y, self.mixup if epoch < self.mixup_epochs else 0.0)
            if device.type == "cpu" and not math.isfinite(loss.item()):
                raise TrainingError(f"the training loss is {loss.item()} at epoch {epoch + 1}, step {b + 1}: "
                                    "training diverged; lower the learning rate")
            self.optimizer.zero_grad(set_to_none=True)
            # DDP averages the processes' gradients; scaling by the shard's share of the
            # global batch makes that average the gradient of the global batch's mean loss
            (loss * (len(idx) * self.dist.world / len(batch))).backward()
            self.optimizer.step()
            total_loss += loss.detach().float() * len(y)
            correct += (logits.argmax(dim=1) == y).sum()
            on_batch(1 / len(slices))
        total_loss, correct = self.dist.sum(total_loss), self.dist.sum(correct)
        if not math.isfinite(total_loss.item()):
            raise TrainingError(f"the training loss is not finite in epoch {epoch + 1}: training diverged; "
                                "lower the learning rate")
        return {"train_loss": total_loss.item() / len(train.y), "train_accuracy": correct.item() / len(train.y),
                "lr": lr}

    def forward_loss(self, x: torch.Tensor, y: torch.Tensor, mixup: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, loss) of a batch; with mixup (α > 0) the batch is blended with a shuffled
        copy of itself and the loss with it: λ·CE(y) + (1 − λ)·CE(y[π]), which is the
        cross-entropy against the mixed target (the NumPy engine's ``nn.training.mix``)."""
        if not mixup:
            logits = self.net(x)
            return logits, F.cross_entropy(logits, y, label_smoothing=self.label_smoothing)
        lam = float(torch.distributions.Beta(mixup, mixup).sample())
        perm = torch.randperm(len(x), device=x.device)
        logits = self.net(lam * x + (1 - lam) * x[perm])
        loss = lam * F.cross_entropy(logits, y, label_smoothing=self.label_smoothing) + \
            (1 - lam) * F.cross_entropy(logits, y[perm], label_smoothing=self.label_smoothing)
        return logits, loss

    # -- evaluation ----------------------------------------------------------------------

    @torch.no_grad()
    def logits(self, X: torch.Tensor, views: Callable | None = None, batch_size: int = 1024) -> torch.Tensor:
        """Logits (n, classes) of this process's shard of X, in evaluation mode; ``views``
        (test-time augmentation) may average the logits of several views of each image."""
        self.model.eval()
        X = X[self.dist.shard(len(X))]
        out = []
        for i in range(0, len(X), batch_size):
            x = X[i : i + batch_size]
            with torch.autocast(device_type=x.device.type, dtype=self.autocast_dtype,
                                enabled=self.autocast_dtype is not None):
                out.append((views(self.model, x) if views is not None else self.model(x)).float())
        return torch.cat(out) if out else torch.zeros((0, 0), device=X.device)

    def evaluate(self, split: str, views: Callable | None = None) -> tuple[float, float]:
        """(mean cross-entropy, accuracy) on a split (summed over every process's shard)."""
        data = self.data[split]
        logits = self.logits(data.X, views if views is not None else self.eval_views)
        y = data.y[self.dist.shard(len(data.y))]
        loss = self.dist.sum(F.cross_entropy(logits, y, reduction="sum") if len(y) else torch.zeros(()))
        correct = self.dist.sum((logits.argmax(dim=1) == y).sum() if len(y) else torch.zeros((), dtype=torch.long))
        return loss.item() / len(data.y), correct.item() / len(data.y)

    def predict(self, split: str, views: Callable | None = None) -> np.ndarray:
        """Predicted classes (n,) of a whole split, gathered from every process, in order."""
        logits = self.logits(self.data[split].X, views if views is not None else self.eval_views)
        return self.dist.gather(logits.argmax(dim=1).cpu()).numpy()

    def first_layer_weights(self) -> np.ndarray:
        """The first weight in the NumPy library's layout: (n_in, n_out) or (kh, kw, C, F)."""
        W = next(p for p in self.model.parameters() if p.ndim > 1).detach().float().cpu().numpy()
        return W.T if W.ndim == 2 else W.transpose(2, 3, 1, 0)

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def describe_model(self) -> str:
        return f"{self.model}\n{self.parameter_count():,} parameters"

    # -- checkpoints -------------------------------------------------------------------------

    def keep_best(self) -> None:
        self.best = copy.deepcopy(self.model.state_dict())

    def use_best(self) -> None:
        self.model.load_state_dict(self.best)

    def save(self, path, meta: dict, with_best: bool) -> None:
        rng = self.dist.gather_objects(torch.get_rng_state())  # every process's dropout/augmentation stream
        if not self.dist.is_main:
            return
        state = {**meta, "engine": "torch", "model": self.model.state_dict(),
                 "optimizer": self.optimizer.state_dict(), "rng": {"numpy": self.rng.bit_generator.state,
                                                                   "torch": rng, "world": self.dist.world}}
        if with_best and self.best is not None:
            state["best_model"] = self.best
        save_torch(path, state)

    def load(self, path) -> dict:
        """Restore from a checkpoint of this run (read by rank 0, sent to the others): at most
        a few times the model's size, the model's own parameters and shapes, finite numbers,
        random states torch and numpy take."""
        model_bytes = sum(t.numel() * t.element_size() for t in self.model.state_dict().values())
        limit = 4 * model_bytes + 64 * 2**20  # model, best model, optimizer state, and the record
        state = self.dist.broadcast_object(load_torch(path, limit) if self.dist.is_main else None)
        try:
            world = state["rng"]["world"]
        except (KeyError, TypeError):
            raise DamagedCheckpoint(path, "it holds no random-number states") from None
        if world != self.dist.world:
            raise TrainingError(f"the checkpoint was written by {world} process(es) and this run has "
                                f"{self.dist.world}: resume with --nproc-per-node (times --nnodes) {world}, as the "
                                "run started")
        if not all(torch.isfinite(t).all() for t in state.get("model", {}).values() if torch.is_floating_point(t)):
            raise DamagedCheckpoint(path, "it holds NaN or infinite weights (written by a run that diverged, or "
                                          "damaged)")
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.rng.bit_generator.state = state["rng"]["numpy"]
            torch.set_rng_state(state["rng"]["torch"][self.dist.rank])
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError, ArithmeticError) as err:
            raise DamagedCheckpoint(path, f"its state does not fit this run ({type(err).__name__}: "
                                          f"{str(err).splitlines()[0][:200]})") from None
        self.best = state.get("best_model")
        return state
