"""The report and the runs table: built from small synthetic run folders (and a real Iris
sweep), checked as files, against hostile and corrupt folders, and in a real browser."""

import json
import re
import shutil

import pytest

from backproplab.cli import main
from backproplab.pipelines.iris import IrisConfig, run as iris_run
from backproplab.report import build_report
from backproplab.report.compare import runs_table
from backproplab.report.markdown import markdown_to_html
from backproplab.runs.files import write_json
from backproplab.runs.options import RunOptions
from fixtures import fake_run


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    from backproplab.pipelines.gradcheck import GradcheckConfig, run

    run(GradcheckConfig(), RunOptions(out=str(root), name="gradcheck"))
    iris_run(IrisConfig(lr=[0.05, 0.5], hidden=[4, 8], epochs=10, other_splits=2),
             RunOptions(out=str(root), name="iris-sweep", progress=False))
    fake_run(root / "fashion-torch-mlp", "fashion", {"engine": "torch", "model": "mlp", "test_accuracy": 0.912,
                                                     "wall_seconds": 80.0}, 
             {"engine": "torch"}, 9)
    fake_run(root / "fashion-numpy-mlp", "fashion", {"engine": "numpy", "model": "mlp", "test_accuracy": 0.910},
             {"engine": "numpy"}, 9)
    fake_run(root / "fashion-numpy-cnn", "fashion", {"engine": "numpy", "model": "cnn", "test_accuracy": 0.91,
                                                     "architecture": "0 Conv2D  16 filters 3x3"})
    fake_run(root / "cifar", "cifar", {"profile": "cpu", "test_accuracy": 0.83, "eval_seconds": 4.0,
                                       "predict_seconds": 6.0}, {"profile": "cpu", "tta": 2}, 9)
    (root / "cifar" / "predictions.csv").write_text("Id,Category\n1,3\n")
    return root


def test_every_section_and_every_image_is_embedded(results):
    page = build_report([results]).read_text()
    for anchor in ("summary", "gradients", "iris", "fashion", "fashion-cnn", "cifar", "derivations"):
        assert f'id="{anchor}"' in page, anchor
    images = re.findall(r'<img src="([^"]*)"', page)
    # Iris' chosen run (loss, error, confusion, weights), the twin-engine plot, loss + accuracy for four runs
    assert len(images) == 4 + 1 + 2 * 4
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
    assert "0.20 points from 91.20%" in summary and "in 100 s" in summary  # 90 + 4 + 6 s of the cifar run


def test_sizes_and_settings_come_from_the_run(results, tmp_path):
    shutil.copytree(results / "fashion-torch-mlp", tmp_path / "r" / "narrow")
    config = json.loads((tmp_path / "r" / "narrow" / "config.json").read_text())
    write_json(tmp_path / "r" / "narrow" / "config.json", {**config, "hidden": [32], "dropout": 0.1})
    page = build_report([tmp_path / "r"]).read_text()
    assert "784 → 32 → 10" in page and "Dropout 0.1" in page and "512" not in page.split('id="derivations"')[0]


def test_strings_from_run_folders_are_text_never_markup(results, tmp_path):
    hostile = tmp_path / "h"
    shutil.copytree(results / "cifar", hostile / "cifar")
    summary = json.loads((hostile / "cifar" / "summary.json").read_text())
    evil = "![p](https://evil.example/x.png) <img src=x onerror=alert(1)> [link](http://evil.example) **b**"
    write_json(hostile / "cifar" / "summary.json", {**summary, "device": evil})
    write_json(hostile / "cifar" / "config.json", {"pipeline": "cifar", "profile": evil, "tta": "<b>2</b>"})
    page = build_report([hostile]).read_text()
    body = page.split('id="derivations"')[0]
    assert "<img src=x" not in body and "evil.example/x.png\"" not in body and "<b>2</b>" not in body
    assert len(re.findall(r"<img ", body)) == len(re.findall(r'<img src="data:image/png;base64,', body))
    assert not re.search(r'<a href="(?!#)', body)  # no link but the table of contents' own
    md = (hostile / "report.md").read_text()
    assert "![p](https" not in md and "[link](http" not in md


def test_corrupt_folders_are_named_and_the_rest_is_still_written(results, tmp_path):
    mixed = tmp_path / "mixed"
    shutil.copytree(results / "cifar", mixed / "cifar")
    shutil.copytree(results / "fashion-torch-mlp", mixed / "broken-json")
    (mixed / "broken-json" / "summary.json").write_text("{not json")
    shutil.copytree(results / "fashion-numpy-cnn", mixed / "wrong-types")
    summary = json.loads((mixed / "wrong-types" / "summary.json").read_text())
    write_json(mixed / "wrong-types" / "summary.json", {**summary, "test_accuracy": "high", "epochs": None})
    shutil.copytree(results / "fashion-numpy-mlp", mixed / "bad-metrics")
    (mixed / "bad-metrics" / "metrics.csv").write_text("epoch,loss\n1,2,3,4\n")
    page = build_report([mixed]).read_text()
    assert "Folders that could not be read" in page
    assert "broken-json/summary.json: not valid JSON" in page
    assert "wrong-types" in page and "bad-metrics/metrics.csv" in page
    assert 'id="cifar"' in page  # the readable run is still reported


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
    assert "not a folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "no run found" in capsys.readouterr().err


def test_report_of_a_glob_and_of_several_run_folders_goes_beside_them(results, tmp_path, capsys):
    """`report DIR/*` once a report exists in DIR, and `report a b c`: the report goes to DIR."""
    shutil.copytree(results, tmp_path / "r")
    assert main(["report", str(tmp_path / "r")]) == 0
    capsys.readouterr()
    names = sorted(str(p) for p in (tmp_path / "r").iterdir())  # the shell's DIR/*: runs, report.html, report.md
    assert main(["report", *names]) == 0
    assert capsys.readouterr().out.strip() == f"report: {(tmp_path / 'r' / 'report.html').resolve()}"
    assert main(["report", str(tmp_path / "r" / "cifar"), str(tmp_path / "r" / "gradcheck")]) == 0
    assert not (tmp_path / "r" / "cifar" / "report.html").exists()


def test_runs_table_shows_differing_settings_and_results(results, tmp_path, capsys):
    table = runs_table([results], csv_path=str(tmp_path / "t.csv"), markdown_path=str(tmp_path / "t.md"))
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["run", "pipeline", "status", "data"] and "engine" in lines[0]
    assert "test accuracy" in lines[0] and "hidden" not in lines[0]  # equal within each pipeline: not shown
    assert len(lines) == 2 + 6  # header, rule, one row per run (the sweep is one run)
    assert any("fashion-numpy-mlp" in line and "numpy" in line and "91.00%" in line for line in lines)
    assert any(line.startswith("iris-sweep") and "%" in line for line in lines)  # the sweep's chosen run's test
    assert max(map(len, lines)) <= 120
    assert (tmp_path / "t.csv").read_text().startswith("run,pipeline,status,data,")
    (results / "junk").mkdir(exist_ok=True)
    (results / "junk" / "summary.json").write_text("[]")
    try:
        assert main(["runs", str(results)]) == 1
        out = capsys.readouterr().out
        assert "unreadable" in out and "expected a JSON object" in out and "fashion-numpy-cnn" in out
    finally:
        shutil.rmtree(results / "junk")


def test_runs_finds_nested_and_unfinished_runs_and_shows_their_text_inert(results, tmp_path, capsys):
    nested = tmp_path / "experiments" / "homework"
    shutil.copytree(results / "fashion-numpy-mlp", nested / "fashion-numpy-mlp")
    shutil.copytree(results / "fashion-torch-mlp", nested / "deeper" / "x.partial")
    (nested / "deeper" / "x.partial" / "summary.json").unlink()
    config = json.loads((nested / "fashion-numpy-mlp" / "config.json").read_text())
    write_json(nested / "fashion-numpy-mlp" / "config.json", {**config, "optimizer": "\x1b[31m=HYPERLINK(1)"})
    assert main(["runs", str(tmp_path / "experiments"), "--all", "--csv", str(tmp_path / "t.csv")]) == 0
    out = capsys.readouterr().out
    assert "fashion-numpy-mlp" in out and "x.partial" in out and "unfinished (9/9 epochs)" in out
    assert "\x1b" not in out and "?[31m=HYPERLINK(1)" in out  # a terminal escape is shown, never sent
    assert "'\x1b[31m=HYPERLINK(1)" not in (tmp_path / "t.csv").read_text()
    assert main(["runs", str(tmp_path / "experiments"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r.get("run") for r in rows} == {"fashion-numpy-mlp", "x.partial"}


def test_every_table_of_our_documents_scrolls_in_its_own_box():
    html = markdown_to_html("text\n\n| a | a long header that will not wrap |\n|---|---|\n| 1 | 2 |\n")
    assert html.count('<div class="scroll"><table>') == 1 and html.count("</table>\n</div>") == 1


# -- a real browser ------------------------------------------------------------------------


def chrome_or_skip(width: int = 390, height: int = 844, phone: bool = True):
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("Chromium is not installed (CI installs it): sudo apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--window-size={width},{height}"):
        options.add_argument(flag)
    if phone:
        options.add_experimental_option("mobileEmulation",
                                        {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 3}})
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
        assert len(sizes) == 13 and all(done and w > 0 and h > 0 for done, w, h in sizes)
        maths = browser.execute_script("return document.querySelectorAll('math').length")
        assert maths > 50
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390  # a phone never scrolls sideways: wide tables, formulas and plots scroll in their own box
        requests = [json.loads(entry["message"])["message"] for entry in browser.get_log("performance")]
        urls = [m["params"]["request"]["url"] for m in requests if m["method"] == "Network.requestWillBeSent"]
        assert urls and all(u.startswith(("file://", "data:")) for u in urls), urls
    finally:
        browser.quit()


@pytest.mark.parametrize("width, height, phone", [(1280, 900, False), (390, 844, True)], ids=["desktop", "phone"])
def test_every_figure_reads_at_100_percent_and_the_contents_lead_to_every_section(results, width, height, phone):
    """The smallest text of every plot, as rendered, in CSS pixels; every id unique; every
    entry of the table of contents leads to its section."""
    page = build_report([results])
    browser = chrome_or_skip(width, height, phone)
    try:
        browser.get(page.resolve().as_uri())
        figures = browser.execute_script("return Array.from(document.images).map(i => "
                                         "[parseFloat(i.dataset.textPx), i.clientWidth / i.naturalWidth])")
        assert figures and all(px * scale >= 9 for px, scale in figures), figures
        assert browser.execute_script("return document.documentElement.scrollWidth") <= width
        ids = browser.execute_script("return Array.from(document.querySelectorAll('[id]')).map(e => e.id)")
        assert len(ids) == len(set(ids))
        links = browser.execute_script("return Array.from(document.querySelectorAll('nav.toc a')).map(a => "
                                       "[a.getAttribute('href'), !!document.getElementById(a.getAttribute('href')"
                                       ".slice(1))])")
        assert len(links) >= 6 and all(found for _, found in links), links
        assert {"#summary", "#cifar", "#derivations"} <= {href for href, _ in links}
    finally:
        browser.quit()


def test_two_runs_of_a_pipeline_get_two_headings_and_one_design_essay(results, tmp_path):
    shutil.copytree(results / "cifar", tmp_path / "r" / "cifar-a")
    shutil.copytree(results / "cifar", tmp_path / "r" / "cifar-b")
    page = build_report([tmp_path / "r"]).read_text()
    assert 'id="cifar"' in page and 'id="cifar-2"' in page
    assert "CIFAR-10: the CNN: cifar-a" in page and "CIFAR-10: the CNN: cifar-b" in page
    assert page.count("design of the model and recipe") == 2  # the heading and its table-of-contents entry


def test_every_sentence_comes_from_the_run(results, tmp_path):
    """Unusual settings: a test limit, one epoch, mixup: the sentences say what the run did."""
    shutil.copytree(results / "fashion-torch-mlp", tmp_path / "r" / "one")
    config = json.loads((tmp_path / "r" / "one" / "config.json").read_text())
    write_json(tmp_path / "r" / "one" / "config.json", {**config, "epochs": 1, "mixup": 0.4, "clean_tail": 0.0,
                                                         "splits": {"train": 2000, "validate": 500, "test": 500}})
    page = build_report([tmp_path / "r"]).read_text()
    assert "2,000 images train, 500 validate, and 500 test images" in page
    assert "1 epoch." in page and "1 epochs" not in page
    assert "measured on the mixed images" in page
