"""Run folders: only our own folders are ever replaced, names stay inside --out, one run
per name at a time, nothing half-written, strict JSON, bounded readers."""

import json
import multiprocessing
import os
import time

import pytest
from hypothesis import given, strategies as st

from backproplab.errors import RunError
from backproplab.runs.files import RunFileError, atomic_path, read_json, read_metrics, write_csv, write_json
from backproplab.runs.folder import MARKER, RunExistsError, RunFolder, check_name
from backproplab.runs.lock import RunBusyError


def listing(root):
    """Every path under root with its size and modification time: any change shows."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st_ = os.lstat(p)
            out[os.path.relpath(p, root)] = (st_.st_size, st_.st_mtime_ns)
    return out


def test_a_finished_run_appears_whole_with_its_marker(tmp_path):
    with RunFolder(tmp_path, "run") as run:
        run.write_json("config.json", {"a": 1})
        assert (tmp_path / "run.partial").is_dir() and not (tmp_path / "run").exists()
    assert (tmp_path / "run" / "config.json").exists() and (tmp_path / "run" / MARKER).exists()
    assert sorted(os.listdir(tmp_path)) == ["run"]  # no lock file, no temporary left


def test_an_existing_run_is_refused_unless_overwrite(tmp_path):
    with RunFolder(tmp_path, "run") as run:
        run.write_text("a.txt", "old")
    with pytest.raises(RunExistsError, match=r"already exists; to replace it: the same call with RunOptions\(overwrite"):
        RunFolder(tmp_path, "run")
    assert (tmp_path / "run" / "a.txt").read_text() == "old"
    with RunFolder(tmp_path, "run", overwrite=True) as run:
        run.write_text("b.txt", "new")
    assert sorted(os.listdir(tmp_path / "run")) == [MARKER, "b.txt"]
    assert sorted(os.listdir(tmp_path)) == ["run"]


def test_new_version_keeps_the_old_run(tmp_path):
    for _ in range(3):
        with RunFolder(tmp_path, "run", new_version=True) as run:
            run.write_text("x", run.name)
    assert sorted(os.listdir(tmp_path)) == ["run", "run-v2", "run-v3"]
    assert (tmp_path / "run-v3" / "x").read_text() == "run-v3"


@pytest.mark.parametrize("what", ["folder", "file", "link"])
def test_overwrite_never_replaces_what_is_not_a_run(tmp_path, what):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("mine")
    target = tmp_path / "out" / "r"
    target.parent.mkdir()
    if what == "folder":
        target.mkdir()
        (target / "notes.txt").write_text("mine too")
    elif what == "file":
        target.write_text("a file of mine")
    else:
        target.symlink_to(victim)
    before, before_victim = listing(tmp_path / "out"), listing(victim)
    with pytest.raises(RunError, match="backproplab never replaces it"):
        RunFolder(tmp_path / "out", "r", overwrite=True)
    assert listing(tmp_path / "out") == before and listing(victim) == before_victim


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_folder_that_appears_during_the_run_is_left_alone(tmp_path, overwrite):
    with pytest.raises(RunError, match="appeared during the run; it is left as it is"):
        with RunFolder(tmp_path, "r", overwrite=overwrite) as run:
            run.write_text("result.txt", "ours")
            (tmp_path / "r").mkdir()
            (tmp_path / "r" / "precious.txt").write_text("theirs")
    assert (tmp_path / "r" / "precious.txt").read_text() == "theirs"
    assert (tmp_path / "r.partial" / "result.txt").read_text() == "ours"  # the run is kept, not lost


@pytest.mark.parametrize("name", ["../../x", "/elsewhere/x", ".", "..", "", "a/b", "a\\b", ".hidden", "x.partial",
                                  "tab\there", "x" * 247, "bad\udcffbytes"])
def test_a_name_is_one_safe_path_component(tmp_path, name):
    before = listing(tmp_path)
    with pytest.raises(RunError, match="cannot be a run name"):
        RunFolder(tmp_path / "out", name, overwrite=True)
    assert listing(tmp_path) == before or list(listing(tmp_path)) == ["out"]


@given(st.text(min_size=1, max_size=60))
def test_check_name_accepts_only_single_components(name):
    try:
        check_name(name)
    except RunError:
        return
    assert "/" not in name and "\\" not in name and name not in (".", "..") and not name.startswith(".")


def test_a_failure_before_any_checkpoint_leaves_nothing(tmp_path):
    with pytest.raises(ValueError):
        with RunFolder(tmp_path, "run") as run:
            run.write_text("a.txt", "x")
            raise ValueError("boom")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("error", [ValueError("late"), KeyboardInterrupt()])
def test_a_failure_after_a_checkpoint_keeps_it_and_says_how_to_resume(tmp_path, error):
    with pytest.raises(type(error)) as caught:
        with RunFolder(tmp_path, "run") as run:
            run.write_text("checkpoint.pt", "epochs")
            raise error
    assert (tmp_path / "run.partial" / "checkpoint.pt").read_text() == "epochs"
    assert any("resume=True" in note for note in caught.value.__notes__)
    with RunFolder(tmp_path, "run", resume=True) as run:
        assert run.file("checkpoint.pt").read_text() == "epochs"
    assert (tmp_path / "run" / "checkpoint.pt").exists()


def test_a_partial_run_with_a_checkpoint_is_not_thrown_away(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with RunFolder(tmp_path, "run") as run:
            run.write_text("checkpoint.npz", "x")
            raise KeyboardInterrupt
    with pytest.raises(RunExistsError, match=r"holds an interrupted run: continue it with the same call with "
                                             r"RunOptions\(resume=True\)"):
        RunFolder(tmp_path, "run")
    with pytest.raises(RunError, match="nothing to resume"):
        RunFolder(tmp_path, "other", resume=True)
    with RunFolder(tmp_path, "run", overwrite=True):
        pass
    assert not (tmp_path / "run" / "checkpoint.npz").exists()


def test_a_failure_while_resuming_deletes_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with RunFolder(tmp_path, "run") as run:
            run.write_text("checkpoint.pt", "x")
            raise KeyboardInterrupt
    before = listing(tmp_path)
    with pytest.raises(ValueError):
        with RunFolder(tmp_path, "run", resume=True):
            raise ValueError("refused")
    assert listing(tmp_path) == before


def _hold(out, started, release):
    with RunFolder(out, "same"):
        started.set()
        release.wait(20)


def test_a_second_run_of_the_same_name_refuses_at_once(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    started, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(tmp_path), started, release))
    holder.start()
    try:
        assert started.wait(30)
        before = listing(tmp_path)
        t = time.perf_counter()
        with pytest.raises(RunBusyError, match="another backproplab process is running"):
            RunFolder(tmp_path, "same", overwrite=True)
        assert time.perf_counter() - t < 2
        assert {k: v for k, v in listing(tmp_path).items() if not k.startswith(".same.lock")} == \
            {k: v for k, v in before.items() if not k.startswith(".same.lock")}
    finally:
        release.set()
        holder.join(30)
    assert holder.exitcode == 0 and (tmp_path / "same" / MARKER).exists()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    started, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(tmp_path), started, release))
    holder.start()
    assert started.wait(30)
    holder.kill()  # SIGKILL: no cleanup code runs
    holder.join(30)
    with RunFolder(tmp_path, "same", overwrite=True) as run:  # the kernel released the lock
        run.write_text("a", "b")
    assert (tmp_path / "same" / "a").exists()


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "metrics.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["metrics.csv"]


def test_json_is_always_valid(tmp_path):
    write_json(tmp_path / "s.json", {"loss": float("nan"), "x": [float("inf"), 1.5]})
    text = (tmp_path / "s.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"loss": None, "x": [None, 1.5]}


def test_metrics_round_trip(tmp_path):
    rows = [{"epoch": 1, "train_loss": 0.5, "lr": 0.1}, {"epoch": 2, "train_loss": 0.25, "lr": 0.1}]
    write_csv(tmp_path / "m.csv", rows, ["epoch", "train_loss", "lr"])
    assert read_metrics(tmp_path / "m.csv") == rows


@pytest.mark.parametrize("content, message", [
    (b"{not json", "not valid JSON"), (b"[1, 2]", "expected a JSON object"), (b'{"a": NaN}', "not valid JSON"),
    (b"\xff\xfe", "not UTF-8"), (b"[" * 100000, "not valid JSON"),
])
def test_bad_json_names_the_file(tmp_path, content, message):
    (tmp_path / "summary.json").write_bytes(content)
    with pytest.raises(RunFileError, match=message) as err:
        read_json(tmp_path / "summary.json")
    assert str(tmp_path / "summary.json") in str(err.value)


def test_readers_refuse_files_larger_than_a_run_writes(tmp_path):
    with pytest.raises(RunFileError, match="is not a regular file"):
        read_json("/dev/zero")
    big = tmp_path / "metrics.csv"
    with open(big, "wb") as f:
        f.truncate(17 * 2**20)
    with pytest.raises(RunFileError, match="more than the"):
        read_metrics(big)


def test_tensorboard_event_files_hold_every_epoch(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from backproplab.pipelines.iris import IrisConfig, run
    from backproplab.runs.options import RunOptions

    s = run(IrisConfig(hidden=[4], lr=[0.1], epochs=5), RunOptions(out=str(tmp_path), name="r", progress=False,
                                                                 tensorboard=True))
    events = EventAccumulator(os.path.join(s["path"], "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("loss/validation")] == [1, 2, 3, 4, 5]
    assert {"loss/train", "accuracy/validation", "learning_rate"} <= set(events.Tags()["scalars"])
