"""The report: built from small synthetic run folders (and a real gradient check and Iris
sweep), checked as files, against hostile and corrupt folders, and in a real browser at a
phone's width and a desktop's. The runs table is tested in test_runs_table.py."""

import json
import re
import shutil

import pytest

from backproplab.cli import main
from backproplab.pipelines import PIPELINES
from backproplab.pipelines.iris import IrisConfig, run as iris_run
from backproplab.report import build_report as build_with
from backproplab.report.markdown import markdown_to_html
from backproplab.runs.files import write_json
from backproplab.runs.options import RunOptions
from fixtures import fake_run

#: what a run records about its machine (runs.environment), for the fake runs
MACHINE = {"machine": {"cpu": "Test CPU", "cpu_family_model": "family 1 model 2", "cores": 2},
           "cpu_capability": "AVX2", "threads": 2}


def build_report(dirs, out=None):
    return build_with(dirs, PIPELINES, out)


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
                                       "predict_seconds": 6.0}, {"profile": "cpu", "tta": 2, **MACHINE}, 9)
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
    assert "0.20 points from 91.20%" in summary  # 90 + 4 + 6 s of the cifar run, and where it was measured:
    assert "in 100 s on Test CPU (family 1 model 2), 2 cores, PyTorch AVX2 kernels, 2 threads" in summary


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
        rows = browser.execute_script("return document.querySelector('.wide table').tBodies[0].rows.length")
        assert rows >= 8  # the summary, the first table of the page
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


#: in the browser: every figure as displayed ([displayed width, the page's column, its
#: smallest text as displayed in CSS pixels, whether its box scrolls sideways])
FIGURES_JS = """
const column = document.body.clientWidth - parseFloat(getComputedStyle(document.body).paddingLeft) * 2;
return Array.from(document.images).map(i => {
  const box = i.closest('summary');
  return [i.getBoundingClientRect().width, column,
          parseFloat(i.dataset.textPx) * i.getBoundingClientRect().width / parseFloat(i.getAttribute('width')),
          box.scrollWidth > box.clientWidth + 1];
});"""
#: every box that scrolls sideways, with whether the line above it that says so is shown
SCROLLERS_JS = """
return Array.from(document.querySelectorAll('.wide > .scroll')).map(box => {
  const hint = box.parentElement.querySelector(':scope > .hint');
  return [box.scrollWidth > box.clientWidth + 1, hint.getBoundingClientRect().height > 4,
          (box.textContent || '').slice(0, 40)];
});"""
#: the levels of the page's headings, in order
HEADINGS_JS = "return Array.from(document.querySelectorAll('h1,h2,h3,h4,h5,h6')).map(h => +h.tagName[1])"


@pytest.mark.parametrize("width, height, phone", [(1280, 900, False), (390, 844, True)], ids=["desktop", "phone"])
def test_every_figure_fits_the_column_and_reads_at_9_pixels(results, width, height, phone):
    """At a phone's width and a desktop's: the page never scrolls sideways; no figure does
    either (each fits the column) and its smallest text, as displayed, is >= 9 CSS pixels;
    a box that must scroll (a table, a formula) says so and one that need not does not;
    headings never skip a level; every id is unique; every entry of the contents leads to
    its section."""
    page = build_report([results])
    browser = chrome_or_skip(width, height, phone)
    try:
        browser.get(page.resolve().as_uri())
        assert browser.execute_script("return document.documentElement.scrollWidth") <= width
        figures = browser.execute_script(FIGURES_JS)
        assert len(figures) == 13
        for shown, column, text_px, scrolls in figures:
            assert shown <= column + 0.5 and not scrolls and text_px >= 9, (shown, column, text_px, scrolls)
        boxes = browser.execute_script(SCROLLERS_JS)
        assert all(scrolls == said for scrolls, said, _ in boxes), [b for b in boxes if b[0] != b[1]]
        if phone:
            assert any(scrolls for scrolls, _, _ in boxes)  # the gradient table is wider than a phone
        levels = browser.execute_script(HEADINGS_JS)
        assert levels[0] == 1 and all(b <= a + 1 for a, b in zip(levels, levels[1:])), levels
        ids = browser.execute_script("return Array.from(document.querySelectorAll('[id]')).map(e => e.id)")
        assert len(ids) == len(set(ids))
        links = browser.execute_script("return Array.from(document.querySelectorAll('nav.toc a')).map(a => "
                                       "[a.getAttribute('href'), !!document.getElementById(a.getAttribute('href')"
                                       ".slice(1))])")
        assert len(links) >= 6 and all(found for _, found in links), links
        assert {"#summary", "#machine", "#cifar", "#derivations"} <= {href for href, _ in links}
    finally:
        browser.quit()


def test_a_tap_opens_a_figure_at_its_natural_size_and_another_fits_it_again(results):
    page = build_report([results])
    browser = chrome_or_skip()
    try:
        browser.get(page.resolve().as_uri())
        image = browser.find_elements("css selector", "figure img")[-1]
        fitted = browser.execute_script("return arguments[0].getBoundingClientRect().width", image)
        browser.execute_script("arguments[0].scrollIntoView()", image)
        image.click()
        shown, natural, scrolls = browser.execute_script(
            "const i = arguments[0], box = i.closest('summary'); return [i.getBoundingClientRect().width, "
            "i.naturalWidth, box.scrollWidth > box.clientWidth]", image)
        assert shown == natural > fitted and scrolls  # every pixel of the file, in a box that scrolls sideways
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
        assert browser.execute_script("return arguments[0].closest('details').querySelector('.zoom-note')"
                                      ".getBoundingClientRect().height", image) > 0  # and it says so
        image.click()
        assert browser.execute_script("return arguments[0].getBoundingClientRect().width", image) == fitted
    finally:
        browser.quit()


def test_formulas_stretch_their_delimiters_and_show_their_primes(results):
    """The brace of ReLU's cases spans both lines; a prime is drawn at the formula's size,
    not at a superscript's."""
    page = build_report([results])
    browser = chrome_or_skip(1280, 900, phone=False)
    try:
        browser.get(page.resolve().as_uri())
        brace, size = browser.execute_script(
            "const mo = Array.from(document.querySelectorAll('mo[stretchy=\"true\"]')).find(m => "
            "m.textContent == '{' && m.nextElementSibling && m.nextElementSibling.tagName == 'mtable');"
            "return [mo.getBoundingClientRect().height, parseFloat(getComputedStyle(mo).fontSize)]")
        assert brace > 2 * size, (brace, size)
        primes = browser.execute_script(
            "return Array.from(document.querySelectorAll('mo')).filter(m => m.textContent == '\u2032').map(m => "
            "[parseFloat(getComputedStyle(m).fontSize), parseFloat(getComputedStyle(m.closest('math')).fontSize),"
            " m.getBoundingClientRect().height])")
        assert len(primes) >= 3
        assert all(own == whole and height >= 0.2 * whole for own, whole, height in primes), primes
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


def test_figures_and_tables_are_numbered_in_the_order_of_the_page(results):
    page = build_report([results]).read_text()
    figures = [int(n) for n in re.findall(r"<strong>Figure (\d+)\.</strong>", page)]
    tables = [int(n) for n in re.findall(r"<strong>Table (\d+)\.</strong>", page)]
    assert figures == list(range(1, page.count("<figure>") + 1)) and len(figures) == 13
    assert tables == list(range(1, page.count("<table>") + 1))  # every table has its numbered caption
    md = (results / "report.md").read_text()
    assert len(re.findall(r"\*Figure \d+\.", md)) == 13 and "<!--n:" not in md
    assert [int(n) for n in re.findall(r"\*\*Table (\d+)\.\*\*", md)] == tables  # the Markdown numbered alike
    caption = re.search(r"<strong>Figure \d+\.</strong> Fashion-MNIST MLP, torch engine \(fashion-torch-mlp\): "
                        r"loss per epoch[^<]*", page).group(0)
    assert "validation images" in caption  # which split it shows


def test_headings_never_skip_a_level(results):
    page = build_report([results]).read_text()
    levels = [int(n) for n in re.findall(r"<h([1-6])[ >]", page)]
    assert levels[0] == 1 and all(b <= a + 1 for a, b in zip(levels, levels[1:])), levels


def test_the_machine_and_software_of_every_run_are_named(results):
    from backproplab.runs.environment import machine

    page = build_report([results]).read_text()
    section = page[page.index('id="machine"'):page.index('id="gradients"')]
    assert "Test CPU (family 1 model 2)" in section  # the fake cifar run's, from its config.json
    assert machine()["cpu"] in section and "float64" in section  # the real gradient check's
    assert "Python" in section and "NumPy" in section and "started (UTC)" in section


def test_the_design_essay_quotes_no_measurement_of_another_machine(results):
    page = build_report([results]).read_text()
    essay = page[page.index('id="cifar-design"'):page.index('id="derivations"')]
    assert "Where the ideas come from" in essay and "The recipe" in essay and "Patch whitening" in essay
    assert "What each part adds" not in essay and "83.67%" not in essay and " s / " not in essay
    assert "not this run" in essay  # where its measurements are, and that they are not this run's


def test_formulas_are_mathml_with_primes_at_full_size():
    html = markdown_to_html("$\\sigma'(z)$, and\n\n$$\\begin{cases} a & b \\\\ c & d \\end{cases}$$\n")
    assert '<mo lspace="0" rspace="0">&#x02032;</mo>' in html and "<mi>&#x02032;</mi>" not in html
    assert 'stretchy="true"' in html and 'class="hint"' in html  # a display formula says when it must scroll


def test_gradcheck_writes_a_run_folder_that_the_report_shows(tmp_path, capsys):
    assert main(["gradcheck", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "gradients pass" in out
    folder = next(tmp_path.glob("gradcheck-s0-*"))
    assert {"config.json", "summary.json", "table.txt"} <= {p.name for p in folder.iterdir()}
    assert main(["gradcheck", "--out", str(tmp_path), "--no-progress"]) == 2  # never replaced without --overwrite
    assert "already exists" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 0
    page = (tmp_path / "report.html").read_text()
    summary = page[page.index('id="summary"'):page.index('id="machine"')]
    assert 'id="gradients"' in page and "Gradients of every layer" in summary
    row = summary[summary.index("Gradients of every layer"):]
    assert row.index(">PASS<") < row.index("</tr>") and ">skipped<" not in row[:row.index("</tr>")]


def test_the_parity_bar_judges_epoch_by_epoch_and_shows_the_totals(tmp_path):
    """Two runs trained minutes apart: a busy stretch of the machine lengthens some of one run's
    epochs (its total) but not the median of the epoch-by-epoch ratios, which the bar judges;
    an engine slower in most epochs still fails, and runs with no epochs in common are judged
    by their totals."""
    from backproplab.pipelines.bars import ParityBar
    from backproplab.report.collect import ReportRun

    bar = ParityBar("MLP", {"engine": "numpy"}, {"engine": "torch"}, ("lr",), "the PyTorch MLP")

    def run(engine, total, epochs, lr=0.1):
        rows = [{"epoch": i + 1, "seconds": s} for i, s in enumerate(epochs)]
        return ReportRun(tmp_path / f"{engine}-{total}", "fashion", {"engine": engine, "lr": lr, "device": "cpu"},
                         {"test_accuracy": 0.91, "train_seconds": total}, rows)

    # the last epochs cost less in both (no mixup): a fastest-epoch rule would compare unlike epochs
    reference = run("torch", 79, [1.50, 1.52, 1.50, 1.36, 1.36])
    busy = run("numpy", 94, [1.52, 1.55, 2.40, 2.40, 1.40])
    text, passed = bar.judge(busy, [busy, reference])
    assert passed and "training 94 s vs 79 s (epoch by epoch, median 1.03×)" in text
    slower = run("numpy", 80, [1.52, 1.70, 1.70, 1.50, 1.50])
    assert bar.judge(slower, [slower, reference])[1] is False
    for no_times in ([], ["x", float("nan"), -1.0, 0.0, None]):
        bare = run("numpy", 94, no_times)
        text, passed = bar.judge(bare, [bare, reference])
        assert passed is False and "epoch by epoch" not in text
    other_recipe = run("torch", 10, [0.1], lr=0.2)  # not a partner: its settings differ
    assert bar.judge(busy, [busy, other_recipe])[1] is None
    assert "epoch-by-epoch time ratios" in bar.text()
