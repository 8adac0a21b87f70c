"""The ``gpu`` profile beside airbench94 on the same card, in the same session.

    python benchmarks/gpu_airbench.py --cifar DIR/cifar-10-batches-py --airbench PATH/airbench94.py \\
        [--seeds 0 1] [--epochs 10 12] [--airbench-runs 10] [--out DIR]

airbench94 (Keller Jordan's published recipe, fetched separately and never part of this
project) reads ``cifar10/train.pt`` and ``test.pt`` beside where it runs; this script writes
them from the same CIFAR-10 copy our pipeline reads, runs the recipe unchanged, then runs
``backproplab cifar --profile gpu`` for each number of epochs and seed, and prints one
table: test accuracy, the time each recipe counts as training, ours from the first step
to ``predictions.csv``, and the whole command; ``results.json`` also holds every epoch's
validation accuracy (ours) and test accuracy (airbench94's, without its test-time
augmentation).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def write_airbench_data(cifar_dir: Path, folder: Path) -> None:
    import torch

    from backproplab.data import cifar10

    data = cifar10.load(cifar_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for part, name in (("train", "train.pt"), ("test", "test.pt")):
        images, labels = data[part]  # NHWC uint8, int labels
        torch.save({"images": torch.from_numpy(images.copy()), "labels": torch.from_numpy(labels.astype("int64")),
                    "classes": list(cifar10.CLASSES)}, folder / name)


def run_airbench(script: Path, work: Path, runs: int) -> dict:
    """Run the recipe ``runs`` times (its own loop, shortened) and parse its table."""
    source = script.read_text().replace("for run in range(25)", f"for run in range({runs})")
    (work / "airbench94_run.py").write_text(source)
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "airbench94_run.py"], cwd=work, capture_output=True, text=True)
    wall = time.perf_counter() - t
    print(out.stdout[-4000:], out.stderr[-2000:], sep="\n", flush=True)
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in out.stdout.splitlines()
            if line.count("|") >= 7]
    header, body = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(header)}
    finals = [r for r in body if r[col["epoch"]] == "eval"]
    epochs = [r for r in body if r[col["epoch"]] not in ("eval", "epoch")]
    to90, run_rows, current = [], [], []  # each run's rows end at its 'eval' row
    for r in body:
        current.append(r)
        if r[col["epoch"]] == "eval":
            run_rows.append(current)
            current = []
    for rows_of_run in run_rows:
        hit = [float(r[col["total_time_seconds"]]) for r in rows_of_run
               if r[col["epoch"]] != "eval" and float(r[col["val_acc"]]) >= 0.90]
        to90.append(hit[0] if hit else None)
    accs = [float(r[col["tta_val_acc"]]) for r in finals]
    times = [float(r[col["total_time_seconds"]]) for r in finals]
    return {"accuracies": accs, "train_seconds": times, "seconds_to_90": to90, "wall_seconds": wall,
            "epoch_rows": len(epochs), "returncode": out.returncode}


def run_ours(cifar_dir: Path, out: Path, seed: int, extra: list[str], device: str = "cuda") -> dict:
    name = f"gpu-s{seed}" + "".join(f"-{a.strip('-')}" for a in extra)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "backproplab", "cifar", "--profile", "gpu", "--device", device,
                           "--seed", str(seed), "--data-dir", str(cifar_dir), "--out", str(out), "--name", name,
                           "--no-progress", *extra], capture_output=True, text=True)
    wall = time.perf_counter() - t
    print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n", flush=True)
    if proc.returncode:
        return {"seed": seed, "returncode": proc.returncode, "wall_seconds": wall}
    summary = json.loads((out / name / "summary.json").read_text())
    import csv

    rows = list(csv.DictReader((out / name / "metrics.csv").open()))
    elapsed, to90 = 0.0, None
    for r in rows:
        elapsed += float(r["seconds"])
        if to90 is None and float(r["val_accuracy"]) >= 0.90:
            to90 = elapsed
    return {"seed": seed, "extra": extra, "test_accuracy": summary.get("test_accuracy"),
            "train_seconds": summary.get("train_seconds"), "eval_seconds": summary.get("eval_seconds"),
            "predict_seconds": summary.get("predict_seconds"), "seconds_to_90": to90, "wall_seconds": wall,
            "val_accuracy": [float(r["val_accuracy"]) for r in rows]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cifar", type=Path, required=True, help="folder holding cifar-10-batches-py's files")
    p.add_argument("--airbench", type=Path, required=True, help="airbench94.py (the legacy, uncompiled file)")
    p.add_argument("--airbench-runs", type=int, default=10)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--epochs", type=int, nargs="+", default=[10], help="epochs of our runs (each with every seed)")
    p.add_argument("--out", type=Path, default=Path("gpu-airbench"))
    args = p.parse_args()
    import torch

    print(f"# {torch.cuda.get_device_name()}; PyTorch {torch.__version__}; {time.strftime('%Y-%m-%d')}", flush=True)
    results = {"device": torch.cuda.get_device_name(), "torch": torch.__version__}
    work = args.out / "airbench"
    write_airbench_data(args.cifar, work / "cifar10")
    results["airbench94"] = run_airbench(args.airbench, work, args.airbench_runs)
    results["ours"] = [run_ours(args.cifar, args.out / "runs", s, ["--epochs", str(e)])
                       for e in args.epochs for s in args.seeds]
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    print(table(results))


def table(results: dict) -> str:
    """Markdown: airbench94 (mean of its runs after the first, which warms the GPU up) and
    each run of ours."""
    import statistics

    a = results["airbench94"]
    lines = [f"{results['device']}, PyTorch {results['torch']}", "",
             "| recipe | test accuracy | training (s) | first step → predictions (s) | whole command (s) |",
             "|---|---:|---:|---:|---:|",
             f"| airbench94, {len(a['accuracies'])} runs (mean; time: median after the first) | "
             f"{statistics.mean(a['accuracies']):.2%} | {statistics.median(a['train_seconds'][1:]):.2f} | — | "
             f"{a['wall_seconds']:.0f} for all runs |"]
    for r in results["ours"]:
        if "test_accuracy" not in r:
            lines.append(f"| ours, seed {r['seed']}: failed (exit {r.get('returncode')}) | | | | |")
            continue
        first_to_csv = r["train_seconds"] + r["eval_seconds"] + r["predict_seconds"]
        lines.append(f"| gpu profile {' '.join(r['extra'])}, seed {r['seed']} | {r['test_accuracy']:.2%} | "
                     f"{r['train_seconds']:.2f} | {first_to_csv:.1f} | {r['wall_seconds']:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
