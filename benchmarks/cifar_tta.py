"""What each test-time augmentation level gives a trained CIFAR-10 model: reload the
final checkpoint of each run folder and score validation and test at levels 0, 1, 2.

    .venv/bin/python benchmarks/cifar_tta.py RUN_FOLDER [RUN_FOLDER ...]

Level 0 is the image alone, 1 adds its mirror image, 2 adds both moved one pixel
diagonally each way (``backproplab.cifar.make_tta``). A level is chosen on the
validation columns; the test columns are printed to record what the choice gives.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="run folders written by backproplab cifar")
    args = p.parse_args()
    import torch

    from backproplab.cifar import CifarConfig, build_model, channel_stats, load_splits, make_tta, to_tensor
    from backproplab.runs.checkpoint import load_checkpoint
    from backproplab.torch_training import predict_logits

    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, CPU")
    print("| run | level | validation accuracy | test accuracy | test evaluation (s) |")
    print("|---|---:|---:|---:|---:|")
    for folder in map(Path, args.runs):
        saved = json.loads((folder / "config.json").read_text())
        c = CifarConfig(**{f.name: saved[f.name] for f in dataclasses.fields(CifarConfig)})
        splits = load_splits(c)
        mean, std = channel_stats(splits["train"][0])  # the run's normalisation
        model = build_model(c).to(memory_format=torch.channels_last)
        model.load_state_dict(load_checkpoint(folder / "checkpoint.pt")["model"])
        data = {s: (to_tensor(splits[s][0], mean, std, "cpu", channels_last=True), torch.from_numpy(splits[s][1]))
                for s in ("validate", "test")}

        def score(split: str, level: int) -> tuple[float, float]:
            """(accuracy, seconds) of one split at one level."""
            X, y = data[split]
            start = time.perf_counter()
            with torch.no_grad():
                correct = (predict_logits(model, X, tta=make_tta(level)).argmax(1) == y).sum().item()
            return correct / len(y), time.perf_counter() - start

        for level in (0, 1, 2):
            (val, _), (test, seconds) = score("validate", level), score("test", level)
            print(f"| {folder.name} | {level} | {val:.2%} | {test:.2%} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
