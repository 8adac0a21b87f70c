"""The main job: every part of the homework in one command, then one report.

The stages, in order, are the pipelines' (``pipelines.stages()``): the gradient-check
table, the Iris sweep, the Fashion-MNIST MLP in PyTorch and in NumPy, the NumPy CNN on
Fashion-MNIST, and the CIFAR-10 CNN (the CPU profile unless a GPU is found). A stage
whose data cannot be found (or downloaded) is skipped with the reason and how to get the
data; a stage that fails is reported; the others still run. ``all.json`` (``runs.job``)
records what ran, and the report is built from the run folders.

``--resume`` skips every stage whose run folder is complete and continues an
interrupted one from its checkpoint, so a Ctrl-C costs at most the epoch under way.
"""

from __future__ import annotations

import dataclasses
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from .. import settings
from ..data.discovery import DataNotFoundError
from ..errors import RunError
from ..runs.files import RunFileError, write_json
from ..runs.folder import has_checkpoint, is_run
from ..runs.job import JOB_RECORD, read_job_record
from ..runs.lock import NameLock
from ..runs.options import Display, RunOptions
from ..progress import write
from ..settings import setting
from .declaration import Pipeline, Stage


@dataclass
class AllOptions(Display):
    out: str = setting("experiments/homework", "folder for every run and the report")
    quick: bool = setting(False, "small slices of every data set: the whole job checked in a few minutes")
    overwrite: bool = setting(False, "run every stage again, replacing the results already in --out")
    resume: bool = setting(False, "skip the stages that finished; continue an interrupted one from its checkpoint")
    download: bool = setting(False, "download a data set that is found nowhere (checksums verified)")
    device: str = setting("auto", "PyTorch device for the PyTorch stages", choices=("auto", "cpu", "cuda"))
    precision: str = setting("auto", "arithmetic of the PyTorch stages (see --precision of cifar; the PyTorch MLP "
                             "stays float32, the NumPy MLP's twin)", choices=("auto", "fp32", "bf16"))


# -- the stages ----------------------------------------------------------------------------


def stage_config(pipeline: Pipeline, stage: Stage, o: AllOptions):
    """The stage's settings: the pipeline's defaults, the stage's own, the device and
    download choices of ``all`` where the pipeline has them, the precision where the stage
    trains in PyTorch (a stage's own setting wins), quick slices with --quick."""
    names = {f.name for f in dataclasses.fields(pipeline.config)}
    shared = {k: v for k, v in (("device", o.device), ("download", o.download)) if k in names}
    config = pipeline.config(**{**shared, **stage.settings})
    if "precision" in names and "precision" not in stage.settings and pipeline.needs_torch(config):
        config = dataclasses.replace(config, precision=o.precision)
    return settings.quick(config) if o.quick else config


def run_stage_of(pipeline: Pipeline, stage: Stage, options: RunOptions, o: AllOptions) -> None:
    write(pipeline.describe_result(pipeline.run(stage_config(pipeline, stage, o), options)))


# -- the job -------------------------------------------------------------------------------

def run_all(o: AllOptions) -> tuple[int, Path]:
    """Run every stage into ``o.out``, then the report; returns (exit status, report path).
    One job at a time in a folder: a second ``all`` there refuses at once."""
    settings.check(o)
    out = Path(o.out)
    if out.exists() and not out.is_dir():
        raise RunError(f"--out {out} is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    lock = NameLock(out, "all-job", busy=f"another backproplab all is running in {out} right now; wait for it to "
                                         "finish (then --resume if it stopped early), or choose another --out")
    lock.acquire()
    try:
        return _run_all(o, out)
    finally:
        lock.release()


def _run_all(o: AllOptions, out: Path) -> tuple[int, Path]:
    try:
        earlier = read_job_record(out / JOB_RECORD) if os.path.lexists(out / JOB_RECORD) and o.resume else {}
    except RunFileError as err:
        raise RunError(f"{err}: move it away and resume again (the run folders themselves are checked anew), or "
                       "choose another --out") from None
    if any(is_run(p) for p in out.iterdir()) and not (o.overwrite or o.resume):
        raise RunError(f"{out} already holds results; pass --resume to run only what is missing, --overwrite to "
                       "run every stage again, or --out DIR")
    if o.quick != earlier.get("quick", o.quick):
        raise RunError(f"{out} holds a {'quick' if earlier['quick'] else 'full'} run: resume it the same way, "
                       "or choose another --out")
    record = {"quick": o.quick, "stages": []}
    done_before = {s["folder"]: s for s in earlier.get("stages", []) if s.get("status") == "ran"}
    from .. import pipelines

    every = pipelines.stages()
    for i, (pipeline, stage) in enumerate(every, start=1):
        write(f"\n=== stage {i}/{len(every)}: {stage.title} ===")
        if o.resume and is_run(out / stage.folder):
            write(f"already done: {out / stage.folder}")
            record["stages"].append(done_before.get(stage.folder, {"name": stage.title, "folder": stage.folder,
                                                                   "status": "ran", "seconds": 0.0}))
            continue
        record["stages"].append(run_stage(pipeline, stage, out, o, record))
    from ..report import build_report

    report = build_report([out], pipelines.PIPELINES, out, title="backproplab: the homework, reproduced")
    write("\n" + "\n".join(f"  {s['status']:>7}  {s['name']}  ({s['seconds']:.0f} s)" for s in record["stages"]))
    return (0 if all(s["status"] == "ran" for s in record["stages"]) else 1), report


def run_stage(pipeline: Pipeline, stage: Stage, out: Path, o: AllOptions, record: dict) -> dict:
    """Run one stage; its entry for all.json (ran, skipped with the reason, or failed)."""
    title, folder = stage.title, stage.folder
    resume = o.resume and (out / f"{folder}.partial").is_dir() and has_checkpoint(out / f"{folder}.partial")
    options = RunOptions(out=str(out), name=folder, overwrite=o.overwrite, resume=resume, progress=o.progress,
                         verbose=o.verbose)
    entry = {"name": title, "folder": folder}
    start = time.perf_counter()
    try:
        run_stage_of(pipeline, stage, options, o)
        entry["status"] = "ran"
    except DataNotFoundError as err:
        entry.update(status="skipped", reason=err.summary, looked_in=err.looked_in, how_to_get=err.how_to_get("all"))
        write(f"skipped {title}: {err.summary}. To get it: {'; '.join(err.how_to_get('all'))}")
    except KeyboardInterrupt as err:
        entry.update(status="interrupted", seconds=time.perf_counter() - start)
        write_json(out / JOB_RECORD, {**record, "stages": record["stages"] + [entry]})
        err.add_note(f"Continue the whole job with: backproplab all --resume --out {out} (make run does this)")
        raise
    except Exception as err:  # report it, and go on with the other stages
        entry.update(status="failed", reason=f"{type(err).__name__}: {err}")
        write(f"FAILED {title}: {type(err).__name__}: {err}\n{traceback.format_exc()}")
    entry["seconds"] = time.perf_counter() - start
    write_json(out / JOB_RECORD, {**record, "stages": record["stages"] + [entry]})
    return entry

