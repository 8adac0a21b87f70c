"""One training epoch of the Fashion-MNIST MLP in our NumPy library and in PyTorch (CPU).

    .venv/bin/python benchmarks/mlp.py [--repeats 3] [--threads N]

The same network and recipe as `backproplab fashion` (784 → 512 → 512 → 10 with
BatchNorm, ReLU, dropout; SGD with Nesterov momentum; batch 256), float32, the same
thread count for NumPy's BLAS and torch, on the 55,000 training images (random pixels
of the same shape if Fashion-MNIST is not installed). Prints the median epoch time of
each and the ratio NumPy / PyTorch (goal: <= 1.5).
"""

from __future__ import annotations

import argparse
import os
import platform

from timing import time_it, use_threads


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    args = p.parse_args()
    use_threads(args.threads)
    import numpy as np
    import torch

    from backproplab.data.dataset import Dataset
    from backproplab.data.discovery import DataNotFoundError
    from backproplab.fashion import FashionConfig, as_inputs, load_splits, numpy_layers, schedule, torch_mlp
    from backproplab.nn.models import NeuralNetwork
    from backproplab.nn.optimizers import SGD
    from backproplab.torch_training import Split, train_epoch

    c = FashionConfig().resolved()
    try:
        splits = load_splits(c)
        source = "Fashion-MNIST"
    except DataNotFoundError:
        rng = np.random.default_rng(0)
        fake = lambda n: (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n))  # noqa: E731
        splits = {"train": fake(55000), "validate": fake(5000), "test": fake(10000)}
        source = "random pixels (Fashion-MNIST not found)"
    data = Dataset({s: (as_inputs(X, "mlp"), y) for s, (X, y) in splits.items()}, n_classes=10,
                   batch_size=c.batch_size, per_feature=False)

    model = NeuralNetwork(numpy_layers(c), optimizer=SGD(c.lr, schedule(c), momentum=c.momentum, nesterov=True,
                                                          weight_decay=c.weight_decay), seed=0, n_classes=10)
    X_train, y_train = data.split("train")
    shuffle = np.random.default_rng(0)

    def numpy_epoch():  # the training pass only: no validation, like the torch side
        model.set_training(True)
        for b, (X, Y) in enumerate(data.batches("train", rng=shuffle)):
            out = model.forward(X)
            model.backward(Y, out)
            model.update(b / data.n_batches("train"))

    tmodel = torch_mlp(c, 784, 10)
    opt = torch.optim.SGD(tmodel.parameters(), lr=c.lr, momentum=c.momentum, nesterov=True,
                          weight_decay=c.weight_decay)
    tdata = Split(torch.from_numpy(X_train), torch.from_numpy(y_train))

    def torch_epoch():
        train_epoch(tmodel, opt, schedule(c), tdata, c.batch_size, shuffle, 0)

    t_np, t_torch = time_it(numpy_epoch, args.repeats), time_it(torch_epoch, args.repeats)
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, threads={args.threads}, numpy {np.__version__}, "
          f"torch {torch.__version__}; data: {source}")
    print("| one training epoch, 55,000 images, batch 256, float32 | NumPy (s) | PyTorch (s) | ratio NumPy / PyTorch |")
    print("|---|---:|---:|---:|")
    print(f"| MLP 784-512-512-10, BatchNorm, dropout 0.3 | {t_np:.2f} | {t_torch:.2f} | {t_np / t_torch:.2f} |")


if __name__ == "__main__":
    main()
