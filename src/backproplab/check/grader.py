"""``backproplab check PATH``: grade a learner's ``neural_networks`` package part by part.

1. Find the package (PATH holds ``neural_networks/``, or is the package folder itself).
2. Import each of its modules once in a child (``probe``): a module that does not load
   (a SyntaxError, a missing library, a blank left in) gives every part in it that
   verdict at once, and a class the package does not have (an earlier term's homework
   has no ``Pool2D``) is "not implemented", not counted against the package.
3. Run every other part in its own child, two or more at a time, and judge it as it
   finishes; ``NeuralNetwork.train`` runs last, so that a failure can name the parts it
   relies on.
"""

from __future__ import annotations

import fnmatch
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UsageError
from .judge import VERDICTS, Context, Finding
from .judge_layers import judge_activation, judge_layer, judge_loss
from .judge_model import judge_model, judge_train
from .parts import PART_NAMES, PARTS, Part, Prepared, prepare
from .sandbox import ChildOutcome, run_child

JUDGES = {"activation": judge_activation, "layer": judge_layer, "loss": judge_loss, "model": judge_model,
          "train": judge_train}
MODULE_FILES = ("activations.py", "layers.py", "losses.py", "models.py")
#: training runs many steps of the learner's code: its time limit is this many part limits
TRAIN_TIME_FACTOR = 4


@dataclass
class Report:
    path: str
    seed: int
    findings: list[Finding]
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        """0 when every part the package has passes; absent classes do not count."""
        return 0 if all(f.verdict == "pass" for f in self.findings if not f.absent) else 1

    def summary(self) -> dict:
        counts = {v: sum(f.verdict == v for f in self.findings) for v in VERDICTS}
        return {**counts, "parts": len(self.findings), "absent": sum(f.absent for f in self.findings),
                "seconds": round(self.seconds, 2), "exit_status": self.exit_status}


def locate_package(path: str | os.PathLike) -> tuple[Path, Path]:
    """(the package folder, the folder that holds it)."""
    where = Path(path)
    if not where.exists():
        raise UsageError(f"{path}: no such file or folder; give the folder that holds your neural_networks/ "
                         "package (or the package folder itself)")
    if (where / "neural_networks").is_dir():
        return (where / "neural_networks").resolve(), where.resolve()
    if where.is_dir() and any((where / name).is_file() for name in MODULE_FILES):
        return where.resolve(), where.resolve().parent
    raise UsageError(f"{path}: holds no neural_networks/ package and none of {', '.join(MODULE_FILES)}; give the "
                     "folder that holds your neural_networks/ package, or the package folder itself")


def select_parts(patterns: list[str] | None) -> list[Part]:
    """The parts whose names match any of the patterns (shell-style, e.g. 'Conv2D.*')."""
    if not patterns:
        return list(PARTS)
    names = [p.strip() for pattern in patterns for p in pattern.split(",") if p.strip()]
    chosen = [part for part in PARTS if any(fnmatch.fnmatchcase(part.name, n) for n in names)]
    if not chosen:
        raise UsageError(f"--parts {','.join(names)} matches no part; the parts are: {', '.join(PART_NAMES)}")
    return chosen


def check_package(path, seed: int = 0, parts: list[str] | None = None, timeout: float = 10.0,
                  memory_mb: int = 2048, workers: int | None = None) -> Report:
    package_dir, root = locate_package(path)
    chosen = select_parts(parts)
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    ctx = Context(str(root), timeout)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="backproplab-check-", ignore_cleanup_errors=True) as scratch:
        runner = _Runner(Path(scratch), package_dir, seed, timeout, memory_mb)
        found = {}
        with ThreadPoolExecutor(workers) as pool:
            modules = sorted({p.module for p in chosen}, key=[p.module for p in PARTS].index)
            probes = dict(zip(modules, pool.map(runner.probe, modules, [chosen] * len(modules))))
            todo = []
            for part in chosen:
                early = _from_probe(part, probes[part.module], ctx)
                if early:
                    found[part.name] = early
                else:
                    todo.append(part)
            first = [p for p in todo if p.procedure != "train"]
            for part, outcome, prepared in pool.map(runner.run_part, first):
                found[part.name] = _judged(part, prepared, outcome, ctx)
            ctx.findings = dict(found)
            for part in [p for p in todo if p.procedure == "train"]:
                _, outcome, prepared = runner.run_part(part, TRAIN_TIME_FACTOR * timeout)
                found[part.name] = _judged(part, prepared, outcome, ctx)
    findings = [found[p.name] for p in chosen]
    return Report(str(path), seed, findings, time.monotonic() - start)


class _Runner:
    """Writes each child's task folder and runs it."""

    def __init__(self, scratch: Path, package_dir: Path, seed: int, timeout: float, memory_mb: int) -> None:
        self.scratch, self.package_dir, self.seed = scratch, package_dir, seed
        self.timeout, self.memory_bytes = timeout, memory_mb * 2**20

    def _launch(self, name: str, task: dict, inputs: dict, timeout: float) -> ChildOutcome:
        folder = self.scratch / name
        (folder / "work").mkdir(parents=True)
        task = {**task, "package_dir": str(self.package_dir), "memory_bytes": self.memory_bytes,
                "cpu_seconds": int(3 * timeout) + 10}
        (folder / "task.json").write_text(json.dumps(task))
        np.savez(folder / "inputs.npz", **inputs)
        return run_child(folder, timeout)

    def probe(self, module: str, parts: list[Part]) -> ChildOutcome:
        specs = [p.class_spec() for p in PARTS if p.module == module]
        task = {"procedure": "probe", "module": module, "classes": specs, "seed": self.seed}
        return self._launch(f"probe-{module}", task, {}, self.timeout)

    def run_part(self, part: Part, timeout: float | None = None):
        prepared = prepare(part, self.seed)
        outcome = self._launch(part.name, prepared.task, prepared.inputs, timeout or self.timeout)
        return part, outcome, prepared


def _from_probe(part: Part, probe: ChildOutcome, ctx: Context) -> Finding | None:
    """The part's finding when its module did not load or lacks its class; else None."""
    from .judge import error_problem

    module = f"{part.module}.py"
    f = Finding(part.name, seconds=0.0)
    if probe.status == "timeout":
        return f.worse("timeout", f"importing {module} did not finish within {ctx.timeout:g} s (code at the top "
                                  "level of a file that runs forever or far too long?)")
    if probe.status == "crashed":
        return f.worse("error", f"importing {module} ended the process (exit status {probe.returncode}): does a "
                                "file call os._exit or crash at import?")
    info = probe.calls.get("import") or {}
    if info.get("kind") == "error":
        verdict, cause, rule = error_problem(info, f"importing {module}", ctx)
        f = f.worse("error" if verdict != "not implemented" else verdict, cause, rule)
        _attach_output(f, probe)
        return f
    found = (probe.calls.get("classes") or {}).get("found", {})
    if found.get(part.cls) is None:
        f = f.worse("not implemented", f"{module} has no class {part.cls} (an earlier term's homework?); not counted "
                                       "against the package", "absent")
        f.absent = True
        return f
    return None


def _judged(part: Part, prepared: Prepared, outcome: ChildOutcome, ctx: Context) -> Finding:
    if outcome.status == "timeout":
        limit = outcome.seconds
        f = Finding(part.name).worse("timeout", f"did not finish within {limit:.0f} s: an endless loop, or far too "
                                                "slow for these small inputs (--timeout gives it longer)", "timeout")
    elif outcome.status == "crashed":
        code = outcome.returncode
        how = (f"was killed by signal {-code}" if code is not None and code < 0 else
               f"ended with exit status {code}")
        f = Finding(part.name).worse("error", f"the process {how} inside your code before it returned (os._exit? "
                                              "a crash in a C library? the memory limit?)", "exit")
    elif outcome.setup != "ok":
        from .judge import error_problem

        f = Finding(part.name).worse(*error_problem(outcome.calls.get("import", {}), "importing the package", ctx))
    else:
        f = JUDGES[part.procedure](prepared, outcome, ctx)
        if f.verdict == "wrong" and not f.cause:
            f.cause = next((line.strip() for line in f.detail if "differs" in line), "differs from the right result")
    f.seconds = round(outcome.seconds, 2)
    _attach_output(f, outcome)
    return f


def _attach_output(f: Finding, outcome: ChildOutcome) -> None:
    if f.verdict != "pass" and outcome.output.strip():
        shown = outcome.output[:2000]
        cut = f" (the first 2,000 of {outcome.output_bytes:,} bytes)" if outcome.output_bytes > len(shown) else ""
        f.detail.append(f"your code printed{cut}:\n" + "\n".join("    " + line for line in shown.splitlines()))
