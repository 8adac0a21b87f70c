"""`backproplab all`: the whole job end to end on small slices, and with data missing."""

import json
import os

import pytest

from backproplab.cli import main
from backproplab.data import cifar10, discovery, fashion_mnist


def data_or_skip():
    try:
        discovery.find_data(fashion_mnist.SPEC)
        discovery.find_data(cifar10.SPEC)
    except discovery.DataNotFoundError as err:
        pytest.skip(f"needs Fashion-MNIST and CIFAR-10 (CI prepares both; README: Data): {err}".splitlines()[0])


def test_quick_run_of_every_stage_writes_the_report(tmp_path, capsys):
    data_or_skip()
    out = tmp_path / "hw"
    assert main(["all", "--quick", "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    printed = capsys.readouterr()
    assert f"report: {out / 'report.html'}" in printed.out
    for i in range(1, 7):
        assert f"=== stage {i}/6" in printed.err + printed.out
    stages = json.loads((out / "all.json").read_text())["stages"]
    assert [s["status"] for s in stages] == ["ran"] * 6
    assert {"gradcheck", "iris-sweep", "fashion-torch-mlp", "fashion-numpy-mlp", "fashion-numpy-cnn", "cifar",
            "report.html", "report.md"} <= set(os.listdir(out))
    page = (out / "report.html").read_text()
    assert "Quick mode" in page and 'id="cifar"' in page
    assert (out / "cifar" / "predictions.csv").read_text().startswith("Id,Category\n1,")
    # a second run refuses to overwrite the results
    assert main(["all", "--quick", "--out", str(out), "--no-progress"]) == 2
    assert "already holds results; pass --overwrite" in capsys.readouterr().err


def test_stages_without_data_are_skipped_with_the_reason(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("BACKPROPLAB_DATA", raising=False)
    monkeypatch.setattr(fashion_mnist.SPEC, "system_dirs", [str(tmp_path / "none")])
    out = tmp_path / "hw"
    assert main(["all", "--quick", "--out", str(out), "--no-progress", "--device", "cpu"]) == 1
    stages = {s["key"]: s for s in json.loads((out / "all.json").read_text())["stages"]}
    assert stages["gradcheck"]["status"] == "ran" and stages["iris"]["status"] == "ran"
    for key in ("fashion-torch", "fashion-numpy", "fashion-cnn", "cifar"):
        assert stages[key]["status"] == "skipped" and "--download" in stages[key]["reason"]
    page = (out / "report.html").read_text()
    assert "Skipped: Fashion-MNIST MLP (PyTorch)" in page and "apt-get install dataset-fashion-mnist" in page
    assert ">skipped<" in page and capsys.readouterr().out.strip().endswith("report.html")
