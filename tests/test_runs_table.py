"""`backproplab runs`: the table fits the terminal (80 and 120 columns), shows the settings
that differ (engine and model before the batch size), shortens names to their distinguishing
ends; --wide shows everything; --json and --csv are typed for programs, "-" is the standard
output; a reader that goes away ends the command quietly; hostile text stays inert."""

import csv
import io
import json
import os
import shutil
import subprocess
import sys

import pytest

from backproplab.cli import main
from backproplab.pipelines import PIPELINES
from backproplab.report.terminal import runs_listing, unique_end
from backproplab.runs.files import write_json
from fixtures import fake_run

#: runs that differ in engine, model and seed, named as the pipelines name them
RUNS = {
    "fashion-torch-mlp-e40-bs256-lr0.1-s0-3fa91c": ({"engine": "torch", "model": "mlp", "seed": 0, "lr": 0.1}, 0.9106),
    "fashion-torch-mlp-e40-bs256-lr0.1-s1-77ab12": ({"engine": "torch", "model": "mlp", "seed": 1, "lr": 0.1}, 0.9101),
    "fashion-numpy-mlp-e40-bs256-lr0.1-s0-9c0d2e": ({"engine": "numpy", "model": "mlp", "seed": 0, "lr": 0.1}, 0.9093),
    "fashion-numpy-mlp-e40-bs256-lr0.1-s1-1b2c3d": ({"engine": "numpy", "model": "mlp", "seed": 1, "lr": 0.1}, 0.9119),
    "fashion-numpy-cnn-e6-bs128-lr0.002-s0-aa11bb": ({"engine": "numpy", "model": "cnn", "seed": 0,
                                                      "batch_size": 128, "lr": 0.002, "optimizer": "adam"}, 0.9099),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("experiments")
    for name, (config, test) in RUNS.items():
        fake_run(root / name, "fashion", {"engine": config["engine"], "model": config["model"], "test_accuracy": test},
                 config, 4)
    return root


def shown_names(table: str) -> list[str]:
    lines = table.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("run "))
    return [line.split()[0] for line in lines[start + 2:start + 2 + len(RUNS)]]


@pytest.mark.parametrize("width", [80, 120])
def test_the_table_fits_the_terminal_and_shows_what_differs(runs, width):
    table, unreadable = runs_listing([runs], PIPELINES, width)
    lines = table.splitlines()
    assert not unreadable and max(map(len, lines)) <= width, table
    header = next(line for line in lines if line.startswith("run "))
    assert "engine" in header and "model" in header and "test acc" in header
    assert "pipeline" not in header and "status" not in header  # the same for every run: said once, above
    assert lines[0] == "5 run(s), all with pipeline fashion, status done, data fashion-mnist"
    if "batch_size" in header:
        assert header.index("engine") < header.index("model") < header.index("batch_size")
    names = shown_names(table)
    assert len(set(names)) == len(names) == len(RUNS)
    for shown, name in zip(names, sorted(RUNS)):
        # the whole name, or an end of it after "…": never a beginning cut short
        assert shown == name or (shown.startswith("…") and name.endswith(shown[1:])), (shown, name)
    assert "91.06%" in table and "91.19%" in table


def test_at_80_columns_a_setting_that_does_not_fit_is_counted(runs):
    table, _ = runs_listing([runs], PIPELINES, 80)
    header = next(line for line in table.splitlines() if line.startswith("run "))
    shown = [k for k in ("engine", "model", "optimizer", "batch_size", "lr", "seed") if k in header]
    assert shown[:2] == ["engine", "model"]
    if len(shown) < 6:
        assert f"({6 - len(shown)} more setting column(s) differ: --wide shows them" in table


def test_wide_shows_every_column_and_every_name_whole(runs, capsys):
    assert main(["runs", str(runs), "--wide"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in RUNS)
    header = next(line for line in out.splitlines() if line.startswith("run "))
    for key in ("pipeline", "status", "data", "engine", "model", "optimizer", "batch_size", "lr", "seed"):
        assert key in header, key


def test_the_command_reads_the_terminals_width(runs, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["runs", str(runs)]) == 0
    assert max(map(len, capsys.readouterr().out.splitlines())) <= 80


def test_a_name_is_shortened_to_its_distinguishing_end():
    names = ["fashion-torch-mlp-e40-bs256-lr0.1-s0-3fa91c", "fashion-torch-mlp-e40-bs256-lr0.1-s1-77ab12",
             "homework/gradcheck", "gradcheck"]
    assert unique_end(names[0], names, 20) == "…lr0.1-s0-3fa91c"
    assert unique_end(names[0], names, 8) == "…3fa91c"  # the shortest unique end, when no longer one fits
    assert unique_end(names[2], names, 12) == "homework/gradcheck"  # "gradcheck" alone names another run
    assert unique_end(names[3], names, 5) == "gradcheck"


def test_json_is_typed_for_a_program(runs, capsys):
    assert main(["runs", str(runs), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["unreadable"] == [] and len(listing["runs"]) == len(RUNS)
    by_name = {r["run"]: r for r in listing["runs"]}
    torch0 = by_name["fashion-torch-mlp-e40-bs256-lr0.1-s0-3fa91c"]
    assert torch0["test_accuracy_fraction"] == pytest.approx(0.9106) and torch0["epochs"] == 4
    assert isinstance(torch0["val_accuracy_fraction"], float) and isinstance(torch0["wall_seconds"], float)
    assert torch0["settings"]["batch_size"] == 256 and torch0["settings"]["hidden"] == [512, 512]
    assert torch0["settings"]["engine"] == "torch" and torch0["settings"]["lr"] == 0.1
    assert torch0["status"] == "done" and torch0["epochs_done"] == 4 and torch0["path"].endswith(torch0["run"])


def test_csv_dash_is_the_standard_output_and_typed(runs, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["runs", str(runs), "--csv", "-"]) == 0
    assert not (tmp_path / "-").exists()
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == len(RUNS)
    row = next(r for r in rows if r["run"].endswith("cnn-e6-bs128-lr0.002-s0-aa11bb"))
    assert float(row["test_accuracy_fraction"]) == pytest.approx(0.9099) and int(row["batch_size"]) == 128
    assert json.loads(row["hidden"]) == [512, 512] and float(row["lr"]) == 0.002
    assert main(["runs", str(runs), "--csv", str(tmp_path / "t.csv")]) == 0  # a file, and the table printed
    assert "test acc" in capsys.readouterr().out and (tmp_path / "t.csv").read_text().startswith("run,path,")
    assert main(["runs", str(runs), "--csv", "-", "--json"]) == 2
    assert "only one of --json, --csv - and --markdown -" in capsys.readouterr().err


def test_a_reader_that_goes_away_ends_the_command_quietly(runs):
    """`runs --json | head`: the reader closes the pipe before the command writes; the
    command ends with status 0 and says nothing."""
    proc = subprocess.Popen([sys.executable, "-m", "backproplab", "runs", str(runs), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and err == b"", err
    shell = subprocess.run(["bash", "-c", f"set -o pipefail; {sys.executable} -m backproplab runs '{runs}' --json "
                                          "| head -c 10"], capture_output=True, text=True, timeout=120)
    assert shell.returncode == 0 and shell.stdout == '{\n  "runs"' and shell.stderr == "", shell.stderr


def test_nested_and_unfinished_runs_are_listed_and_their_text_is_inert(runs, tmp_path, capsys):
    nested = tmp_path / "experiments" / "homework"
    first, second = sorted(RUNS)[:2]
    shutil.copytree(runs / first, nested / "fashion-numpy-mlp")
    shutil.copytree(runs / second, nested / "deeper" / "x.partial")
    (nested / "deeper" / "x.partial" / "summary.json").unlink()
    config = json.loads((nested / "fashion-numpy-mlp" / "config.json").read_text())
    write_json(nested / "fashion-numpy-mlp" / "config.json", {**config, "optimizer": "\x1b[31m=HYPERLINK(1)"})
    assert main(["runs", str(tmp_path / "experiments"), "--all", "--csv", str(tmp_path / "t.csv")]) == 0
    out = capsys.readouterr().out
    assert "homework/fashion-numpy-mlp" in out and "homework/deeper/x.partial" in out  # the path below the folder
    assert "unfinished (4/4 epochs)" in out
    assert "\x1b" not in out and "?[31m=HYPERLINK(1)" in out  # a terminal escape is shown, never sent
    assert "'\x1b[31m=HYPERLINK(1)" not in (tmp_path / "t.csv").read_text()  # kept as written in the CSV
    assert main(["runs", str(tmp_path / "experiments"), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert {r["run"] for r in listing["runs"]} == {"homework/fashion-numpy-mlp", "homework/deeper/x.partial"}
    assert {r["status"] for r in listing["runs"]} == {"done", "unfinished"}


def test_a_folder_that_cannot_be_read_is_listed_and_the_rest_shown(runs, tmp_path, capsys):
    root = tmp_path / "r"
    shutil.copytree(runs, root)
    (root / "junk").mkdir()
    (root / "junk" / "summary.json").write_text("[]")
    assert main(["runs", str(root)]) == 1
    out = capsys.readouterr().out
    assert "unreadable" in out and "expected a JSON object" in out and "91.06%" in out
    assert main(["runs", str(root), "--json"]) == 1
    listing = json.loads(capsys.readouterr().out)
    assert len(listing["runs"]) == len(RUNS) and "expected a JSON object" in listing["unreadable"][0]
    assert os.path.exists(root / "junk")
