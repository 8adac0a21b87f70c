"""Time to accuracy of the CIFAR-10 pipeline: train a profile, evaluate the test set after
every epoch, and report when test accuracy first reached the target.

    .venv/bin/python benchmarks/cifar_time_to_accuracy.py [--profile cpu] [--target 0.75] [--seeds 0]

The time is the training wall time (training passes plus the per-epoch validation),
not counting the benchmark's own test evaluations or reading the data. A normal run
never looks at the test set before the end; only this benchmark does, to time it.
The per-epoch test accuracy uses the per-epoch evaluation (test-time augmentation
level 1); the final test accuracy is the run's own, at the profile's level (2).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--target", type=float, default=0.75)
    p.add_argument("--seeds", default="0", help="comma-separated seeds")
    p.add_argument("--device", default="auto")
    p.add_argument("--epochs", type=int)
    args = p.parse_args()
    import torch

    from backproplab.cifar import CifarConfig, run

    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, device {args.device}"
          + (f" ({torch.cuda.get_device_name()})" if torch.cuda.is_available() else ""))
    print(f"| profile | seed | epochs | time to {args.target:.1%} test (s) | epoch reached | final test | "
          "training time (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for seed in map(int, args.seeds.split(",")):
        with tempfile.TemporaryDirectory() as out:
            s = run(CifarConfig(profile=args.profile, seed=seed, device=args.device, epochs=args.epochs), out=out,
                    show_progress=False, time_test_accuracy=True)
        hit = next((r for r in s["rows"] if r["test_accuracy"] >= args.target), None)
        when = f"{hit['elapsed']:.1f}" if hit else "not reached"
        print(f"| {s['profile']} | {seed} | {s['epochs']} | {when} | {hit['epoch'] if hit else '—'} | "
              f"{s['test_accuracy']:.2%} | {s['train_seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
