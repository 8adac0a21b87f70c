"""Iris test accuracy of the default two-layer network over split seeds and model seeds.

    .venv/bin/python benchmarks/iris_splits.py

With 30 test flowers one error moves accuracy by 3.3 points, so the split matters as
much as the model: this table shows how much (docs/iris.md discusses it).
"""

from __future__ import annotations

import tempfile

import numpy as np

from backproplab.iris import IrisConfig, train_run


def main() -> None:
    print("| split seed | test accuracy, model seeds 0..4 | mean |")
    print("|---:|---|---:|")
    means = []
    for split in range(10):
        with tempfile.TemporaryDirectory() as out:
            accs = [train_run(IrisConfig(seed=s, split_seed=split), out=out, show_progress=False)["test_accuracy"]
                    for s in range(5)]
        means.append(np.mean(accs))
        print(f"| {split} | {', '.join(f'{a:.1%}' for a in accs)} | {np.mean(accs):.1%} |", flush=True)
    print(f"\nmean over splits {np.mean(means):.1%}, median {np.median(means):.1%}")


if __name__ == "__main__":
    main()
