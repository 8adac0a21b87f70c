"""`backproplab all`: the whole job end to end on small slices, with data missing, with
the data downloaded from a (loopback) mirror, and resumed after a real SIGINT."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import tarfile
import time

import pytest

from backproplab.cli import main
from backproplab.data import cifar10, discovery, fashion_mnist
from fixtures import write_cifar
from fixtures import write_fashion

FOLDERS = ["gradcheck", "iris-sweep", "fashion-torch-mlp", "fashion-numpy-mlp", "fashion-numpy-cnn", "cifar"]


def data_or_skip():
    try:
        discovery.find_data(fashion_mnist.SPEC)
        discovery.find_data(cifar10.SPEC)
    except discovery.DataNotFoundError as err:
        pytest.skip(f"needs Fashion-MNIST and CIFAR-10 (CI prepares both; README: Data): {err}".splitlines()[0])


@pytest.fixture
def fake_data(tmp_path):
    """Small Fashion-MNIST and CIFAR-10 folders in the official formats (BACKPROPLAB_DATA layout)."""
    root = tmp_path / "data"
    write_fashion(root / "fashion-mnist", n_train=5400, n_test=300)
    write_cifar(root, n_per_batch=1100, n_test=300)
    return root


def test_stages_without_data_are_skipped_with_the_reason(no_data, capsys):
    out = no_data / "hw"
    assert main(["all", "--quick", "--out", str(out), "--no-progress", "--device", "cpu"]) == 1
    stages = {s["folder"]: s for s in json.loads((out / "all.json").read_text())["stages"]}
    assert stages["gradcheck"]["status"] == "ran" and stages["iris-sweep"]["status"] == "ran"
    for key in FOLDERS[2:]:
        assert stages[key]["status"] == "skipped" and "not found" in stages[key]["reason"]
        assert stages[key]["looked_in"] and "backproplab download" in stages[key]["how_to_get"][0]
    page = (out / "report.html").read_text()
    skipped = page[page.index("Skipped: Fashion-MNIST MLP (PyTorch)"):page.index('id="summary"')]
    assert "<li>on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist</li>" in skipped
    assert skipped.count("To get it:") == 4 and skipped.count("Looked in:") == 4
    assert "<li>To get it" not in skipped  # the advice is its own list, not an item of the places looked in
    assert ">skipped<" in page and capsys.readouterr().out.strip().endswith("report.html")


def test_all_download_fetches_every_missing_data_set_from_the_mirror(no_data, fake_data, server, monkeypatch):
    root, url = server
    for name in fashion_mnist.FILES:
        (root / name).write_bytes((fake_data / "fashion-mnist" / name).read_bytes())
    with tarfile.open(root / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(fake_data / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    blob = (root / "cifar-10-python.tar.gz").read_bytes()
    monkeypatch.setattr(fashion_mnist, "FILES", {n: (hashlib.md5((root / n).read_bytes()).hexdigest(),
                                                     (root / n).stat().st_size) for n in fashion_mnist.FILES})
    monkeypatch.setattr(cifar10, "MD5", hashlib.md5(blob).hexdigest())
    monkeypatch.setattr(cifar10, "SIZE", len(blob))
    monkeypatch.setenv("BACKPROPLAB_MIRROR", url)
    out = no_data / "hw"
    assert main(["all", "--quick", "--download", "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    assert [s["status"] for s in json.loads((out / "all.json").read_text())["stages"]] == ["ran"] * 6
    cache = no_data / "cache" / "backproplab"
    assert (cache / "fashion-mnist" / "train-images-idx3-ubyte.gz").exists()
    assert (cache / "cifar-10-batches-py" / "test_batch").exists()


def _summaries(out):
    return {f: {k: v for k, v in json.loads((out / f / "summary.json").read_text()).items()
                if k in ("test_accuracy", "final_val_accuracy", "chosen")} for f in FOLDERS[1:]}


def test_all_resume_after_sigint_runs_only_what_is_unfinished(tmp_path, fake_data):
    env = {**os.environ, "BACKPROPLAB_DATA": str(fake_data), "BACKPROPLAB_PROGRESS": "0"}
    args = [sys.executable, "-m", "backproplab", "all", "--quick", "--device", "cpu", "--no-progress"]
    whole = tmp_path / "whole"
    subprocess.run(args + ["--out", str(whole)], env=env, check=True, capture_output=True)
    out = tmp_path / "hw"
    proc = subprocess.Popen(args + ["--out", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    partial = out / "fashion-numpy-mlp.partial"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (partial / "checkpoint.npz").exists() or (out / "fashion-numpy-mlp").exists():
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)  # Ctrl-C in the middle stage
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "backproplab all --resume" in err  # the message says how to go on
    done = [f for f in FOLDERS if (out / f).is_dir()]
    assert "cifar" not in done
    resumed = subprocess.run(args + ["--resume", "--out", str(out)], env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr.count("already done:") + resumed.stdout.count("already done:") == len(done)
    assert _summaries(out) == _summaries(whole)
    assert not any(p.name.endswith(".partial") for p in out.iterdir())


@pytest.mark.slow
def test_the_readme_quick_start_runs_as_written(tmp_path):
    """Every `backproplab` command of the README's quick start, as written, from a fresh
    folder (the first line, which creates the virtual environment, is this test's own)."""
    import re
    import shlex
    from pathlib import Path

    data_or_skip()
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = re.search(r"<!-- quick-start[^>]*-->\n```sh\n(.*?)```", readme, re.S).group(1)
    commands = [shlex.split(line.split("#")[0]) for line in block.splitlines() if line.startswith("backproplab ")]
    assert [c[1] for c in commands] == ["all", "fashion", "runs"]
    outputs = []
    for command in commands:
        done = subprocess.run([sys.executable, "-m", "backproplab", *command[1:]], cwd=tmp_path, capture_output=True,
                              text=True, timeout=900)
        assert done.returncode == 0, (command, done.stderr[-2000:])
        outputs.append(done.stdout + done.stderr)
    assert outputs[2].startswith("7 run(s)")  # `runs` lists the six of `all --quick` and the Fashion run
    _the_quick_run_wrote_every_stage(tmp_path / "experiments" / "quick", outputs[0])
    again = subprocess.run([sys.executable, "-m", "backproplab", *commands[0][1:]], cwd=tmp_path, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 2 and "already holds results; pass --resume" in again.stderr
    resumed = subprocess.run([sys.executable, "-m", "backproplab", *commands[0][1:], "--resume"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0 and (resumed.stdout + resumed.stderr).count("already done:") == 6


def _the_quick_run_wrote_every_stage(out, printed: str) -> None:
    """`all --quick`: every stage ran and wrote its pictures, then the report."""
    assert f"report: {out / 'report.html'}" in printed or "report.html" in printed
    for i in range(1, 7):
        assert f"=== stage {i}/6" in printed
    stages = json.loads((out / "all.json").read_text())["stages"]
    assert [s["status"] for s in stages] == ["ran"] * 6
    assert set(FOLDERS) | {"report.html", "report.md"} <= set(os.listdir(out))
    page = (out / "report.html").read_text()
    assert "Quick mode" in page and 'id="cifar"' in page and 'id="machine"' in page
    assert (out / "cifar" / "predictions.csv").read_text().startswith("Id,Category\n1,")
    for folder in FOLDERS[2:]:
        assert {"confusion.png", "misclassified.png", "weights.png", "loss.png"} <= set(os.listdir(out / folder))
