"""One training epoch of the Fashion-MNIST MLP in our NumPy library and in PyTorch (CPU).

    .venv/bin/python benchmarks/mlp.py [--repeats 3] [--rounds 3] [--threads N] [--isa avx2]

The network and recipe of `backproplab fashion` (its default profile), float32, the same
thread count for NumPy's BLAS and torch, one pass over the 55,000 training images
(random pixels of the same shape if Fashion-MNIST is not installed), the engines
alternated. Prints the epoch time of each and the ratio NumPy / PyTorch in float32 (the
homework's parity bar), and PyTorch's epoch under bfloat16 autocast where it is native.
``--isa avx2`` holds PyTorch to AVX2
(NumPy's OpenBLAS kernel is chosen by OPENBLAS_CORETYPE; the line printed first says
which).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

from timing import ISA, machine, time_it, use_threads


def measure(repeats: int, threads: int, rounds: int) -> None:
    use_threads(threads)
    import numpy as np

    from backproplab import settings
    from backproplab.data.dataset import Standardizer
    from backproplab.data.discovery import DataNotFoundError
    from backproplab.pipelines.fashion import FashionConfig, as_inputs, load_splits, numpy_trainer, schedule
    from backproplab.pipelines.fashion_torch import torch_trainer

    c = settings.resolve(FashionConfig(device="cpu", threads=threads, precision="fp32"))
    try:
        splits, source = load_splits(c), "Fashion-MNIST"
    except DataNotFoundError:
        rng = np.random.default_rng(0)
        fake = lambda n: (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n))  # noqa: E731
        splits, source = {"train": fake(55000), "validate": fake(5000), "test": fake(10000)}, "random pixels"
    standardize = Standardizer.fit(as_inputs(splits["train"][0], "mlp"), per_feature=False)
    data = {s: (standardize(as_inputs(X, "mlp")), y) for s, (X, y) in splits.items()}
    import torch

    from backproplab.engines import precision

    numpy_side, _ = numpy_trainer(c, data)
    torch_side, _ = torch_trainer(c, data, schedule(c))
    native, _ = precision.choose("auto", torch.device("cpu"))
    kinds = ["numpy", "fp32"] + (["bf16"] if native == "bf16" else [])
    epoch = {"numpy": lambda: numpy_side.train_epoch(0, lambda f: None),
             "torch": lambda: torch_side.train_epoch(0, lambda f: None)}
    seconds = {k: [] for k in kinds}
    for _ in range(rounds):  # the engines alternated, so that a slow minute of the machine hits each alike
        for k in kinds:
            torch_side.autocast_dtype = precision.autocast_dtype(k)
            seconds[k].append(time_it(epoch["numpy" if k == "numpy" else "torch"], repeats))
    t = {k: min(v) for k, v in seconds.items()}
    # the ratio of each round's pair (measured a few seconds apart), so that a slow stretch of a
    # shared machine, which can last minutes, divides out instead of landing on one engine
    ratios = sorted(n / f for n, f in zip(seconds["numpy"], seconds["fp32"]))
    print(machine() + f"; numpy {np.__version__} (OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'auto')});"
          f" data: {source}; times: the fastest of {rounds} alternated medians of {repeats} epochs; ratio: the "
          f"median of the {rounds} rounds' NumPy / PyTorch (range)")
    print("| one training epoch, 55,000 images | NumPy float32 (s) | PyTorch float32 (s) | ratio NumPy / PyTorch | "
          "PyTorch bf16 autocast (s) |")
    print("|---|---:|---:|---:|---:|")
    bf16 = f"{t['bf16']:.2f}" if "bf16" in t else "— (no native bfloat16)"
    print(f"| MLP 784-{'-'.join(map(str, c.hidden))}-10, batch {c.batch_size} | {t['numpy']:.2f} | {t['fp32']:.2f} | "
          f"{statistics.median(ratios):.2f} ({ratios[0]:.2f}–{ratios[-1]:.2f}) | {bf16} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--isa", choices=sorted(ISA), default="native")
    args = p.parse_args()
    if os.environ.get("_BACKPROPLAB_CHILD"):
        measure(args.repeats, args.threads, args.rounds)
        return
    env = {**os.environ, **ISA[args.isa], "_BACKPROPLAB_CHILD": "1"}
    sys.exit(subprocess.run([sys.executable, __file__, "--repeats", str(args.repeats), "--threads",
                             str(args.threads), "--rounds", str(args.rounds)], env=env).returncode)


if __name__ == "__main__":
    main()
