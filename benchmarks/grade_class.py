"""How fast `backproplab grade` grades a class: a corpus of real learners' packages, scaled
by repetition to a class of N submissions, graded with --jobs J; the wall clock, the
submissions per minute, and the median seconds one submission took in its worker.

    python benchmarks/grade_class.py CORPUS [--size 300] [--jobs 2] [--keep FOLDER] [grade's flags]

CORPUS holds one folder (or .zip) per submission, as `backproplab grade` takes it. The class
is made of hard links to the corpus (every copy a submission of its own), in a temporary
folder. Prints the machine (CPU model, the SIMD flags that matter to NumPy, cores) and the
date, for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def machine() -> str:
    model, flags, family = platform.processor() or "?", set(), {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = (part.strip() for part in line.partition(":"))
            if key == "model name":
                model = value
            elif key in ("cpu family", "model"):
                family.setdefault(key, value)
            elif key == "flags":
                flags = set(value.split())
    except OSError:
        pass
    simd = [f for f in ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16") if f in flags]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    shown = ", ".join(simd) or "none of avx2/avx512"
    if family:
        model += f" (family {family.get('cpu family')}, model {family.get('model')})"
    return f"{model}; flags {shown}; {cores} cores; Python {platform.python_version()}"


def build(corpus: Path, size: int, into: Path) -> int:
    entries = sorted(p for p in corpus.iterdir() if not p.name.startswith("."))
    into.mkdir()
    for i in range(size):
        source = entries[i % len(entries)]
        target = into / f"{i // len(entries):03d}-{source.name}"
        if source.is_dir():
            shutil.copytree(source, target, copy_function=os.link, symlinks=True)
        else:
            os.link(source, target)
    return len(entries)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--size", type=int, default=300)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", type=Path, help="keep the output folder here")
    args, grade_args = ap.parse_known_args()  # any other flag goes to backproplab grade
    with tempfile.TemporaryDirectory() as scratch:
        distinct = build(args.corpus, args.size, Path(scratch) / "class")
        out = args.keep or Path(scratch) / "out"
        command = [sys.executable, "-m", "backproplab", "grade", str(Path(scratch) / "class"), "--out", str(out),
                   "--jobs", str(args.jobs), "--no-progress", "--overwrite",
                   *grade_args]
        load_before, start = os.getloadavg()[0], time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True)
        wall, load_after = time.monotonic() - start, os.getloadavg()[0]
        if not (out / "gradebook.json").exists():
            sys.exit(f"backproplab grade wrote no gradebook (exit status {done.returncode}):\n{done.stderr[-3000:]}")
        book = json.loads((out / "gradebook.json").read_text())
        seconds = [json.loads(p.read_text())["seconds"] for p in (out / ".partial").glob("*.json")]
    graded = sum(e["status"] == "graded" for e in book["submissions"])
    print(f"{datetime.date.today()}  {machine()}")
    print(f"{args.size} submissions ({distinct} distinct packages, repeated), --jobs {args.jobs}: {wall:.0f} s "
          f"wall clock, {60 * args.size / wall:.1f} submissions per minute; {graded} graded; one submission "
          f"in its worker: median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s; exit status "
          f"{done.returncode}; load average {load_before:.1f} before, {load_after:.1f} after")
    if done.returncode not in (0, 1):
        print(done.stderr[-2000:], file=sys.stderr)


if __name__ == "__main__":
    main()
