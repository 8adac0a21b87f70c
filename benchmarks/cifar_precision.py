"""float32 against bfloat16 autocast, as a user runs them: whole ``backproplab cifar`` (and
``fashion``) runs, fp32 and bf16 alternated, one seed after the other; the test accuracy,
the training time and their ratio, on this machine.

    .venv/bin/python benchmarks/cifar_precision.py [--profiles sprint cpu] [--seeds 0 1]
                                                   [--fashion] [--out DIR]

Each run is a fresh process, in its own run folder under ``--out`` (default: a temporary
folder, removed at the end); nothing else should run meanwhile. The last lines are the
mean accuracy change (bf16 − fp32, in points) and the training-time ratio of each profile.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import cpu_description

BACKPROPLAB = [sys.executable, "-m", "backproplab"]


def one_run(out: Path, pipeline: str, profile: str, seed: int, precision: str) -> dict:
    """The summary of one run (a new folder under ``out``)."""
    args = ["cifar", "--profile", profile] if pipeline == "cifar" else ["fashion", "--engine", "torch"]
    folder = out / f"{profile}-s{seed}-{precision}"
    subprocess.run([*BACKPROPLAB, *args, "--seed", str(seed), "--precision", precision, "--out", str(folder),
                    "--no-progress"], check=True, capture_output=True)
    [run] = [p for p in folder.iterdir() if (p / "summary.json").is_file()]
    return json.loads((run / "summary.json").read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profiles", nargs="*", default=["sprint", "cpu"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    p.add_argument("--fashion", action="store_true", help="also the Fashion-MNIST MLP in PyTorch")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    jobs = [("cifar", profile) for profile in args.profiles] + ([("fashion", "mlp")] if args.fashion else [])
    print(f"# {cpu_description()}; whole runs, fp32 and bf16 alternated")
    print("| run | seed | fp32 test accuracy | bf16 test accuracy | fp32 training (s) | bf16 training (s) | "
          "bf16 / fp32 time |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        totals = []
        for pipeline, profile in jobs:
            rows = []
            for seed in args.seeds:
                fp32, bf16 = (one_run(out, pipeline, profile, seed, q) for q in ("fp32", "bf16"))
                rows.append((fp32, bf16))
                print(f"| {pipeline} {profile} | {seed} | {fp32['test_accuracy']:.2%} | {bf16['test_accuracy']:.2%} | "
                      f"{fp32['train_seconds']:.0f} | {bf16['train_seconds']:.0f} | "
                      f"{bf16['train_seconds'] / fp32['train_seconds']:.2f} |", flush=True)
            gain = statistics.mean(100 * (b["test_accuracy"] - f["test_accuracy"]) for f, b in rows)
            ratio = sum(b["train_seconds"] for _, b in rows) / sum(f["train_seconds"] for f, _ in rows)
            totals.append(f"# {pipeline} {profile}: bf16 − fp32 = {gain:+.2f} points on average; training time "
                          f"bf16 / fp32 = {ratio:.2f}")
        print("\n".join(totals))


if __name__ == "__main__":
    main()
