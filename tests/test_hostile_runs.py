"""The second hostile round (issue 24), through the command line as an attacker or an
unlucky user would try it: links planted at our lock's name, FIFOs where files should be,
bombs in the images we embed and the checkpoints we resume, tampered checkpoint records,
folders that no one wrote on purpose, text that other programs would run (Markdown,
matplotlib maths, terminals), two jobs in one folder, Ctrl-C at start-up. Each case
checks what a user sees: the files before and after, the exit status, one clear line,
the memory used where it is about memory, a time bound where it is about hanging."""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from backproplab.cli import main
from backproplab.runs.files import write_json
from fixtures import fake_run, write_fashion

#: the address space of a command under test: Python, numpy and matplotlib take about 1 GiB
#: of it; the bombs below would need several more
MEMORY_CAP = 2 * 2**30


def _cap_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def cli(*args, timeout=120, cap=True, env=None):
    """``python -m backproplab ARGS`` as a user runs it, memory capped, within ``timeout``."""
    return subprocess.run([sys.executable, "-m", "backproplab", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=_cap_memory if cap else None, env={**os.environ, **(env or {})},
                          errors="replace")


def one_clear_line(result, *needles):
    """A refusal a user can read: no traceback, no internal error, every needle said."""
    err = result.stderr
    assert "Traceback" not in err and "internal error" not in err and "out of memory" not in err, err
    for needle in needles:
        assert needle in err, err


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in sorted(root.rglob("*")) if not p.is_fifo()}


# -- 1. links at the lock's name -----------------------------------------------------------


@pytest.mark.parametrize("dangling", [False, True], ids=["existing", "dangling"])
def test_a_link_at_the_lock_name_is_never_followed(tmp_path, dangling):
    exp, victim = tmp_path / "exp", tmp_path / "victim"
    exp.mkdir()
    if not dangling:
        victim.write_text("precious")
    (exp / ".r1.lock").symlink_to("../victim")
    result = cli("iris", "--hidden", "4", "--lr", "0.05", "--epochs", "2", "--out", exp, "--name", "r1",
                 "--no-progress")
    assert result.returncode == 2
    one_clear_line(result, ".r1.lock is a link; backproplab never follows it")
    assert victim.exists() != dangling and (dangling or victim.read_text() == "precious")
    assert sorted(p.name for p in exp.iterdir()) == [".r1.lock"]


# -- 2. line breaks that Markdown honours --------------------------------------------------


def test_no_line_break_in_a_name_starts_html_in_report_md(tmp_path):
    from markdown_it import MarkdownIt

    runs = tmp_path / "runs"
    for i, brk in enumerate(["\r", "\n", "\r\n", "\v", "\f", "\x85", "\u2028"]):
        evil = f"x{i}{brk}<details open ontoggle=alert(1)>"
        fake_run(runs / evil, "fashion", {"engine": "numpy", "model": "mlp", "test_accuracy": 0.9, "device": evil})
        fake_run(runs / f"{evil}-unreadable", "fashion", {})
        (runs / f"{evil}-unreadable" / "metrics.csv").write_text("epoch\n1,2\n")  # listed by its path
    assert main(["report", str(runs)]) == 1
    md = (runs / "report.md").read_text(encoding="utf-8")
    rendered = MarkdownIt("commonmark").render(md)  # raw HTML allowed, as in most Markdown viewers
    assert "<details" not in rendered and "ontoggle" in rendered


# -- 3. FIFOs where a file should be -------------------------------------------------------


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("two")
    fake_run(root / "good", "fashion", {"engine": "numpy", "model": "mlp", "test_accuracy": 0.91})
    fake_run(root / "bad", "fashion", {"engine": "torch", "model": "mlp", "test_accuracy": 0.92})
    return root


def hostile_copy(two_runs: Path, tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    shutil.copytree(two_runs, root)
    return root


@pytest.mark.parametrize("name", ["metrics.csv", "summary.json", "config.json", "loss.png"])
def test_a_fifo_in_a_run_folder_is_listed_and_never_waited_on(two_runs, tmp_path, name):
    root = hostile_copy(two_runs, tmp_path)
    (root / "bad" / name).unlink()
    os.mkfifo(root / "bad" / name)
    for command in ([["runs", root]] if name != "loss.png" else []) + [["report", root]]:
        start = time.monotonic()
        result = cli(*command, timeout=60)
        assert time.monotonic() - start < 60
        assert result.returncode == 1, result.stderr
        one_clear_line(result)
        listed = result.stdout if command[0] == "runs" else (root / "report.html").read_text()
        assert f"bad/{name}: is a FIFO" in listed and "91.00%" in listed  # the good run is still there


def test_a_fifo_given_as_a_file_to_read_is_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    result = cli("iris", "--csv", tmp_path / "fifo", "--out", tmp_path / "o", timeout=60)
    assert result.returncode == 2
    one_clear_line(result, "is a FIFO, not a CSV file")
    assert not (tmp_path / "o").exists()


def test_a_fifo_as_predict_on_is_refused_before_training(tmp_path):
    from fixtures import write_cifar

    data = write_cifar(tmp_path / "data", n_per_batch=30, n_test=20)
    os.mkfifo(tmp_path / "fifo.npy")
    result = cli("cifar", "--data-dir", data, "--predict-on", tmp_path / "fifo.npy", "--out", tmp_path / "o",
                 "--epochs", "1", "--device", "cpu", "--threads", "1", "--no-progress", timeout=120, cap=False)
    assert result.returncode == 2
    one_clear_line(result, "is a FIFO")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


# -- 8. one bad folder never sinks `runs` or `report` --------------------------------------


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


#: name → (what to do to the run folder "bad", whether runs/report list it as unreadable)
BAD_FOLDERS = {
    "metrics-row-longer-than-header": (lambda bad: (bad / "metrics.csv").write_text("epoch,val_accuracy\n1,2,3\n"),
                                       True),
    "metrics-binary": (lambda bad: (bad / "metrics.csv").write_bytes(b"\xff\xfe\x00epoch\x00" * 50), True),
    "metrics-a-folder": (lambda bad: ((bad / "metrics.csv").unlink(), (bad / "metrics.csv").mkdir()), True),
    "summary-400-digit-integers": (lambda bad: (bad / "summary.json").write_text(
        '{"pipeline": "fashion", "engine": "torch", "model": "mlp", "test_accuracy": 1%s, "epochs": 9%s, '
        '"parameters": 7%s, "wall_seconds": 1e999, "train_seconds": -1e999}' % ("0" * 400, "9" * 400, "1" * 400)),
                                   False),
    "config-nested-900-deep": (lambda bad: (bad / "config.json").write_text(
        (bad / "config.json").read_text().replace('"hidden": [', '"hidden": [%s, ' % _nested(900))), True),
    "config-nested-100000-deep": (lambda bad: (bad / "config.json").write_text(
        '{"pipeline": "fashion", "hidden": %s}' % _nested(100_000)), True),
    "config-wrong-types": (lambda bad: write_json(bad / "config.json", {
        "pipeline": "fashion", "hidden": {"a": 1}, "epochs": "many", "lr": [None], "dropout": {}}), False),
    "summary-sparse-gigabyte": (lambda bad: os.truncate(bad / "summary.json", 2**30), True),
    "loss-png-sparse-400-mb": (lambda bad: ((bad / "loss.png").write_bytes(b"\x89PNG\r\n\x1a\n"),
                                            os.truncate(bad / "loss.png", 400 * 2**20)), True),
    "loss-png-a-link": (lambda bad: ((bad / "loss.png").unlink(), (bad / "loss.png").symlink_to("/etc/hostname")),
                        True),
}


@pytest.mark.parametrize("case", BAD_FOLDERS)
def test_one_bad_folder_is_listed_and_the_rest_reported(two_runs, tmp_path, case):
    root = hostile_copy(two_runs, tmp_path)
    spoil, listed = BAD_FOLDERS[case]
    spoil(root / "bad")
    for command in ["runs", "report"]:
        start = time.monotonic()
        result = cli(command, root, timeout=60)
        assert time.monotonic() - start < 60
        one_clear_line(result)
        shown = result.stdout if command == "runs" else (root / "report.html").read_text()
        assert "91.00%" in shown, shown[-2000:]  # the good run
        if command == "report":
            assert (root / "report.html").stat().st_size < 5 * 2**20
            listed_here = listed
        else:  # runs reads no picture
            listed_here = listed and not case.startswith("loss-png")
        assert result.returncode == (1 if listed_here else 0), result.stderr
        if listed_here:
            assert "/bad/" in shown[shown.index("could not be read" if command == "report" else "unreadable"):]


def test_a_non_utf8_folder_name_and_maths_in_names_are_shown_as_written(two_runs, tmp_path):
    root = hostile_copy(two_runs, tmp_path)
    os.rename(root / "bad", os.fsdecode(bytes(root / "bad") + b"\xff\xfe"))
    shutil.copytree(root / "good", root / "$\\foo$ ${{{}}}$ \x1b[31m")
    for command in ["runs", "report"]:
        result = cli(command, root, timeout=60)
        assert result.returncode == 0, result.stderr
        one_clear_line(result)
    md = (root / "report.md").read_text(encoding="utf-8")  # valid UTF-8 throughout
    assert "bad" in md and "$\\foo$" in md.replace("\\\\", "\\").replace("\\$", "$")


def test_an_unreadable_folder_is_listed(two_runs, tmp_path):
    root = hostile_copy(two_runs, tmp_path)
    os.chmod(root / "bad", 0)
    prefix = []
    if os.geteuid() == 0:  # root reads every folder: give it to another user and drop root's power to override
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv (util-linux), so no folder is unreadable to this test")
        os.chown(root / "bad", 12345, 12345)
        prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    try:
        for command in ["runs", "report"]:
            result = subprocess.run([*prefix, sys.executable, "-m", "backproplab", command, str(root)],
                                    capture_output=True, text=True, timeout=60, preexec_fn=_cap_memory)
            one_clear_line(result)
            assert result.returncode == 1, result.stderr
            shown = result.stdout if command == "runs" else (root / "report.html").read_text()
            assert "bad: cannot be read (Permission denied)" in shown and "91.00%" in shown
    finally:
        os.chmod(root / "bad", 0o755)


def test_an_all_json_that_is_not_ours_is_listed(two_runs, tmp_path):
    root = hostile_copy(two_runs, tmp_path)
    write_json(root / "all.json", {"quick": "yes", "stages": [1, "x", None, {"status": "failed", "name": {"a": [1]},
                                                                              "reason": 7, "looked_in": "nowhere"}]})
    result = cli("report", root, timeout=60)
    one_clear_line(result)
    page = (root / "report.html").read_text()
    assert "91.00%" in page and "all.json" in page


# -- 6 and 10. checkpoints that are not what we wrote --------------------------------------

IRIS = ["iris", "--hidden", "8", "--lr", "0.05", "--epochs", "6", "--name", "r", "--no-progress"]


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """An Iris run kept with its checkpoint after every epoch ran (the disk filled up at the end)."""
    from backproplab.pipelines import iris

    out = tmp_path_factory.mktemp("interrupted")

    def broken(*args, **kwargs):
        raise OSError("No space left on device")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(iris, "write_outputs", broken)
        assert main([*IRIS, "--out", str(out)]) == 2
    assert (out / "r.partial" / "checkpoint.npz").is_file()
    return out


def read_checkpoint(path: Path) -> tuple[dict, dict]:
    with np.load(path, allow_pickle=False) as f:  # our own file, written by the fixture
        arrays = {k: f[k] for k in f.files}
    return arrays, json.loads(str(arrays.pop("__meta__")))


def rewrite(path: Path, change) -> None:
    arrays, meta = read_checkpoint(path)
    change(arrays, meta)
    np.savez(path, __meta__=np.array(json.dumps(meta)), **arrays)


def bomb(path: Path, member: str, inflated: int = 5 * 2**29) -> None:
    """An .npz whose ``member`` is a float32 .npy of ``inflated`` zero bytes (a few MB on disk)."""
    arrays, meta = read_checkpoint(path)
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1, np.float32))
    header["shape"] = (inflated // 4,)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("__meta__.npy", _npy(np.array(json.dumps(meta))))
        for key, value in arrays.items():
            if key != member:
                z.writestr(f"{key}.npy", _npy(value))
        with z.open(f"{member}.npy", "w", force_zip64=True) as m:
            buf = __import__("io").BytesIO()
            np.lib.format.write_array_header_1_0(buf, header)
            m.write(buf.getvalue())
            zeros = bytes(2**24)
            for _ in range(inflated // len(zeros)):
                m.write(zeros)


def _npy(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def _set(key, value):
    return lambda arrays, meta: meta.__setitem__(key, value)


TAMPERED = {
    "epoch-a-string": (_set("epoch", "3"), "its epoch is '3'"),
    "epoch-negative": (_set("epoch", -5), "its epoch is -5"),
    "epoch-beyond-the-run": (_set("epoch", 10**9), "its epoch is 1000000000"),
    "rows-not-a-list": (_set("rows", "x"), "one metrics row per finished epoch"),
    "unknown-rng": (lambda a, m: m["rng"]["init"].__setitem__("bit_generator", "Evil"), "state cannot be restored"),
    "negative-rng-state": (lambda a, m: m["rng"]["shuffle"]["state"].__setitem__("state", -1),
                           "state cannot be restored"),
    "no-optimizer-scalars": (lambda a, m: m.pop("optimizer_scalars"), "state cannot be restored"),
    "seconds-infinite": (_set("wall", float("inf")), "its wall is inf"),
    "unknown-array": (lambda a, m: a.__setitem__("evil", np.zeros(10)), "holds 'evil.npy'"),
    "other-shapes": (lambda a, m: a.__setitem__("model.0.W", np.zeros((5, 8), np.float32)),
                     "not this run's model"),
    "missing-array": (lambda a, m: a.pop("model.1.b"), "not this run's model"),
    "nan-weights": (lambda a, m: a["model.0.W"].__setitem__((0, 0), np.nan), "NaN or infinite"),
}


def resume_refused(out: Path, *needles: str):
    before = snapshot(out)
    result = cli(*IRIS, "--out", out, "--resume", timeout=120)
    assert result.returncode == 2, result.stderr
    one_clear_line(result, "cannot be resumed", "--overwrite", *needles)
    assert "continue it with" not in result.stderr and "learning rate" not in result.stderr
    assert snapshot(out) == before  # nothing written, nothing removed
    return result


@pytest.mark.parametrize("case", TAMPERED)
def test_a_tampered_checkpoint_is_refused_and_kept(interrupted, tmp_path, case):
    change, needle = TAMPERED[case]
    out = tmp_path / "out"
    shutil.copytree(interrupted, out)
    rewrite(out / "r.partial" / "checkpoint.npz", change)
    resume_refused(out, needle)


@pytest.mark.parametrize("member", ["model.0.W", "evil"])
def test_a_checkpoint_bomb_is_refused_before_it_inflates(interrupted, tmp_path, member):
    out = tmp_path / "out"
    shutil.copytree(interrupted, out)
    bomb(out / "r.partial" / "checkpoint.npz", member)
    resume_refused(out, "inflates to 2,684,354,688 bytes" if member != "evil" else "holds 'evil.npy'")


@pytest.mark.parametrize("kind", ["fifo", "truncated", "folder"])
def test_a_checkpoint_that_is_not_a_file_we_wrote_is_refused(interrupted, tmp_path, kind):
    out = tmp_path / "out"
    shutil.copytree(interrupted, out)
    path = out / "r.partial" / "checkpoint.npz"
    if kind == "truncated":
        path.write_bytes(path.read_bytes()[:3000])
    else:
        path.unlink()
        os.mkfifo(path) if kind == "fifo" else path.mkdir()
    before = snapshot(out)
    result = cli(*IRIS, "--out", out, "--resume", timeout=60)
    assert result.returncode == 2
    one_clear_line(result, {"fifo": "is a FIFO", "truncated": "cannot be resumed", "folder": "is a folder"}[kind])
    assert snapshot(out) == before


@pytest.fixture(scope="module")
def interrupted_torch(tmp_path_factory):
    """A Fashion-MNIST PyTorch run kept with its checkpoint (the disk filled up at the end)."""
    from backproplab.pipelines import fashion

    root = tmp_path_factory.mktemp("interrupted-torch")
    data = write_fashion(root / "data", n_train=400, n_test=50)

    def broken(*args, **kwargs):
        raise OSError("No space left on device")

    args = ["fashion", "--engine", "torch", "--data-dir", str(data), "--out", str(root / "out"), "--name", "r",
            "--epochs", "2", "--hidden", "16", "--validation", "100", "--device", "cpu", "--threads", "1",
            "--no-progress"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fashion, "write_outputs", broken)
        assert main(args) == 2
    return root, args


@pytest.mark.parametrize("case", ["other-shapes", "nan-weights", "no-rng"])
def test_a_tampered_torch_checkpoint_is_refused_and_kept(interrupted_torch, tmp_path, case):
    import torch

    root, args = interrupted_torch
    shutil.copytree(root, tmp_path / "copy")
    args = [str(a).replace(str(root), str(tmp_path / "copy")) for a in args]
    path = tmp_path / "copy" / "out" / "r.partial" / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    first = next(iter(state["model"]))
    if case == "other-shapes":
        state["model"][first] = torch.zeros(3, 3)
    elif case == "nan-weights":
        state["model"][first].view(-1)[0] = float("nan")
    else:
        del state["rng"]
    torch.save(state, path)
    before = snapshot(tmp_path / "copy" / "out")
    result = cli(*args[:], "--resume", timeout=300, cap=False)
    assert result.returncode == 2, result.stderr
    one_clear_line(result, "cannot be resumed", "--overwrite", {"other-shapes": "does not fit this run",
                                                                "nan-weights": "NaN or infinite",
                                                                "no-rng": "no random-number states"}[case])
    assert "continue it with" not in result.stderr and "learning rate" not in result.stderr
    assert snapshot(tmp_path / "copy" / "out") == before


# -- 7 and 11. a small CSV that implies a large run, and text that matplotlib would parse --


def test_a_csv_with_thousands_of_classes_is_refused_before_training(tmp_path):
    csv = tmp_path / "classes.csv"
    csv.write_text("a,b,label\n" + "".join(f"{i % 7}.5,{i % 3},c{i}\n" for i in range(30_000)))
    start = time.monotonic()
    result = cli("iris", "--csv", csv, "--out", tmp_path / "o", "--hidden", "4", "--lr", "0.1", timeout=120)
    assert result.returncode == 2 and time.monotonic() - start < 60
    one_clear_line(result, "has 30,000 classes", "at most 100", "--label-column")
    assert not (tmp_path / "o").exists()


def test_a_csv_with_thirty_thousand_features_trains_in_bounded_memory(tmp_path):
    csv = tmp_path / "wide.csv"
    rng = np.random.default_rng(0)
    values = rng.integers(0, 10, size=(40, 30_000))
    csv.write_text(",".join(f"f{i}" for i in range(30_000)) + ",label\n"
                   + "".join(",".join(map(str, row)) + f",{'ab'[k % 2]}\n" for k, row in enumerate(values)))
    result = cli("iris", "--csv", csv, "--out", tmp_path / "o", "--name", "wide", "--hidden", "4", "--lr", "0.01",
                 "--epochs", "3", "--no-progress", timeout=300)
    assert result.returncode == 0, result.stderr
    one_clear_line(result)
    from backproplab.report.png import png_info

    info = png_info((tmp_path / "o" / "wide" / "weights.png").read_bytes())
    assert info.width <= 1000 and info.height <= 1100  # summarised: the first inputs only


def test_class_and_feature_names_with_maths_are_drawn_as_written(tmp_path):
    from backproplab.data.tabular import iris_path

    lines = iris_path().read_text().splitlines()
    names = {"setosa": "$\\foo$", "versicolor": "${{{}}}$", "virginica": "\x1b[31mred\\"}
    body = [",".join(line.split(",")[:-1] + [names.get(line.split(",")[-1].removeprefix("Iris-"),
                                                       line.split(",")[-1])]) for line in lines[1:]]
    header = "$x^{$,$\\sqrt{$,a_b_c,%,label"
    assert len(header.split(",")) == len(lines[0].split(","))
    (tmp_path / "maths.csv").write_text("\n".join([header, *body]) + "\n")
    args = ["iris", "--csv", tmp_path / "maths.csv", "--out", tmp_path / "o", "--name", "m", "--hidden", "4",
            "--lr", "0.05", "--epochs", "5", "--no-progress"]
    first = cli(*args, timeout=120)
    assert first.returncode == 0, first.stderr
    one_clear_line(first)
    again = cli(*args, "--resume", timeout=120)
    assert again.returncode == 0 and "has finished already" in again.stderr
    report = cli("report", tmp_path / "o", timeout=120)
    assert report.returncode == 0, report.stderr
    assert "\x1b" not in (tmp_path / "o" / "report.html").read_text()


# -- 12. two jobs in one folder ------------------------------------------------------------


def test_a_second_all_in_the_same_folder_refuses_at_once(tmp_path):
    out = tmp_path / "hw"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "BACKPROPLAB_DATA": str(tmp_path / "none"),
           "BACKPROPLAB_PROGRESS": "0"}
    first = subprocess.Popen([sys.executable, "-m", "backproplab", "all", "--quick", "--resume", "--out", str(out),
                              "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env=env)
    try:
        for line in first.stdout:  # wait until the first job is inside its second stage
            if "=== stage 2/" in line:
                break
        first.send_signal(signal.SIGSTOP)  # held still (its lock held), so that its files stay as they are
        before = snapshot(out)
        second = cli("all", "--quick", "--resume", "--out", out, "--device", "cpu", timeout=60, cap=False, env=env)
        assert second.returncode == 2
        one_clear_line(second, f"another backproplab all is running in {out} right now")
        assert snapshot(out) == before  # it wrote nothing, not even all.json
    finally:
        first.send_signal(signal.SIGCONT)
        first.kill()
        first.wait()


# -- 13. Ctrl-C at start-up, and the smaller cases -----------------------------------------


@pytest.mark.parametrize("after", ["backproplab.errors", "backproplab.runs.files", "backproplab.pipelines.bars"])
def test_ctrl_c_while_the_program_loads_says_interrupted(after):
    """A real SIGINT at three points of start-up (found by ``-X importtime``, which prints
    each module as its import ends): loading the command line, building its parser, and
    its pipelines. Each ends with one line and status 130, never a traceback."""
    proc = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "backproplab", "gradcheck"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if line.rstrip().endswith(f"| {after}") or line.rstrip().endswith(f" {after}"):
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stderr.read()
    proc.wait(timeout=60)
    said = [line for line in lines + rest.splitlines(True) if not line.startswith("import time:")]
    assert proc.returncode == 130, "".join(said)
    assert "interrupted" in "".join(said) and "Traceback" not in "".join(said)


def test_a_negative_npy_dimension_is_named_with_its_file(tmp_path):
    from backproplab.data.errors import DataError
    from backproplab.data.npy import read_npy

    path = tmp_path / "images.npy"
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': (-2, -3), }"
    header += " " * (63 - len(header) % 64) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + bytes(6))
    with pytest.raises(DataError, match=r"images\.npy: its header announces shape \(-2, -3\)"):
        read_npy(path, "--predict-on")


def test_a_link_at_a_temporary_name_is_removed_never_followed(tmp_path):
    """Our temporary names are predictable (``.NAME.tmp-PID``): a link planted at one is
    removed and the file is written in its place; the link's target is untouched."""
    from backproplab.runs.files import write_text

    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / f".summary.json.tmp-{os.getpid()}").symlink_to(victim)
    write_text(tmp_path / "summary.json", "{}")
    assert victim.read_text() == "precious" and (tmp_path / "summary.json").read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json", "victim"]
