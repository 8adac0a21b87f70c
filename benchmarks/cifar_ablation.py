"""What each part of a CIFAR-10 profile adds: the profile as it is, then with one part
removed or changed per row, each trained end to end (``backproplab cifar``, seed 0) and
scored on the test set.

    .venv/bin/python benchmarks/cifar_ablation.py [--profile cpu] [--isa avx2] [--rows NAME,...]

Time = first training step to predictions.csv written (see cifar_time_to_accuracy.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from cifar_time_to_accuracy import run_profile
from timing import ISA

#: (row name, what it changes, the flags that change it)
ROWS = [
    ("recipe", "the profile as it is", []),
    ("full resolution", "whitening stride 1: the first stage works on 31×31 maps, 4× the work", ["--whiten-stride",
                                                                                              "1"]),
    ("no Lookahead", "no moving average of the weights", ["--no-lookahead"]),
    ("no flips", "no horizontal flips", ["--no-flip"]),
    ("no translation", "no random translation", ["--crop-padding", "0"]),
    ("no label smoothing", "plain cross-entropy", ["--label-smoothing", "0"]),
    ("TTA 1", "test-time augmentation: the image and its mirror only", ["--tta", "1"]),
    ("TTA 0", "no test-time augmentation", ["--tta", "0"]),
    ("ReLU", "ReLU instead of GELU", ["--activation", "relu"]),
    ("bias lr ×1", "BatchNorm and whitening biases at the weights' learning rate", ["--bias-lr-scale", "1"]),
    ("lr ends at 0", "the schedule falls to 0 instead of 7% of the peak", ["--lr-end", "0"]),
    ("whitening bias frozen", "the whitening layer's bias never trains", ["--whiten-bias-epochs", "0"]),
    ("one conv per stage", "one 3×3 convolution per stage instead of two", ["--convs-per-block", "1"]),
    ("logits ×1", "no fixed temperature on the logits", ["--scale", "1"]),
    ("BatchNorm momentum 0.1", "PyTorch's default weight of each batch in the running statistics",
     ["--bn-momentum", "0.1"]),
    ("no warm start", "the learning rate warms up from 0 instead of 20% of the peak", ["--lr-start", "0"]),
]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--isa", choices=sorted(ISA), default="avx2")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rows", help="comma-separated row names (default: all)")
    args = p.parse_args()
    env = {**os.environ, **ISA[args.isa]}
    print(subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, 'benchmarks'); import timing; "
                          "print(timing.machine())"], env=env, capture_output=True, text=True).stdout.strip())
    print(f"| {args.profile} profile, seed {args.seed} | change | test accuracy | Δ | first step → predictions (s) |")
    print("|---|---|---:|---:|---:|")
    wanted = set(args.rows.split(",")) if args.rows else None
    base = None
    for name, what, flags in ROWS:
        if wanted and name not in wanted and name != "recipe":
            continue
        s = run_profile(args.profile, args.seed, args.isa, flags)
        total = s["train_seconds"] + s["eval_seconds"] + s["predict_seconds"]
        base = s["test_accuracy"] if base is None else base
        delta = "—" if name == "recipe" else f"{100 * (s['test_accuracy'] - base):+.2f}"
        print(f"| {name} | {what} | {s['test_accuracy']:.2%} | {delta} | {total:.0f} |", flush=True)


if __name__ == "__main__":
    main()
