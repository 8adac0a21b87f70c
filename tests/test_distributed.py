"""Data-parallel training under torchrun on CPU (gloo): the same weights and metrics as one
process with the same global batch, one run folder written by rank 0 only, a killed rank
ending the job, resume under torchrun, and the refusals before training."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from backproplab.runs.log import TIME_COLUMNS
from fixtures import write_fashion

TORCHRUN = Path(sys.executable).with_name("torchrun")
#: float32 sums in another order (two shards, then an all-reduce): equal to about 1e-6 relative
TOLERANCE = dict(rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    if not TORCHRUN.exists():
        pytest.skip(f"torchrun is not installed beside {sys.executable} (it comes with torch)")
    return str(write_fashion(tmp_path_factory.mktemp("fm"), n_train=5800, n_test=300))


def args(data, out, name, *extra, epochs=3):
    return ["fashion", "--engine", "torch", "--no-batch-norm", "--dropout", "0", "--no-flip", "--tta", "0", "--mixup", "0", "--hidden", "32,32", "--epochs",
            str(epochs), "--train-limit", "800", "--test-limit", "200", "--batch-size", "64", "--data-dir", data,
            "--device", "cpu", "--threads", "1", "--out", str(out), "--name", name, "--no-progress",
            "--precision", "fp32", *extra]  # float32: one process and two must agree to rounding


def torchrun(*cli, nproc=2, **kw):
    command = [str(TORCHRUN), "--standalone", "--nproc-per-node", str(nproc), "-m", "backproplab", *cli]
    env = {**os.environ, "BACKPROPLAB_DIST_TIMEOUT": "30", "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def single(*cli):
    return subprocess.run([sys.executable, "-m", "backproplab", *cli], capture_output=True, text=True)


def rows(path):
    with open(path / "metrics.csv") as f:
        return [{k: float(v) for k, v in r.items() if k not in TIME_COLUMNS} for r in csv.DictReader(f)]


def test_two_processes_equal_one_with_the_same_global_batch(data, tmp_path):
    one = single(*args(data, tmp_path / "one", "r"))
    assert one.returncode == 0, one.stderr
    proc = torchrun(*args(data, tmp_path / "two", "r"))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert out.count("test accuracy") == 1  # one process speaks for the job
    assert sorted(os.listdir(tmp_path / "two")) == ["r"]  # one run folder, nothing else
    assert sorted(os.listdir(tmp_path / "two" / "r")) == sorted(os.listdir(tmp_path / "one" / "r"))
    a, b = rows(tmp_path / "one" / "r"), rows(tmp_path / "two" / "r")
    assert len(a) == len(b) == 3
    for ra, rb in zip(a, b):
        for key in ra:
            assert rb[key] == pytest.approx(ra[key], rel=TOLERANCE["rtol"], abs=TOLERANCE["atol"]), key
    wa = torch.load(tmp_path / "one" / "r" / "checkpoint.pt", weights_only=True)["model"]
    wb = torch.load(tmp_path / "two" / "r" / "checkpoint.pt", weights_only=True)["model"]
    for key in wa:
        torch.testing.assert_close(wb[key], wa[key], **TOLERANCE)
    config = __import__("json").loads((tmp_path / "two" / "r" / "config.json").read_text())
    assert config["world_size"] == 2 and config["backend"] == "gloo" and config["devices"] == ["cpu"]


def workers(parent: int) -> dict[int, int]:
    """{local rank: pid} of torchrun's worker processes."""
    found = {}
    for pid in subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout.split():
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for item in env:
            if item.startswith(b"LOCAL_RANK="):
                found[int(item.split(b"=")[1])] = int(pid)
    return found


def test_a_killed_rank_ends_the_job_and_the_checkpoint_resumes(data, tmp_path):
    whole = torchrun(*args(data, tmp_path / "whole", "r", epochs=6))
    assert whole.wait(timeout=300) == 0
    proc = torchrun(*args(data, tmp_path / "out", "r", epochs=6))
    partial = tmp_path / "out" / "r.partial"
    deadline = time.monotonic() + 200
    while time.monotonic() < deadline and not (partial / "metrics.csv").exists():
        time.sleep(0.02)
    victims = workers(proc.pid)
    assert 1 in victims, victims
    os.kill(victims[1], signal.SIGKILL)  # rank 1 dies
    start = time.monotonic()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and time.monotonic() - start < 90, err[-2000:]
    assert (partial / "checkpoint.pt").exists() and not (tmp_path / "out" / "r").exists()
    resumed = torchrun(*args(data, tmp_path / "out", "r", "--resume", epochs=6))
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-2000:]
    assert rows(tmp_path / "out" / "r") == rows(tmp_path / "whole" / "r")


def test_resume_with_another_world_size_is_refused(data, tmp_path):
    proc = torchrun(*args(data, tmp_path, "r", epochs=5))
    partial = tmp_path / "r.partial"
    while proc.poll() is None and not (partial / "checkpoint.pt").exists():
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    before = {p.name: p.read_bytes() for p in partial.iterdir()}
    refused = single(*args(data, tmp_path, "r", "--resume", epochs=5))
    assert refused.returncode == 2 and "written by 2 process(es) and this run has 1" in refused.stderr
    assert {p.name: p.read_bytes() for p in partial.iterdir()} == before


@pytest.mark.parametrize("extra, message", [(["--batch-size", "63"], "not divisible by the 2 processes"),
                                             (["--engine", "numpy"], "torchrun trains the PyTorch engine only"),
                                             (["--device", "cuda"], "cuda")])
def test_bad_combinations_are_refused_before_training(data, tmp_path, extra, message):
    proc = torchrun(*args(data, tmp_path / "out", "r"), *extra)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and message in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("r*/metrics.csv"))


def test_processes_that_resolved_different_settings_are_refused(data, tmp_path):
    """`--precision auto` measures each machine for itself, and a job's nodes can be started with
    different flags: two processes, one asking for bf16 and one for fp32 (as a probe on two
    different machines could decide), stop before training with the difference named."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = []
    for rank, precision in ((0, "bf16"), (1, "fp32")):
        cli = [*args(data, tmp_path / "out", "r")[:-1], precision]
        env = {**os.environ, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2",
               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "BACKPROPLAB_DIST_TIMEOUT": "30",
               "OMP_NUM_THREADS": "1"}
        procs.append(subprocess.Popen([sys.executable, "-m", "backproplab", *cli], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    errs = [p.communicate(timeout=120)[1] for p in procs]
    for p, err in zip(procs, errs):
        assert p.returncode == 2, err[-2000:]
        assert "resolved different settings (precision: process 0 'bf16', process 1 'fp32')" in err
        assert "--precision fp32 or bf16 rather than auto" in err and "Traceback" not in err
    assert not any((tmp_path / "out").glob("r*/metrics.csv"))
