"""The main job: every part of the homework in one command, then one report.

Stages, in order: the gradient-check table, the Iris sweep, the Fashion-MNIST MLP in
PyTorch and in NumPy, the NumPy CNN on Fashion-MNIST, and the CIFAR-10 CNN (the CPU
profile unless a GPU is found). A stage whose data cannot be found is skipped with the
reason and how to get the data; a stage that fails is reported; the others still run.
``all.json`` records what ran, and the report is built from the run folders.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path

from .data.discovery import DataNotFoundError
from .runs import RunExistsError, RunFolder
from .runs.folder import write_json
from .runs.progress import write

#: --quick: small slices of every data set, to check the whole job end to end in minutes
QUICK = {
    "iris": dict(lrs=[0.05, 0.5], hiddens=[4, 16], epochs=30),
    "fashion": dict(epochs=2, train_limit=2000, test_limit=500),
    "cnn": dict(epochs=1, train_limit=1000, test_limit=500),
    "cifar": dict(epochs=1, train_limit=1000, test_limit=500),
}


def gradcheck_stage(out: Path, overwrite: bool) -> None:
    from .nn.gradcheck import format_table, gradient_check_table

    rows = gradient_check_table()
    table = format_table(rows)
    write(table)
    with RunFolder(out / "gradcheck", overwrite=overwrite) as run:
        run.write_text("table.txt", table + "\n")
        run.write_json("summary.json", {
            "pipeline": "gradcheck", "count": len(rows), "passed_count": sum(r.passed for r in rows),
            "worst_error": max(r.error for r in rows),
            "rows": [{"component": r.component, "wrt": r.wrt, "shape": list(r.shape), "error": r.error,
                      "passed": r.passed} for r in rows]})
    if not all(r.passed for r in rows):
        raise AssertionError("a gradient check failed (see the table)")


def iris_stage(out: Path, overwrite: bool, quick: bool, show_progress: bool) -> None:
    from .iris import DEFAULT_GRID, IrisConfig, run_sweep

    q = QUICK["iris"] if quick else {}
    base = IrisConfig(epochs=q.get("epochs", IrisConfig.epochs))
    sweep = run_sweep(q.get("lrs", DEFAULT_GRID["lr"]), q.get("hiddens", DEFAULT_GRID["hidden"]), base,
                      out=out, name="iris-sweep", overwrite=overwrite, show_progress=show_progress)
    write((Path(sweep["path"]) / "sweep.md").read_text(encoding="utf-8"))


def fashion_stage(engine: str, model: str):
    def stage(out: Path, overwrite: bool, quick: bool, show_progress: bool, device: str) -> None:
        from .fashion import FashionConfig, run

        q = QUICK["cnn" if model == "cnn" else "fashion"] if quick else {}
        run(FashionConfig(engine=engine, model=model, device=device, **q), out=out,
            name=f"fashion-{engine}-{model}", overwrite=overwrite, show_progress=show_progress)

    return stage


def cifar_stage(out: Path, overwrite: bool, quick: bool, show_progress: bool, device: str) -> None:
    from .cifar import CifarConfig, run

    run(CifarConfig(device=device, **(QUICK["cifar"] if quick else {})), out=out, name="cifar",
        overwrite=overwrite, show_progress=show_progress)


STAGES = [
    ("gradient checks", "gradcheck"),
    ("Iris sweep (NumPy)", "iris"),
    ("Fashion-MNIST MLP (PyTorch)", "fashion-torch"),
    ("Fashion-MNIST MLP (NumPy)", "fashion-numpy"),
    ("Fashion-MNIST CNN (NumPy)", "fashion-cnn"),
    ("CIFAR-10 CNN (PyTorch)", "cifar"),
]


def run_all(out: str | Path = "experiments/homework", quick: bool = False, overwrite: bool = False,
            show_progress: bool = True, device: str = "auto") -> tuple[int, Path]:
    """Run every stage into ``out``, then the report; returns (exit status, report path)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise RunExistsError(f"{out} already holds results; pass --overwrite to replace them, or --out DIR")
    out.mkdir(parents=True, exist_ok=True)
    calls = {
        "gradcheck": lambda: gradcheck_stage(out, overwrite),
        "iris": lambda: iris_stage(out, overwrite, quick, show_progress),
        "fashion-torch": lambda: fashion_stage("torch", "mlp")(out, overwrite, quick, show_progress, device),
        "fashion-numpy": lambda: fashion_stage("numpy", "mlp")(out, overwrite, quick, show_progress, device),
        "fashion-cnn": lambda: fashion_stage("numpy", "cnn")(out, overwrite, quick, show_progress, device),
        "cifar": lambda: cifar_stage(out, overwrite, quick, show_progress, device),
    }
    record = {"quick": quick, "stages": []}
    for i, (name, key) in enumerate(STAGES, start=1):
        write(f"\n=== stage {i}/{len(STAGES)}: {name} ===")
        start = time.perf_counter()
        entry = {"name": name, "key": key}
        try:
            calls[key]()
            entry["status"] = "ran"
        except DataNotFoundError as err:
            entry.update(status="skipped", reason=str(err))
            write(f"skipped {name}: {err}")
        except Exception as err:  # report it, and go on with the other stages
            entry.update(status="failed", reason=f"{type(err).__name__}: {err}")
            write(f"FAILED {name}: {type(err).__name__}: {err}\n{traceback.format_exc()}")
        entry["seconds"] = time.perf_counter() - start
        record["stages"].append(entry)
        write_json(out / "all.json", record)
    from .report import build_report

    report = build_report([out], out, title="backproplab: the homework, reproduced")
    write("\n" + "\n".join(f"  {s['status']:>7}  {s['name']}  ({s['seconds']:.0f} s)" for s in record["stages"]))
    ok = all(s["status"] == "ran" for s in record["stages"])
    return (0 if ok else 1), report

