"""The report: built from small synthetic run folders, checked as a file and in a real browser."""

import json
import re
import shutil
from pathlib import Path

import pytest

from backproplab.cli import main
from backproplab.iris import IrisConfig, run_sweep
from backproplab.report import build_report
from backproplab.runs.folder import write_csv, write_json
from backproplab.runs.log import ACCURACY_COLUMNS
from backproplab.runs.plots import plot_curves


def fake_run(folder: Path, pipeline: str, summary: dict, epochs: int = 3) -> None:
    folder.mkdir(parents=True)
    rows = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "train_accuracy": 0.8 + e / 100,
             "val_accuracy": 0.8 + e / 110, "lr": 0.1, "seconds": 1.0} for e in range(1, epochs + 1)]
    write_csv(folder / "metrics.csv", rows, ACCURACY_COLUMNS)
    write_json(folder / "config.json", {"pipeline": pipeline})
    write_json(folder / "summary.json", {"pipeline": pipeline, "epochs": epochs, "wall_seconds": 100.0,
                                         "train_seconds": 90.0, "device": "cpu", "parameters": 1234,
                                         "final_val_accuracy": rows[-1]["val_accuracy"], **summary})
    plot_curves(rows, "loss", folder / "loss.png", "loss")
    plot_curves(rows, "accuracy", folder / "accuracy.png", "accuracy", percent=True)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    from backproplab.homework import gradcheck_stage

    gradcheck_stage(root, overwrite=False)
    run_sweep([0.05, 0.5], [4, 8], IrisConfig(epochs=10), out=root, name="iris-sweep", show_progress=False)
    fake_run(root / "fashion-torch-mlp", "fashion", {"engine": "torch", "model": "mlp", "test_accuracy": 0.905}, 9)
    fake_run(root / "fashion-numpy-mlp", "fashion", {"engine": "numpy", "model": "mlp", "test_accuracy": 0.903}, 9)
    fake_run(root / "fashion-numpy-cnn", "fashion", {"engine": "numpy", "model": "cnn", "test_accuracy": 0.91})
    fake_run(root / "cifar", "cifar", {"profile": "cpu", "test_accuracy": 0.8}, 9)
    (root / "cifar" / "predictions.csv").write_text("Id,Category\n1,3\n")
    return root


def test_every_section_and_every_image_is_embedded(results):
    page = build_report([results]).read_text()
    for anchor in ("summary", "gradients", "iris", "fashion", "fashion-cnn", "cifar", "derivations"):
        assert f'id="{anchor}"' in page, anchor
    images = re.findall(r'<img src="([^"]*)"', page)
    assert len(images) == 1 + 2 * 4  # the Iris loss plot, loss + accuracy for four runs
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert "<math" in page and "Softmax" in page and "Convolution" in page
    md = (results / "report.md").read_text()
    assert "| deliverable | bar | ours | result |" in md and "](fashion-torch-mlp/loss.png)" in md


def test_no_external_url_in_the_html(results):
    page = build_report([results]).read_text()
    assert not re.search(r"https?://", page), re.search(r".{40}https?://.{40}", page).group(0)
    assert not re.search(r'(src|href)="//', page)
    assert "<script" not in page and "<link" not in page


def test_summary_judges_each_bar(results):
    page = build_report([results]).read_text()
    summary = page[page.index('id="summary"'):page.index('id="gradients"')]
    assert summary.count(">PASS<") == 8 and ">FAIL<" not in summary
    assert "0.20 points from PyTorch" in summary


def test_a_missing_stage_is_shown_as_skipped(results, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(results / "fashion-torch-mlp", partial / "fashion-torch-mlp")
    page = build_report([partial]).read_text()
    summary = page[page.index('id="summary"'):]
    assert ">skipped<" in summary and ">PASS<" in summary


def test_report_cli_and_bad_folders(results, tmp_path, capsys):
    assert main(["report", str(results / "cifar"), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "report.html").exists() and "report:" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "holds no finished run" in capsys.readouterr().err


# -- a real browser ------------------------------------------------------------------------


def chrome_or_skip():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("Chromium is not installed (CI installs it): sudo apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"):
        options.add_argument(flag)
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3}})
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def test_report_renders_in_chromium_without_network(results):
    page = build_report([results])
    browser = chrome_or_skip()
    try:
        browser.get(page.resolve().as_uri())
        rows = browser.execute_script("return document.querySelectorAll('#summary + .scroll table tbody tr').length")
        assert rows >= 8
        sizes = browser.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
        assert len(sizes) == 9 and all(done and w > 0 and h > 0 for done, w, h in sizes)
        maths = browser.execute_script("return document.querySelectorAll('math').length")
        assert maths > 50
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390  # a phone never scrolls sideways: wide tables and formulas scroll in their own box
        requests = [json.loads(entry["message"])["message"] for entry in browser.get_log("performance")]
        urls = [m["params"]["request"]["url"] for m in requests if m["method"] == "Network.requestWillBeSent"]
        assert urls and all(u.startswith(("file://", "data:")) for u in urls), urls
    finally:
        browser.quit()
