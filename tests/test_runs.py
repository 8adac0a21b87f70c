"""Run folders: refusal without --overwrite, atomic files, nothing left after a failure."""

import os

import pytest

from backproplab.runs import RunExistsError, RunFolder, atomic_path, read_metrics
from backproplab.runs.folder import write_csv


def test_a_finished_run_appears_whole(tmp_path):
    with RunFolder(tmp_path / "run") as run:
        run.write_json("config.json", {"a": 1})
        assert (tmp_path / "run.partial").is_dir() and not (tmp_path / "run").exists()
    assert (tmp_path / "run" / "config.json").exists() and not (tmp_path / "run.partial").exists()


def test_an_existing_run_is_refused_unless_overwrite(tmp_path):
    with RunFolder(tmp_path / "run") as run:
        run.write_text("a.txt", "old")
    with pytest.raises(RunExistsError, match="already exists; pass --overwrite"):
        RunFolder(tmp_path / "run")
    assert (tmp_path / "run" / "a.txt").read_text() == "old"
    with RunFolder(tmp_path / "run", overwrite=True) as run:
        run.write_text("b.txt", "new")
    assert sorted(os.listdir(tmp_path / "run")) == ["b.txt"]
    assert sorted(os.listdir(tmp_path)) == ["run"]


def test_a_failed_run_leaves_nothing(tmp_path):
    with pytest.raises(ValueError):
        with RunFolder(tmp_path / "run") as run:
            run.write_text("a.txt", "x")
            raise ValueError("boom")
    assert os.listdir(tmp_path) == []


def test_an_interrupted_run_keeps_its_partial_folder_for_resume(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with RunFolder(tmp_path / "run") as run:
            run.write_text("checkpoint", "x")
            raise KeyboardInterrupt
    assert (tmp_path / "run.partial" / "checkpoint").exists()
    with RunFolder(tmp_path / "run", resume=True) as run:
        assert run.file("checkpoint").read_text() == "x"
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        RunFolder(tmp_path / "other", resume=True)


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "metrics.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["metrics.csv"]


def test_metrics_round_trip(tmp_path):
    rows = [{"epoch": 1, "train_loss": 0.5, "lr": 0.1}, {"epoch": 2, "train_loss": 0.25, "lr": 0.1}]
    write_csv(tmp_path / "m.csv", rows, ["epoch", "train_loss", "lr"])
    assert read_metrics(tmp_path / "m.csv") == rows
