"""The Iris pipeline and its CLI: accuracy, reproducibility, the cross-validated sweep,
bad input."""

import csv
import json
import os

import numpy as np
import pytest

from backproplab.cli import main
from backproplab.data.splits import stratified_folds
from backproplab.pipelines.iris import IrisConfig, run
from backproplab.runs.log import TIME_COLUMNS
from backproplab.runs.options import RunOptions


def one(**kw) -> IrisConfig:
    """A single run (one learning rate, one hidden size): the defaults chosen by cross-validation."""
    return IrisConfig(**{"hidden": [4], "lr": [0.05], **kw})


def options(out, name=None):
    return RunOptions(out=str(out), name=name, progress=False)


@pytest.mark.parametrize("seed", range(5))
def test_default_two_layer_net_reaches_93_percent(tmp_path, seed):
    summary = run(one(seed=seed), options(tmp_path))
    assert summary["test_accuracy"] >= 0.93, summary
    rows = list(csv.DictReader(open(os.path.join(summary["path"], "metrics.csv"))))
    assert float(rows[-1]["train_loss"]) < 0.5 * float(rows[0]["train_loss"])


def without_time(path):
    """metrics.csv without the wall-clock columns, the only ones no seed can fix."""
    rows = list(csv.reader(open(os.path.join(path, "metrics.csv"))))
    keep = [i for i, c in enumerate(rows[0]) if c not in TIME_COLUMNS]
    return [[r[i] for i in keep] for r in rows]


def test_run_folder_contents_and_byte_identical_metrics(tmp_path):
    a = run(one(epochs=20), options(tmp_path / "a"))
    b = run(one(epochs=20), options(tmp_path / "b"))
    assert {"config.json", "error.png", "loss.png", "metrics.csv", "params.npz", "summary.json", "confusion.png",
            "confusion.csv", "weights.png", "checkpoint.npz"} <= set(os.listdir(a["path"]))
    assert without_time(a["path"]) == without_time(b["path"])
    config = json.load(open(os.path.join(a["path"], "config.json")))
    assert config["seed"] == 0 and config["split_seed"] == 2 and "numpy" in config["versions"]
    summary = json.load(open(os.path.join(a["path"], "summary.json")))
    assert {"test_loss", "test_accuracy", "test_error", "best_epoch", "wall_seconds"} <= set(summary)


def test_loaded_model_predicts_what_the_run_reported(tmp_path):
    from backproplab.data.dataset import Standardizer
    from backproplab.data.tabular import iris_path, read_csv, split_tabular
    from backproplab.nn.models import NeuralNetwork

    s = run(one(epochs=30), options(tmp_path))
    path = os.path.join(s["path"], "params.npz")
    model = NeuralNetwork.load(path)
    with np.load(path, allow_pickle=False) as f:
        standardize = Standardizer.from_arrays(f)
    X, y, _, _ = read_csv(iris_path())
    Xt, yt = split_tabular(X, y, seed=2)["test"]
    accuracy = float(np.mean(model.predict(standardize(Xt)).argmax(axis=1) == yt))
    assert accuracy == pytest.approx(s["test_accuracy"])


def test_stratified_folds_are_balanced_and_seeded():
    y = np.repeat(np.arange(3), 40)
    folds = stratified_folds(y, 5, seed=0)
    for k in range(5):
        assert np.bincount(y[folds == k], minlength=3).tolist() == [8, 8, 8]
    assert np.array_equal(folds, stratified_folds(y, 5, seed=0))
    assert not np.array_equal(folds, stratified_folds(y, 5, seed=1))


def test_cli_sweep_chooses_by_cross_validation_and_writes_its_tables(tmp_path, capsys):
    assert main(["iris", "--lr", "0.01,0.1", "--hidden", "4,8", "--epochs", "15", "--other-splits", "3",
                 "--out", str(tmp_path), "--name", "sw", "--no-progress"]) == 0
    sweep = tmp_path / "sw"
    assert {"sweep.csv", "splits.csv", "summary.json", "lr0.01-h4", "lr0.1-h8"} <= set(os.listdir(sweep))
    rows = list(csv.DictReader(open(sweep / "sweep.csv")))
    assert len(rows) == 4 and {"lr", "hidden", "cv_error", "cv_error_std", "cv_loss", "test_error"} <= set(rows[0])
    chosen = [r for r in rows if r["chosen"] == "True"]
    best = min(rows, key=lambda r: (float(r["cv_error"]), float(r["cv_loss"])))  # cross-validation chooses
    assert chosen == [best]
    assert "chosen by 5-fold cross-validation ×2" in capsys.readouterr().out
    splits = list(csv.DictReader(open(sweep / "splits.csv")))
    assert [int(r["split_seed"]) for r in splits] == [0, 1, 2]
    summary = json.loads((sweep / "summary.json").read_text())
    assert summary["splits_mean"] == pytest.approx(np.mean([float(r["test_accuracy"]) for r in splits]))


def test_cli_refuses_to_overwrite_and_leaves_the_old_run(tmp_path, capsys):
    args = ["iris", "--lr", "0.1", "--hidden", "4", "--epochs", "5", "--out", str(tmp_path), "--name", "r",
            "--no-progress"]
    assert main(args) == 0
    before = (tmp_path / "r" / "metrics.csv").read_bytes()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "already exists; to replace it: backproplab iris" in err and " --overwrite;" in err
    assert (tmp_path / "r" / "metrics.csv").read_bytes() == before
    assert main(args + ["--overwrite"]) == 0
    assert main(args + ["--new-version"]) == 0
    assert sorted(os.listdir(tmp_path)) == ["r", "r-v2"]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--lr", "0"], "--lr must be in (0, 10]"),
        (["--lr=-0.1,0.1"], "--lr must be in (0, 10]"),
        (["--epochs", "0"], "--epochs must be in [1, 100000]"),
        (["--batch-size", "0"], "--batch-size must be in [1, 100000]"),
        (["--hidden", "0"], "--hidden must be in [1, 4096]"),
        (["--schedule", "step"], "--schedule must be one of constant, exponential, cosine"),
        (["--momentum", "nan"], "--momentum must be a finite number"),
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
    rng = np.random.default_rng(0)
    lines = ["x1,x2,kind"] + [f"{rng.normal(3 * (i % 2)):.3f},{rng.normal():.3f},{'ab'[i % 2]}" for i in range(60)]
    (tmp_path / "mine.csv").write_text("\n".join(lines) + "\n")
    assert main(["iris", "--csv", str(tmp_path / "mine.csv"), "--lr", "0.1", "--hidden", "4", "--epochs", "10",
                 "--out", str(tmp_path / "runs"), "--no-progress"]) == 0
    (run_dir,) = os.listdir(tmp_path / "runs")
    assert run_dir.startswith("mine-h4")


def test_a_piped_sweep_prints_a_line_per_member_and_every_epoch_only_when_verbose(tmp_path):
    """Piped (a log file, CI), a sweep of 4 members says one line each, not one per epoch of
    each of them; --verbose adds the epochs."""
    import subprocess
    import sys

    env = {**os.environ, "BACKPROPLAB_PROGRESS": "1"}  # as a user's shell has it
    args = [sys.executable, "-m", "backproplab", "iris", "--lr", "0.05,0.5", "--hidden", "4,8", "--epochs", "20",
            "--other-splits", "1", "--out", str(tmp_path)]
    quiet = subprocess.run(args + ["--name", "q"], capture_output=True, text=True, timeout=300, env=env)
    assert quiet.returncode == 0, quiet.stderr
    lines = (quiet.stdout + quiet.stderr).splitlines()
    members = [line for line in lines if line.startswith("sweep ") and not line.startswith("sweep folder")]
    assert [m.split(":")[0] for m in members] == [f"sweep {k}/4" for k in range(1, 5)]
    assert "CV error" in members[0] and "test error" in members[0]
    assert len(lines) <= len(members) + 3, lines  # and the result, the folder
    verbose = subprocess.run(args + ["--name", "v", "--verbose"], capture_output=True, text=True, timeout=300,
                             env=env)
    assert verbose.returncode == 0, verbose.stderr
    assert len((verbose.stdout + verbose.stderr).splitlines()) >= 4 * 20  # every epoch of every member
