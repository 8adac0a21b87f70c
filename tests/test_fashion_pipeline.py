"""The Fashion-MNIST pipeline on small slices: run folders for both engines and the CNN,
resume equivalence, bad input; real data where this machine has it (CI installs it)."""

import csv
import json
import os

import pytest

from backproplab.cli import main
from backproplab.data import discovery, fashion_mnist
from backproplab.fashion import FashionConfig, run
from test_data_fashion import write_fashion


def real_data_or_skip():
    try:
        return discovery.find_data(fashion_mnist.SPEC)
    except discovery.DataNotFoundError:
        pytest.skip("Fashion-MNIST is not on this machine (CI installs dataset-fashion-mnist): "
                    "sudo apt-get install dataset-fashion-mnist")


@pytest.fixture
def small_data(tmp_path):
    return str(write_fashion(tmp_path / "fm", n_train=5300, n_test=200))


@pytest.mark.parametrize("engine, model", [("torch", "mlp"), ("numpy", "mlp"), ("numpy", "cnn")])
def test_end_to_end_on_real_data_slice(tmp_path, engine, model):
    real_data_or_skip()
    c = FashionConfig(engine=engine, model=model, epochs=2, train_limit=2000, test_limit=500, device="cpu")
    s = run(c, out=tmp_path, show_progress=False)
    files = set(os.listdir(s["path"]))
    assert {"config.json", "metrics.csv", "summary.json", "loss.png", "accuracy.png"} <= files
    assert ("checkpoint.pt" if engine == "torch" else "params.npz") in files
    rows = list(csv.DictReader(open(os.path.join(s["path"], "metrics.csv"))))
    assert len(rows) == 2 and float(rows[1]["train_loss"]) < float(rows[0]["train_loss"])
    assert s["test_accuracy"] > 0.6  # 2,000 real images, 2 epochs: far above chance (10%)
    summary = json.load(open(os.path.join(s["path"], "summary.json")))
    assert summary["engine"] == engine and summary["epochs"] == 2


def test_torch_resume_ends_with_the_same_metrics(tmp_path, small_data):
    c = FashionConfig(epochs=3, train_limit=300, test_limit=100, data_dir=small_data, device="cpu", hidden=[32])
    whole = run(c, out=tmp_path / "a", name="r", show_progress=False)
    with pytest.raises(KeyboardInterrupt):
        run(c, out=tmp_path / "b", name="r", show_progress=False, stop_after=2)
    resumed = run(c, out=tmp_path / "b", name="r", show_progress=False, resume=True)

    def metrics(path):
        return [line.rsplit(",", 1)[0] for line in open(os.path.join(path, "metrics.csv")).read().splitlines()]

    assert metrics(resumed["path"]) == metrics(whole["path"])
    assert resumed["test_accuracy"] == whole["test_accuracy"]


def test_numpy_engine_matches_torch_engine_on_the_same_recipe(tmp_path, small_data):
    kw = dict(epochs=2, train_limit=1000, test_limit=200, data_dir=small_data, device="cpu", hidden=[64])
    a = run(FashionConfig(engine="torch", **kw), out=tmp_path, show_progress=False)
    b = run(FashionConfig(engine="numpy", **kw), out=tmp_path, show_progress=False)
    ra = list(csv.DictReader(open(os.path.join(a["path"], "metrics.csv"))))
    rb = list(csv.DictReader(open(os.path.join(b["path"], "metrics.csv"))))
    assert [r["lr"] for r in ra] == [r["lr"] for r in rb]  # one schedule, stepped the same way


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--epochs", "0"], "--epochs must be an integer >= 1"),
        (["--engine", "jax"], "--engine must be torch or numpy"),
        (["--model", "cnn"], "use --engine numpy --model cnn"),
        (["--model", "rnn"], "--model must be one of"),
        (["--dropout", "1.5"], "--dropout must be in [0, 1)"),
        (["--engine", "numpy", "--resume"], "--resume needs the torch engine"),
    ],
)
def test_cli_bad_flags(tmp_path, capsys, small_data, flags, message):
    assert main(["fashion", "--data-dir", small_data, "--out", str(tmp_path / "runs"), "--no-progress", *flags]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_cli_corrupt_data_names_the_file_and_leaves_no_folder(tmp_path, capsys, small_data):
    path = os.path.join(small_data, "t10k-images-idx3-ubyte.gz")
    with open(path, "r+b") as f:
        f.truncate(1000)
    assert main(["fashion", "--data-dir", small_data, "--out", str(tmp_path / "runs"), "--no-progress"]) == 2
    assert "t10k-images-idx3-ubyte.gz: corrupt or truncated gzip file" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_cli_missing_file_names_it(tmp_path, capsys, small_data):
    os.remove(os.path.join(small_data, "train-labels-idx1-ubyte.gz"))
    assert main(["fashion", "--data-dir", small_data, "--out", str(tmp_path / "runs"), "--no-progress"]) == 2
    assert "is missing train-labels-idx1-ubyte.gz" in capsys.readouterr().err
