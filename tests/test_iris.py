"""The Iris pipeline and its CLI: accuracy, reproducibility, the sweep, bad input."""

import csv
import json
import os

import pytest

from backproplab.cli import main
from backproplab.iris import IrisConfig, train_run


@pytest.mark.parametrize("seed", range(5))
def test_default_two_layer_net_reaches_93_percent(tmp_path, seed):
    summary = train_run(IrisConfig(seed=seed), out=tmp_path, show_progress=False)
    assert summary["test_accuracy"] >= 0.93, summary
    rows = list(csv.DictReader(open(os.path.join(summary["path"], "metrics.csv"))))
    assert float(rows[-1]["train_loss"]) < 0.5 * float(rows[0]["train_loss"])


def test_run_folder_contents_and_byte_identical_metrics(tmp_path):
    a = train_run(IrisConfig(epochs=20), out=tmp_path / "a", show_progress=False)
    b = train_run(IrisConfig(epochs=20), out=tmp_path / "b", show_progress=False)
    assert sorted(os.listdir(a["path"])) == ["config.json", "error.png", "loss.png", "metrics.csv",
                                            "params.npz", "summary.json"]

    def without_seconds(path):  # wall-clock time is the one column no seed can fix
        lines = open(os.path.join(path, "metrics.csv"), "rb").read().splitlines()
        return [line.rsplit(b",", 1)[0] for line in lines]

    assert without_seconds(a["path"]) == without_seconds(b["path"])
    config = json.load(open(os.path.join(a["path"], "config.json")))
    assert config["seed"] == 0 and config["split_seed"] == 2 and "numpy" in config["versions"]
    summary = json.load(open(os.path.join(a["path"], "summary.json")))
    assert {"test_loss", "test_accuracy", "test_error", "best_epoch", "wall_seconds"} <= set(summary)


def test_loaded_model_predicts_what_the_run_reported(tmp_path):
    import numpy as np

    from backproplab.data.dataset import Standardizer
    from backproplab.iris import load_data
    from backproplab.nn.models import NeuralNetwork

    s = train_run(IrisConfig(epochs=30), out=tmp_path, show_progress=False)
    path = os.path.join(s["path"], "params.npz")
    model = NeuralNetwork.load(path)
    with np.load(path, allow_pickle=False) as f:
        standardize = Standardizer.from_arrays(f)
    from backproplab.data.tabular import iris_path, read_csv, split_tabular

    X, y, _, _ = read_csv(iris_path())
    Xt, yt = split_tabular(X, y, seed=2)["test"]
    accuracy = float(np.mean(model.predict(standardize(Xt)).argmax(axis=1) == yt))
    assert accuracy == pytest.approx(s["test_accuracy"])
    assert load_data(IrisConfig()).split("test")[1].tolist() == yt.tolist()


def test_cli_sweep_writes_table_plot_and_paragraph(tmp_path, capsys):
    assert main(["iris", "--lr", "0.01,0.1", "--hidden", "4,8", "--epochs", "15", "--out", str(tmp_path),
                 "--name", "sw", "--no-progress"]) == 0
    sweep = tmp_path / "sw"
    assert {"sweep.csv", "sweep.md", "best_loss.png", "lr0.01-h4", "lr0.1-h8"} <= set(os.listdir(sweep))
    rows = list(csv.DictReader(open(sweep / "sweep.csv")))
    assert len(rows) == 4 and {"lr", "hidden", "best_val_error", "test_error", "epochs", "seconds"} <= set(rows[0])
    md = (sweep / "sweep.md").read_text()
    assert "(chosen)" in md and "Raising the learning rate from 0.01 to 0.1" in md
    assert "Raising the hidden size from 4 to 8" in md
    assert "sweep folder" in capsys.readouterr().out
    # validation chooses, not test
    best = min(rows, key=lambda r: (float(r["best_val_error"]), float(r["best_val_loss"])))
    assert f"lr = {float(best['lr']):g}, hidden = {best['hidden']}" in md


def test_cli_refuses_to_overwrite_and_leaves_the_old_run(tmp_path, capsys):
    args = ["iris", "--lr", "0.1", "--hidden", "4", "--epochs", "5", "--out", str(tmp_path), "--name", "r",
            "--no-progress"]
    assert main(args) == 0
    before = (tmp_path / "r" / "metrics.csv").read_bytes()
    assert main(args) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert (tmp_path / "r" / "metrics.csv").read_bytes() == before
    assert main(args + ["--overwrite"]) == 0


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--lr", "0"], "--lr must be positive"),
        (["--lr=-0.1,0.1"], "--lr must be positive"),
        (["--epochs", "0"], "--epochs must be an integer >= 1"),
        (["--batch-size", "0"], "--batch-size must be an integer >= 1"),
        (["--hidden", "0"], "--hidden must be an integer >= 1"),
        (["--schedule", "step"], "unknown --schedule 'step'"),
    ],
)
def test_cli_bad_hyperparameters(tmp_path, capsys, flags, message):
    assert main(["iris", "--out", str(tmp_path), "--no-progress", *flags]) == 2
    assert message in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "text, message",
    [("a,b,label\n1,x,0\n2,3,1\n", "is not a number"), ("a,b,label\n1,,0\n2,3,1\n", "missing value"),
     ("a,b,label\n" + "1,2,0\n" * 20, "single class")],
)
def test_cli_bad_csv(tmp_path, capsys, text, message):
    csv_path = tmp_path / "mine.csv"
    csv_path.write_text(text)
    out = tmp_path / "runs"
    assert main(["iris", "--csv", str(csv_path), "--out", str(out), "--no-progress"]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() or os.listdir(out) == []


def test_cli_trains_on_a_users_csv(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    lines = ["x1,x2,kind"] + [f"{rng.normal(3 * (i % 2)):.3f},{rng.normal():.3f},{'ab'[i % 2]}" for i in range(60)]
    (tmp_path / "mine.csv").write_text("\n".join(lines) + "\n")
    assert main(["iris", "--csv", str(tmp_path / "mine.csv"), "--lr", "0.1", "--hidden", "4", "--epochs", "10",
                 "--out", str(tmp_path / "runs"), "--no-progress"]) == 0
    (run,) = os.listdir(tmp_path / "runs")
    assert run.startswith("mine-h4")
