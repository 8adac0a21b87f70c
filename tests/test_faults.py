"""Faults with real signals and real concurrency, through the command line as a user runs it:
kill -9 / SIGTERM / SIGINT at random epochs and --resume (both engines), a refused resume,
a failure after a checkpoint, two runs of one name at once, and names that try to leave --out."""

import csv
import re
import shlex
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from backproplab.runs.log import TIME_COLUMNS
from fixtures import write_fashion

EPOCHS = 8


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return str(write_fashion(tmp_path_factory.mktemp("fm"), n_train=9000, n_test=300))


def command(data, out, engine, *extra):
    return [sys.executable, "-m", "backproplab", "fashion", "--engine", engine, "--data-dir", data, "--out", str(out),
            "--name", "r", "--epochs", str(EPOCHS), "--train-limit", "4000", "--test-limit", "200", "--hidden", "128",
            "--device", "cpu", *(["--threads", "1"] if engine == "torch" else []), "--no-progress", *extra]


def metrics(path):
    rows = list(csv.reader(open(os.path.join(path, "metrics.csv"))))
    keep = [i for i, c in enumerate(rows[0]) if c not in TIME_COLUMNS]
    return [[r[i] for i in keep] for r in rows]


def epochs_done(folder):
    try:
        return sum(1 for _ in open(folder / "metrics.csv")) - 1
    except OSError:
        return 0


@pytest.fixture(scope="module")
def uninterrupted(data, tmp_path_factory):
    out = {}
    for engine in ("numpy", "torch"):
        base = tmp_path_factory.mktemp(f"whole-{engine}")
        subprocess.run(command(data, base, engine), check=True, capture_output=True)
        out[engine] = metrics(base / "r")
    return out


@pytest.mark.parametrize("engine", ["numpy", "torch"])
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_killed_at_a_random_epoch_then_resumed_gives_the_same_metrics(data, tmp_path, uninterrupted, engine, sig):
    at = random.Random(f"{engine}{sig}").randint(1, EPOCHS - 3)  # seeded: the same points on every run
    proc = subprocess.Popen(command(data, tmp_path, engine), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    partial = tmp_path / "r.partial"
    deadline = time.monotonic() + 120
    while epochs_done(partial) < at and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0, "the run finished before the signal: make the epochs longer"
    if sig != signal.SIGKILL:
        assert proc.returncode == 130 and "interrupted" in err and "--resume" in err
    assert partial.is_dir() and not (tmp_path / "r").exists()
    resumed = subprocess.run(command(data, tmp_path, engine, "--resume"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert metrics(tmp_path / "r") == uninterrupted[engine]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # nothing left that the next run trips on
    summary = __import__("json").loads((tmp_path / "r" / "summary.json").read_text())
    epochs = list(csv.DictReader(open(tmp_path / "r" / "metrics.csv")))
    # the time spent before the interruption counts: at least every epoch's training time
    assert summary["wall_seconds"] >= sum(float(r["seconds"]) + float(r["eval_seconds"]) for r in epochs)


def test_a_refused_resume_changes_nothing_on_disk(data, tmp_path):
    proc = subprocess.Popen(command(data, tmp_path, "numpy"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    partial = tmp_path / "r.partial"
    while epochs_done(partial) < 2 and proc.poll() is None:
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    before = {p.name: p.read_bytes() for p in partial.iterdir()}
    refused = subprocess.run(command(data, tmp_path, "numpy", "--resume", "--epochs", "5"), capture_output=True,
                             text=True)
    assert refused.returncode == 2
    assert "cannot resume" in refused.stderr and "--epochs (was 8, now 5)" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert {p.name: p.read_bytes() for p in partial.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.partial"]


def test_a_failure_after_a_checkpoint_keeps_the_run(data, tmp_path, monkeypatch, capsys):
    from backproplab.pipelines import fashion
    from backproplab.cli import main

    def broken(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(fashion, "write_outputs", broken)  # the disk fills up after training
    code = main(command(data, tmp_path, "numpy")[3:])
    assert code == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and re.search(r"continue it with backproplab fashion .* --resume$", err, re.M)
    assert (tmp_path / "r.partial" / "checkpoint.npz").exists()


def test_two_runs_of_one_name_at_once(data, tmp_path):
    procs = [subprocess.Popen(command(data, tmp_path, "numpy"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    codes = sorted(r[2] for r in results)
    assert codes == [0, 2], results
    loser = next(r for r in results if r[2] == 2)
    assert "another backproplab process is running a run named 'r'" in loser[1]
    assert {"config.json", "metrics.csv", "summary.json", "checkpoint.npz"} <= set(os.listdir(tmp_path / "r"))
    assert len(metrics(tmp_path / "r")) == EPOCHS + 1


@pytest.mark.parametrize("name", ["../../x", "ELSEWHERE/x", ".", "..", "x/../../y"])
def test_names_that_leave_out_are_refused_and_touch_nothing(data, tmp_path, name):
    victim = tmp_path / "victim"
    (victim / "x").mkdir(parents=True)
    (victim / "x" / "precious.txt").write_text("mine")
    out = tmp_path / "a" / "b" / "out"
    out.mkdir(parents=True)
    (out / "other-run").mkdir()
    name = name.replace("ELSEWHERE", str(victim))
    snapshot = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    args = command(data, out, "numpy", "--overwrite")
    args[args.index("--name") + 1] = name
    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 2 and "cannot be a run name" in result.stderr and "Traceback" not in result.stderr
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == snapshot


def test_every_advice_is_a_command_that_works(data, tmp_path):
    """Follow what the program says, as a user would: the command it prints after an
    interrupted --overwrite run, after a refused second run, and --resume of a finished run."""
    first = subprocess.run(command(data, tmp_path, "numpy", "--epochs", "2"), capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    again = subprocess.run(command(data, tmp_path, "numpy", "--epochs", "2"), capture_output=True, text=True)
    assert again.returncode == 2
    advice = re.findall(r"to replace it: (.*?); to keep it and write the next free name: (.*?); or", again.stderr)
    assert advice, again.stderr
    proc = subprocess.Popen(shlex.split(advice[0][0].replace("backproplab", f"{sys.executable} -m backproplab", 1)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while epochs_done(tmp_path / "r.partial") < 1 and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)  # Ctrl-C in the middle of an --overwrite run
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    resume = re.search(r"continue it with (backproplab .*)$", err, flags=re.M).group(1)
    assert "--overwrite" not in resume and resume.endswith("--resume")
    for advised in (resume, advice[0][1]):
        done = subprocess.run(shlex.split(advised.replace("backproplab", f"{sys.executable} -m backproplab", 1)),
                              capture_output=True, text=True)
        assert done.returncode == 0, (advised, done.stderr)
    finished = subprocess.run(shlex.split(resume.replace("backproplab", f"{sys.executable} -m backproplab", 1)),
                              capture_output=True, text=True)
    assert finished.returncode == 0 and "has finished already" in finished.stderr
    assert "test accuracy" in finished.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r", "r-v2"]
