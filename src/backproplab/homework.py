"""The main job: every part of the homework in one command, then one report.

The stages, in order, are the plain list ``STAGES`` of (title, folder, function): the
gradient-check table, the Iris sweep, the Fashion-MNIST MLP in PyTorch and in NumPy,
the NumPy CNN on Fashion-MNIST, and the CIFAR-10 CNN (the CPU profile unless a GPU is
found). A stage whose data cannot be found (or downloaded) is skipped with the reason
and how to get the data; a stage that fails is reported; the others still run.
``all.json`` records what ran, and the report is built from the run folders.

``--resume`` skips every stage whose run folder is complete and continues an
interrupted one from its checkpoint, so a Ctrl-C costs at most the epoch under way.
"""

from __future__ import annotations

import functools
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from . import settings
from .data.discovery import DataNotFoundError
from .errors import RunError
from .runs.files import read_json, write_json
from .runs.folder import RunFolder, has_checkpoint, is_run
from .runs.options import Display, RunOptions
from .runs.progress import write
from .settings import setting


@dataclass
class AllOptions(Display):
    out: str = setting("experiments/homework", "folder for every run and the report")
    quick: bool = setting(False, "small slices of every data set: the whole job checked in a few minutes")
    overwrite: bool = setting(False, "run every stage again, replacing the results already in --out")
    resume: bool = setting(False, "skip the stages that finished; continue an interrupted one from its checkpoint")
    download: bool = setting(False, "download a data set that is found nowhere (checksums verified)")
    device: str = setting("auto", "PyTorch device for the PyTorch stages", choices=("auto", "cpu", "cuda"))


# -- the stages ----------------------------------------------------------------------------


def gradcheck_stage(options: RunOptions, all_options: AllOptions) -> None:
    from .nn.gradcheck import format_table, gradient_check_table

    rows = gradient_check_table()
    table = format_table(rows)
    write(table)
    with RunFolder(options.out, options.name, overwrite=options.overwrite) as run:
        run.write_text("table.txt", table + "\n")
        run.write_json("summary.json", {
            "pipeline": "gradcheck", "count": len(rows), "passed_count": sum(r.passed for r in rows),
            "worst_error": max(r.error for r in rows),
            "rows": [{"component": r.component, "wrt": r.wrt, "shape": list(r.shape), "error": r.error,
                      "passed": r.passed} for r in rows]})
    if not all(r.passed for r in rows):
        raise AssertionError("a gradient check failed (see the table)")


def iris_stage(options: RunOptions, all_options: AllOptions) -> None:
    from .iris import IrisConfig, describe_result, run

    config = settings.quick(IrisConfig()) if all_options.quick else IrisConfig()
    write(describe_result(run(config, options)))


def fashion_stage(engine: str, model: str, options: RunOptions, all_options: AllOptions) -> None:
    from .fashion import FashionConfig, describe_result, run

    config = FashionConfig(engine=engine, model=model, device=all_options.device, download=all_options.download)
    write(describe_result(run(settings.quick(config) if all_options.quick else config, options)))


def cifar_stage(options: RunOptions, all_options: AllOptions) -> None:
    from .cifar import CifarConfig, describe_result, run

    config = CifarConfig(device=all_options.device, download=all_options.download)
    write(describe_result(run(settings.quick(config) if all_options.quick else config, options)))


STAGES = [
    ("gradient checks", "gradcheck", gradcheck_stage),
    ("Iris sweep (NumPy)", "iris-sweep", iris_stage),
    ("Fashion-MNIST MLP (PyTorch)", "fashion-torch-mlp", functools.partial(fashion_stage, "torch", "mlp")),
    ("Fashion-MNIST MLP (NumPy)", "fashion-numpy-mlp", functools.partial(fashion_stage, "numpy", "mlp")),
    ("Fashion-MNIST CNN (NumPy)", "fashion-numpy-cnn", functools.partial(fashion_stage, "numpy", "cnn")),
    ("CIFAR-10 CNN (PyTorch)", "cifar", cifar_stage),
]


# -- the job -------------------------------------------------------------------------------


def run_all(o: AllOptions) -> tuple[int, Path]:
    """Run every stage into ``o.out``, then the report; returns (exit status, report path)."""
    settings.check(o)
    out = Path(o.out)
    earlier = read_json(out / "all.json") if (out / "all.json").is_file() and o.resume else {}
    if out.is_dir() and any(is_run(p) for p in out.iterdir()) and not (o.overwrite or o.resume):
        raise RunError(f"{out} already holds results; pass --resume to run only what is missing, --overwrite to "
                       "run every stage again, or --out DIR")
    if o.quick != earlier.get("quick", o.quick):
        raise RunError(f"{out} holds a {'quick' if earlier['quick'] else 'full'} run: resume it the same way, "
                       "or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    record = {"quick": o.quick, "stages": []}
    done_before = {s["folder"]: s for s in earlier.get("stages", []) if s.get("status") == "ran"}
    for i, (title, folder, stage) in enumerate(STAGES, start=1):
        write(f"\n=== stage {i}/{len(STAGES)}: {title} ===")
        if o.resume and is_run(out / folder):
            write(f"already done: {out / folder}")
            record["stages"].append(done_before.get(folder, {"name": title, "folder": folder, "status": "ran",
                                                             "seconds": 0.0}))
            continue
        record["stages"].append(run_stage(title, folder, stage, out, o, record))
    from .report import build_report

    report = build_report([out], out, title="backproplab: the homework, reproduced")
    write("\n" + "\n".join(f"  {s['status']:>7}  {s['name']}  ({s['seconds']:.0f} s)" for s in record["stages"]))
    return (0 if all(s["status"] == "ran" for s in record["stages"]) else 1), report


def run_stage(title: str, folder: str, stage, out: Path, o: AllOptions, record: dict) -> dict:
    """Run one stage; its entry for all.json (ran, skipped with the reason, or failed)."""
    resume = o.resume and (out / f"{folder}.partial").is_dir() and has_checkpoint(out / f"{folder}.partial")
    options = RunOptions(out=str(out), name=folder, overwrite=o.overwrite, resume=resume, progress=o.progress)
    entry = {"name": title, "folder": folder}
    start = time.perf_counter()
    try:
        stage(options, o)
        entry["status"] = "ran"
    except DataNotFoundError as err:
        entry.update(status="skipped", reason=err.summary, looked_in=err.looked_in, how_to_get=err.how_to_get)
        write(f"skipped {title}: {err}")
    except KeyboardInterrupt as err:
        entry.update(status="interrupted", seconds=time.perf_counter() - start)
        write_json(out / "all.json", {**record, "stages": record["stages"] + [entry]})
        err.add_note(f"Continue the whole job with: backproplab all --resume --out {out} (make run does this)")
        raise
    except Exception as err:  # report it, and go on with the other stages
        entry.update(status="failed", reason=f"{type(err).__name__}: {err}")
        write(f"FAILED {title}: {type(err).__name__}: {err}\n{traceback.format_exc()}")
    entry["seconds"] = time.perf_counter() - start
    write_json(out / "all.json", {**record, "stages": record["stages"] + [entry]})
    return entry

