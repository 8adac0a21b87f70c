"""One training epoch of the Fashion-MNIST MLP in our NumPy library and in PyTorch (CPU).

    .venv/bin/python benchmarks/mlp.py [--repeats 3] [--threads N] [--isa avx2]

The network and recipe of `backproplab fashion` (its default profile), float32, the same
thread count for NumPy's BLAS and torch, one pass over the 55,000 training images
(random pixels of the same shape if Fashion-MNIST is not installed). Prints the median
epoch time of each and the ratio NumPy / PyTorch. ``--isa avx2`` holds PyTorch to AVX2
(NumPy's OpenBLAS kernel is chosen by OPENBLAS_CORETYPE; the line printed first says
which).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from timing import ISA, machine, time_it, use_threads


def measure(repeats: int, threads: int) -> None:
    use_threads(threads)
    import numpy as np

    from backproplab import settings
    from backproplab.data.dataset import Standardizer
    from backproplab.data.discovery import DataNotFoundError
    from backproplab.pipelines.fashion import FashionConfig, as_inputs, load_splits, numpy_trainer, schedule
    from backproplab.pipelines.fashion_torch import torch_trainer

    c = settings.resolve(FashionConfig(device="cpu", threads=threads))
    try:
        splits, source = load_splits(c), "Fashion-MNIST"
    except DataNotFoundError:
        rng = np.random.default_rng(0)
        fake = lambda n: (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n))  # noqa: E731
        splits, source = {"train": fake(55000), "validate": fake(5000), "test": fake(10000)}, "random pixels"
    standardize = Standardizer.fit(as_inputs(splits["train"][0], "mlp"), per_feature=False)
    data = {s: (standardize(as_inputs(X, "mlp")), y) for s, (X, y) in splits.items()}
    numpy_side, _ = numpy_trainer(c, data)
    torch_side, _ = torch_trainer(c, data, schedule(c))
    t_np = time_it(lambda: numpy_side.train_epoch(0, lambda f: None), repeats)
    t_torch = time_it(lambda: torch_side.train_epoch(0, lambda f: None), repeats)
    print(machine() + f"; numpy {np.__version__} (OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'auto')});"
          f" data: {source}")
    print("| one training epoch, 55,000 images, float32 | NumPy (s) | PyTorch (s) | ratio NumPy / PyTorch |")
    print("|---|---:|---:|---:|")
    print(f"| MLP 784-{'-'.join(map(str, c.hidden))}-10, batch {c.batch_size} | {t_np:.2f} | {t_torch:.2f} | "
          f"{t_np / t_torch:.2f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--isa", choices=sorted(ISA), default="native")
    args = p.parse_args()
    if os.environ.get("_BACKPROPLAB_CHILD"):
        measure(args.repeats, args.threads)
        return
    env = {**os.environ, **ISA[args.isa], "_BACKPROPLAB_CHILD": "1"}
    sys.exit(subprocess.run([sys.executable, __file__, "--repeats", str(args.repeats), "--threads",
                             str(args.threads)], env=env).returncode)


if __name__ == "__main__":
    main()
