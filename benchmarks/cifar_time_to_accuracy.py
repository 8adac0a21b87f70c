"""Time to accuracy of the CIFAR-10 profiles, as a user runs them: ``backproplab cifar``
end to end in a fresh process, its predictions.csv scored against the test labels.

    .venv/bin/python benchmarks/cifar_time_to_accuracy.py --profile sprint [--seeds 0,1] [--isa avx2]

Time = wall time from the first training step to predictions.csv written (training,
the per-epoch validation and checkpoints, and the final test-time augmentation), read
from the run's summary.json; it is also given without the per-epoch validation and
checkpoints, and their share. ``--isa avx2`` holds PyTorch to AVX2 (see timing.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import ISA


def run_profile(profile: str, seed: int, isa: str, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, **ISA[isa], "BACKPROPLAB_PROGRESS": "0"}
        subprocess.run([sys.executable, "-m", "backproplab", "cifar", "--profile", profile, "--seed", str(seed),
                        "--out", out, "--name", "r", "--device", "cpu", *extra], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        summary = json.loads((Path(out) / "r" / "summary.json").read_text())
        config = json.loads((Path(out) / "r" / "config.json").read_text())
    return {**summary, "cpu_capability": config["cpu_capability"], "threads": config["threads"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--seeds", default="0,1", help="comma-separated seeds")
    p.add_argument("--isa", choices=sorted(ISA), default="native")
    p.add_argument("extra", nargs="*", help="more flags for backproplab cifar (after --)")
    args = p.parse_args()
    env = {**os.environ, **ISA[args.isa]}
    print(subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, 'benchmarks'); import timing; "
                          "print(timing.machine())"], env=env, capture_output=True, text=True).stdout.strip())
    print("| profile | seed | ISA | epochs | test accuracy | first step → predictions.csv (s) | without validation "
          "and checkpoints (s) | their share |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for seed in map(int, args.seeds.split(",")):
        s = run_profile(args.profile, seed, args.isa, args.extra)
        total = s["train_seconds"] + s["eval_seconds"] + s["predict_seconds"]
        bare = s["train_seconds"] + s["predict_seconds"]
        print(f"| {s['profile']} | {seed} | {s['cpu_capability']} | {s['epochs']} | {s['test_accuracy']:.2%} | "
              f"{total:.1f} | {bare:.1f} | {s['eval_seconds'] / total:.1%} |", flush=True)


if __name__ == "__main__":
    main()
