"""Data-parallel training under ``torchrun``: what each process needs to know and do.

``torchrun --nproc-per-node N -m backproplab cifar …`` starts N processes with the
environment variables ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and
``MASTER_PORT``. ``Dist.from_env`` joins them into one process group (gloo on CPU,
NCCL on CUDA). Without torchrun, ``Dist()`` is a group of one and every method is the
identity, so single-process runs are untouched.

What is sharded: each global batch of B examples is cut into N contiguous pieces, one
per process (``shard``); the evaluation splits likewise. What is shared: the shuffle
order (the same seeded numpy Generator in every process), the initial weights
(DistributedDataParallel broadcasts rank 0's), the averaged gradients. What differs
per process: torch's generator (dropout, augmentation), seeded with seed + rank.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from .. import launch
from ..errors import UsageError

#: how long processes wait for each other (rendezvous, and every collective) before failing
TIMEOUT = datetime.timedelta(seconds=float(os.environ.get("BACKPROPLAB_DIST_TIMEOUT", "120")))


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    backend: str = ""  # "gloo" or "nccl"; "" for a single process

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, device_type: str) -> "Dist":
        """Join torchrun's process group (or a group of one when not under torchrun)."""
        if not launch.launched_by_torchrun():
            return cls()
        rank, world, local_rank = launch.rank(), launch.world_size(), launch.local_rank()
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            if local_rank >= torch.cuda.device_count():
                raise UsageError(f"process {rank} needs GPU {local_rank} but this node has "
                                 f"{torch.cuda.device_count()}: start at most that many processes per node")
            torch.cuda.set_device(local_rank)
        if not dist.is_initialized():
            dist.init_process_group(backend, rank=rank, world_size=world, timeout=TIMEOUT)
        return cls(rank, world, local_rank, backend)

    def describe(self) -> dict:
        return {"world_size": self.world, "backend": self.backend or "none",
                "sharding": "each global batch in world_size contiguous pieces, in the order the seeded shuffle "
                            "gives; torch's generator seeded with seed + rank after the model is built"}

    def split_random_streams(self, seed: int) -> None:
        """After the (identical) model is built: each process its own dropout and augmentation
        stream, seed + rank. A single process keeps its one stream untouched."""
        if self.world > 1:
            torch.manual_seed(seed + self.rank)

    def agree(self, chosen: dict) -> None:
        """Refuse (UsageError) unless every process resolved the same ``chosen`` settings:
        ``--precision auto`` measures each machine for itself, and the nodes of a job can be
        started with different flags; processes that differ would train one model two ways."""
        if self.world == 1:
            return
        everyone = self.gather_objects(chosen)
        differ = [k for k in chosen if any(other.get(k) != chosen[k] for other in everyone)]
        if differ:
            values = "; ".join(f"{k}: " + ", ".join(f"process {r} {other.get(k)!r}" for r, other in enumerate(everyone))
                               for k in differ)
            raise UsageError(f"the {self.world} processes resolved different settings ({values}); give every "
                             "process the same flags" + (", and --precision fp32 or bf16 rather than auto"
                                                         if "precision" in differ else ""))

    def check_batch(self, batch_size: int) -> None:
        if batch_size % self.world:
            raise UsageError(f"--batch-size {batch_size} is not divisible by the {self.world} processes: each "
                             "process takes an equal share of every global batch; use a multiple of the world size")

    # -- sharding ----------------------------------------------------------------------------

    def shard(self, n: int) -> slice:
        """This process's contiguous piece of n items (pieces differ in size by at most one)."""
        if self.world == 1:
            return slice(0, n)
        base, extra = divmod(n, self.world)
        start = self.rank * base + min(self.rank, extra)
        return slice(start, start + base + (self.rank < extra))

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """DistributedDataParallel around the model under torchrun; the model itself otherwise."""
        if self.world == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [self.local_rank] if self.backend == "nccl" else None
        return DistributedDataParallel(model, device_ids=device_ids)

    # -- collectives (identities for a single process) -------------------------------------

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        if self.world > 1:
            t = t.clone()
            dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t

    def gather(self, t: torch.Tensor) -> torch.Tensor:
        """Every process's rows, concatenated in rank order (the shards in their order)."""
        if self.world == 1:
            return t
        parts = [None] * self.world
        dist.all_gather_object(parts, t.cpu())
        return torch.cat(parts)

    def gather_objects(self, obj) -> list:
        if self.world == 1:
            return [obj]
        parts = [None] * self.world
        dist.all_gather_object(parts, obj)
        return parts

    def broadcast_object(self, obj):
        if self.world == 1:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]



def leave_process_group(completed: bool) -> None:
    """Leave torchrun's process group at the end of a run (nothing without torchrun).

    After a completed run every process waits for the others (rank 0 may still be writing
    the run folder) and then destroys the group. After a failure it does neither:
    a peer may be inside a collective, where destroying the group can deadlock; torchrun
    ends the other processes."""
    if dist.is_available() and dist.is_initialized() and completed:
        dist.barrier()
        dist.destroy_process_group()
