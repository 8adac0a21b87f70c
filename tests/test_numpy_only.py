"""A NumPy-only install (no PyTorch): the wheel in a fresh environment where `import torch`
fails runs every NumPy command, and a PyTorch command says in one line how to install it."""

import json
import os
import subprocess
import sysconfig
from pathlib import Path

import pytest

from fixtures import wheel_in_fresh_venv, write_fashion

ROOT = Path(__file__).resolve().parents[1]
BLOCK_TORCH = '''import sys
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError("No module named 'torch'", name="torch")
sys.meta_path.insert(0, _NoTorch())
'''


@pytest.fixture(scope="module")
def numpy_only(tmp_path_factory):
    """(run(args) -> CompletedProcess, scratch folder) in a fresh venv with the wheel, torch blocked."""
    tmp = tmp_path_factory.mktemp("numpy-only")
    python = wheel_in_fresh_venv(tmp)
    (tmp / "block").mkdir()
    (tmp / "block" / "sitecustomize.py").write_text(BLOCK_TORCH)
    env = {"PYTHONPATH": f"{tmp / 'block'}{os.pathsep}{sysconfig.get_paths()['purelib']}", "PATH": "/usr/bin:/bin",
           "BACKPROPLAB_PROGRESS": "0", "HOME": str(tmp), "XDG_CACHE_HOME": str(tmp / "cache")}

    def run(*args, module=("-m", "backproplab")):
        return subprocess.run([python, *module, *map(str, args)], capture_output=True, text=True, cwd=tmp, env=env,
                              timeout=600)

    return run, tmp


def test_torch_is_really_blocked(numpy_only):
    run, _ = numpy_only
    assert "No module named 'torch'" in run(module=("-c", "import torch")).stderr
    done = run("--version")
    assert done.returncode == 0 and done.stdout.startswith("backproplab "), done.stderr
    assert "Traceback" not in done.stderr


def test_the_numpy_commands_run(numpy_only, tmp_path):
    run, tmp = numpy_only
    out = tmp / "runs"
    for args in (["--help"], ["cifar", "--help"], ["gradcheck"],
                 ["iris", "--hidden", "4", "--lr", "0.05", "--epochs", "3", "--out", out, "--name", "iris"]):
        done = run(*args)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (args, done.stderr[-2000:])
    data = write_fashion(tmp_path / "fm", n_train=600, n_test=100)
    done = run("fashion", "--engine", "numpy", "--epochs", "1", "--train-limit", "200", "--test-limit", "50",
               "--validation", "100", "--data-dir", data, "--out", out, "--name", "fashion")
    assert done.returncode == 0 and "test accuracy" in done.stdout, done.stderr[-2000:]
    table = run("runs", out)
    assert table.returncode == 0 and "iris" in table.stdout and "fashion" in table.stdout, table.stderr
    report = run("report", out)
    assert report.returncode == 0 and (out / "report.html").is_file(), report.stderr
    checked = run("check", ROOT / "tests" / "check_fixtures" / "correct", "--parts", "ReLU.*", "--json")
    assert checked.returncode == 0, checked.stderr
    assert [p["verdict"] for p in json.loads(checked.stdout)["parts"]] == ["pass", "pass"]


@pytest.mark.parametrize("args", [["fashion"], ["cifar"], ["fashion", "--engine", "torch", "--epochs", "1"]])
def test_a_pytorch_command_says_how_to_install_pytorch(numpy_only, args):
    run, _ = numpy_only
    done = run(*args)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "pip install 'backproplab[torch]'" in done.stderr and len(done.stderr.strip().splitlines()) == 1
