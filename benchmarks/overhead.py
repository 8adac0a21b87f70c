"""What a `backproplab all` job (``make run``) spends outside training, stage by stage,
from the job's own records: ``all.json`` (each stage's seconds) and each run's
``summary.json`` (its training steps, per-epoch validation with checkpoints, and test
predictions with test-time augmentation). A stage whose summary gives no training time
is a sweep (Iris's cross-validation: a hundred small trainings) and counts as training.

    .venv/bin/python benchmarks/overhead.py experiments/homework [--whole SECONDS]

``--whole`` is the command's wall time (from ``time``), so that what lies outside every
stage (the interpreter, imports, the report) is counted too.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def stage_rows(out: Path) -> list[dict]:
    rows = []
    for stage in json.loads((out / "all.json").read_text())["stages"]:
        path = out / stage["folder"] / "summary.json"
        s = json.loads(path.read_text()) if path.is_file() else {}
        seconds = stage.get("seconds", 0.0)
        if "train_seconds" not in s and seconds >= 1:  # a sweep (Iris): cross-validation trains throughout
            s = {"train_seconds": seconds}
        rows.append({"name": stage["name"], "seconds": seconds,
                     **{k: s.get(f"{k}_seconds", 0.0) for k in ("train", "eval", "predict")}})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="the job's --out folder (make run: experiments/homework)")
    p.add_argument("--whole", type=float, help="the whole command's wall time in seconds")
    args = p.parse_args()
    rows = stage_rows(args.out)
    print("| stage | stage (s) | training steps (s) | validation + checkpoints (s) | test predictions (s) | "
          "the rest (s) | the rest, share of the stage |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        rest = r["seconds"] - r["train"] - r["eval"] - r["predict"]
        share = f"{rest / r['seconds']:.0%}" if r["seconds"] >= 1 else "—"
        print(f"| {r['name']} | {r['seconds']:.1f} | {r['train']:.1f} | {r['eval']:.1f} | {r['predict']:.1f} | "
              f"{rest:.1f} | {share} |")
    total = {k: sum(r[k] for r in rows) for k in ("seconds", "train", "eval", "predict")}
    whole = args.whole or total["seconds"]
    outside = whole - total["train"]
    print(f"| **all stages** | {total['seconds']:.1f} | {total['train']:.1f} | {total['eval']:.1f} | "
          f"{total['predict']:.1f} | {total['seconds'] - total['train'] - total['eval'] - total['predict']:.1f} | |")
    print(f"\nwhole command {whole:.1f} s; outside the training steps {outside:.1f} s ({outside / whole:.0%}); "
          f"outside the training steps, validation and test predictions "
          f"{whole - total['train'] - total['eval'] - total['predict']:.1f} s "
          f"({(whole - total['train'] - total['eval'] - total['predict']) / whole:.0%})")


if __name__ == "__main__":
    main()
