"""`backproplab grade`: a generated class (the correct package, its mutations, hostile
submissions, a Gradescope export) graded as `check` grades each package; the gradebook, the
class report's counts, the feedback and the exit status; --resume after a real SIGINT; a
re-grade with --compare; and the pieces that read what a student hands in (zips, metadata)
without trusting it."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from backproplab.check.grade import compare as comparing
from backproplab.check.grade.gradebook import cell, stable_part
from backproplab.check.grade.metadata import read_metadata
from backproplab.check.grade.outfolder import feedback_names
from backproplab.check.grade.submissions import Unstageable, choose_package
from backproplab.check.grade.unzip import Archive, ZipRefused
from backproplab.check.grader import check_package
from backproplab.check.output import finding_json
from grade_class import PARTS, build_class, gradescope_export, mutated, put, zipped

GRADE = [sys.executable, "-m", "backproplab", "grade"]
COMMON = ["--parts", PARTS, "--timeout", "2", "--isolation", "auto", "--jobs", "2"]


def grade(*args, timeout=300, **kw):
    """The command, with the term given unless a rubric or a term is (a grade needs one)."""
    env = {**os.environ, "COLUMNS": "120"}
    args = [*args, *([] if {"--term", "--rubric"} & set(map(str, args)) else ["--term", "sp24"])]
    return subprocess.run([*GRADE, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env, **kw)


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("class")
    expect = build_class(base / "submissions", base / "scratch")
    done = grade(base / "submissions", "--out", base / "out", *COMMON)
    book = json.loads((base / "out" / "gradebook.json").read_text()) if (base / "out" / "gradebook.json").exists() \
        else None
    return base, expect, done, book


def test_every_submission_gets_its_entry_and_the_exit_status_says_some_could_not_be_graded(graded_class):
    base, expect, done, book = graded_class
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    entries = {e["submission"]: e for e in book["submissions"]}
    assert sorted(entries) == sorted(expect)
    for name, want in expect.items():
        e = entries[name]
        assert e["status"] == want["status"], (name, e["reason"])
        if want["status"] == "error":
            assert want["reason"] in e["reason"], (name, e["reason"])
            assert e["total"] is None and e["parts"] == []
            continue
        verdicts = {p["part"]: (p["verdict"], p["rule"]) for p in e["parts"]}
        failing = {part: v for part, v in verdicts.items() if v[0] != "pass"}
        assert failing == want["verdicts"], name
        assert (e["total"], e["max"]) == (want["total"], 10), name
    loud = next(p for p in entries["loud"]["parts"] if p["part"] == "ArcTan.forward")
    assert loud["detail"].endswith("your code printed something: see the submission's feedback file (it can change "
                                   "from run to run)")
    assert "of 10,000,001 bytes" in (base / "out" / "feedback" / "loud.txt").read_text()
    assert not (base / "escaped.py").exists() and not Path("/tmp/escaped-abs.py").exists()
    assert book["grader"]["seed"] == 0 and book["grader"]["rubric"] is None and book["grader"]["version"]


def test_each_entry_is_what_check_gives_for_that_package(graded_class):
    """The same parts, verdicts, causes and details as check_package with the same settings
    (less what no two runs share: the seconds, the sandbox's folder, what the code printed)."""
    base, expect, done, book = graded_class
    entry = next(e for e in book["submissions"] if e["submission"] == "dee")
    report = check_package(base / "submissions" / "dee", parts=[PARTS], timeout=2, term="sp24")
    direct = [stable_part(finding_json(f)) for f in report.findings]
    ours = [{k: v for k, v in p.items() if k not in ("points", "worth")} for p in entry["parts"]]
    assert ours == direct
    assert [p["points"] for p in entry["parts"]] == [0 if f.verdict != "pass" else 1 for f in report.findings]


def test_the_feedback_is_what_check_prints(graded_class):
    base, expect, done, book = graded_class
    feedback = base / "out" / "feedback"
    assert sorted(p.name for p in feedback.iterdir()) == sorted((n[:-4] if n.endswith(".zip") else n) + ".txt"
                                                                for n in expect)
    printed = subprocess.run([sys.executable, "-m", "backproplab", "check", base / "submissions" / "dee",
                              "--parts", PARTS, "--timeout", "2", "--term", "sp24"], capture_output=True, text=True,
                             env={**os.environ, "COLUMNS": "120"}).stdout
    mine = (feedback / "dee.txt").read_text()

    def same(text):  # the path as given and the seconds differ
        return re.sub(r"\d+\.\d s\.", "T s.", "\n".join(text.splitlines()[1:]))
    assert same(mine) == same(printed)
    assert mine.startswith("backproplab check dee/neural_networks (seed 0)")
    assert "climbs out" in (feedback / "slip.txt").read_text()


def test_the_csv_is_ready_for_a_spreadsheet(graded_class):
    base, expect, done, book = graded_class
    rows = list(csv.DictReader(io.StringIO((base / "out" / "gradebook.csv").read_text())))
    assert [r["submission"] for r in rows] == sorted(expect)
    assert "name" not in rows[0]  # no metadata, no name columns
    ben = next(r for r in rows if r["submission"] == "ben")
    assert (ben["ReLU.backward"], ben["ReLU.forward"], ben["total"], ben["max"], ben["percent"], ben["status"]) == \
        ("0", "1", "9", "10", "90", "graded")
    empty = next(r for r in rows if r["submission"] == "empty")
    assert (empty["total"], empty["status"]) == ("", "error") and "empty" in empty["reason"]


def test_the_class_report_counts_the_mistakes_and_names_who_shares_them(graded_class):
    base, expect, done, book = graded_class
    md = (base / "out" / "class.md").read_text()
    page = (base / "out" / "class.html").read_text()
    assert "### ReLU\\.backward: 8 of 11 pass" in md
    assert "| ReLU\\.backward | 3 | 8\u00a0of\u00a011 | 2 wrong, 1 timeout |" in md
    assert "**2 students** — ` dY-ignored `" in md and "ben, cy" in md
    assert "### CrossEntropy\\.backward: 10 of 11 pass" in md and "` times-m `" in md and "dee" in md
    # identical submissions (the same code with CRLF line endings) are listed together, without judging
    identical = md[md.index("## Identical submissions"):]
    assert "- 3 submissions \\(10 of 10 points\\): ada, fay\\.zip, gus\n" in identical
    assert "- 2 submissions \\(9 of 10 points\\): ben, cy\n" in identical
    errors = md[md.index("## Submissions that could not be graded"):md.index("## Parts")]
    assert all(name.replace(".", "\\.") in errors for name, want in expect.items() if want["status"] == "error")
    assert "| could not be graded | 9 |" in md
    assert "<script" not in page and 'src="http' not in page and 'href="http' not in page  # self-contained


def test_the_class_report_reads_on_a_phone(graded_class):
    """Nothing widens the page beyond a phone's screen: wide tables scroll in their own box."""
    import shutil

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("Chromium is not installed (CI installs it): sudo apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=390,844"):
        options.add_argument(flag)
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": 390, "height": 844,
                                                                          "pixelRatio": 3}})
    browser = webdriver.Chrome(service=Service(driver), options=options)
    try:
        browser.get((graded_class[0] / "out" / "class.html").resolve().as_uri())
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
        links = browser.execute_script("return Array.from(document.querySelectorAll('nav.toc a')).map(a => "
                                       "!!document.getElementById(a.getAttribute('href').slice(1)))")
        assert links and all(links)
    finally:
        browser.quit()


def test_the_same_class_gives_the_same_gradebook_byte_for_byte(graded_class, tmp_path):
    base, expect, done, book = graded_class
    again = grade(base / "submissions", "--out", tmp_path / "again", *COMMON[:-1], "1")
    assert again.returncode == 1
    assert (tmp_path / "again" / "gradebook.json").read_bytes() == (base / "out" / "gradebook.json").read_bytes()
    assert (tmp_path / "again" / "gradebook.csv").read_bytes() == (base / "out" / "gradebook.csv").read_bytes()


def test_an_existing_out_folder_is_never_overwritten_by_accident(graded_class, tmp_path):
    base, expect, done, book = graded_class
    refused = grade(base / "submissions", "--out", base / "out", *COMMON)
    assert refused.returncode == 2 and "--resume" in refused.stderr and "--overwrite" in refused.stderr
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("mine")
    refused = grade(base / "submissions", "--out", tmp_path / "mine", "--overwrite", *COMMON)
    assert refused.returncode == 2 and "did not write" in refused.stderr
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "mine"
    inside = grade(base / "submissions", "--out", base / "submissions" / "out", *COMMON)
    assert inside.returncode == 2 and "inside SUBMISSIONS" in inside.stderr


# -- a Gradescope export -------------------------------------------------------------------------------


def test_a_gradescope_export_names_its_students_and_no_cell_or_page_runs_their_names(tmp_path):
    gradescope_export(tmp_path / "export", tmp_path / "scratch")
    done = grade(tmp_path / "export", "--out", tmp_path / "out", "--parts", "ReLU.*", "--isolation", "auto")
    assert done.returncode == 1, done.stderr  # submission_104 is named but missing
    rows = {r["submission"]: r for r in csv.DictReader(io.StringIO((tmp_path / "out" / "gradebook.csv").read_text()))}
    assert list(rows) == ["submission_101", "submission_102", "submission_103", "submission_104"]
    assert (rows["submission_101"]["name"], rows["submission_101"]["sid"]) == ("Ada Lovelace", "0031234567")
    group = rows["submission_102"]
    assert group["name"] == "'=HYPERLINK(\"http://evil.example\"); <script>alert(1)</script>\\x1b[2J"
    assert group["email"] == "'@evil.example; two@example.edu" and group["sid"] == "'-12; 200"
    assert rows["submission_103"]["name"] == "" and rows["submission_104"]["status"] == "error"
    assert "no folder of that name" in rows["submission_104"]["reason"]
    page = (tmp_path / "out" / "class.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[2J" in page
    assert "\x1b" not in page and "\x1b" not in (tmp_path / "out" / "class.md").read_text()
    book = json.loads((tmp_path / "out" / "gradebook.json").read_text())
    assert book["submissions"][0]["email"] == "ada@example.edu"


# -- --resume after a real Ctrl-C, and --compare ------------------------------------------------------------


@pytest.fixture(scope="module")
def small_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("small")
    root = base / "submissions"
    root.mkdir()
    slow = ("activations.py", "import numpy as np", "import numpy as np\nimport time\ntime.sleep(0.3)", 1)
    for i, names in enumerate([(), ("relu ignores dY",), (), ("relu gives integers",), (), ("relu ignores dY",)]):
        put(root, f"s{i}", mutated(base / f"m{i}", *names, edits=(slow,)))
    whole = grade(root, "--out", base / "whole", "--parts", "ReLU.*", "--isolation", "auto", "--jobs", "1")
    assert whole.returncode == 0, whole.stderr
    return base, root


def test_resume_after_sigint_gives_the_same_gradebook(small_class):
    base, root = small_class
    out = base / "stopped"
    proc = subprocess.Popen([*GRADE, str(root), "--out", str(out), "--term", "sp24", "--parts", "ReLU.*",
                             "--isolation", "auto",
                             "--jobs", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / ".partial").glob("*.json"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "--resume" in stderr and "Traceback" not in stderr
    kept = len(list((out / ".partial").glob("*.json")))
    assert 2 <= kept < 6 and not (out / "gradebook.json").exists()
    resumed = grade(root, "--out", out, "--parts", "ReLU.*", "--isolation", "auto", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{kept} of 6 submissions already graded" in resumed.stderr
    assert (out / "gradebook.json").read_bytes() == (base / "whole" / "gradebook.json").read_bytes()
    other = grade(root, "--out", out, "--parts", "ReLU.*", "--isolation", "auto", "--resume", "--seed", "1")
    assert other.returncode == 2 and "seed 0 → 1" in other.stderr


def test_compare_with_a_changed_rubric_lists_exactly_the_students_whose_score_moved(small_class):
    base, root = small_class
    rubric = base / "rubric.json"
    rubric.write_text(json.dumps({"ReLU.*": 1, "ReLU.backward": 3}))
    done = grade(root, "--out", base / "regraded", "--parts", "ReLU.*", "--isolation", "auto", "--rubric", rubric,
                 "--term", "sp24", "--compare", base / "whole" / "gradebook.json")
    assert done.returncode == 0, done.stderr
    changes = json.loads((base / "regraded" / "changes.json").read_text())
    assert [c["submission"] for c in changes["changed"]] == ["s0", "s2", "s3", "s4"]  # ReLU.backward passes
    assert all(c["delta"] == 2 and [p["part"] for p in c["parts"]] == ["ReLU.backward"] for c in changes["changed"])
    assert all("the rubric" in p["why"] for c in changes["changed"] for p in c["parts"])
    assert changes["verdicts"] == []
    # (the grading code's digest changes too when someone edits the grader while the tests run)
    assert [c for c in changes["grader"] if not c.startswith("the grading code changed")] == ["the rubric"]
    assert "4 submissions changed score" in done.stdout and "s1" not in done.stdout.split("changed score")[1]


# -- the readers, without a sandbox ---------------------------------------------------------------------------


def test_a_zip_that_leaves_its_folder_or_lies_about_itself_is_refused(tmp_path):
    cases = {"dots.zip": ({"a/../../x.py": "1"}, "climbs out"), "back.zip": ({"a\\..\\..\\x.py": "1"}, "climbs out"),
             "drive.zip": ({"C:/x.py": "1"}, "absolute path"), "abs.zip": ({"/etc/x.py": "1"}, "absolute path")}
    for name, (members, said) in cases.items():
        with pytest.raises(ZipRefused, match=said):
            Archive(zipped(tmp_path / name, members))
    with pytest.raises(ZipRefused, match="symbolic link"):
        Archive(zipped(tmp_path / "link.zip", {"a.py": "1"}, symlinks={"b": "/etc/passwd"}))
    twice = tmp_path / "twice.zip"
    with zipfile.ZipFile(twice, "w") as zf:
        zf.writestr("n/layers.py", "1")
        with pytest.warns(UserWarning):
            zf.writestr("n/layers.py", "2")
    with pytest.raises(ZipRefused, match="twice"):
        Archive(twice)
    (tmp_path / "fake.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ZipRefused, match="not a readable zip"):
        Archive(tmp_path / "fake.zip")


def test_a_zip_bomb_is_refused_by_its_declared_sizes_and_by_what_it_inflates_to(tmp_path):
    with zipfile.ZipFile(tmp_path / "ratio.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("neural_networks/layers.py", b"\0" * (8 << 20))
    with pytest.raises(ZipRefused, match="zip bomb"):
        Archive(tmp_path / "ratio.zip")
    liar = tmp_path / "liar.zip"  # a member that declares 10 bytes and inflates to 1 MB
    with zipfile.ZipFile(liar, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("neural_networks/layers.py", b"x = 1\n" * (1 << 17))
    data = bytearray(liar.read_bytes())
    for header, at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # the uncompressed size, local and central
        i = data.index(header)
        data[i + at:i + at + 4] = (10).to_bytes(4, "little")
    liar.write_bytes(bytes(data))
    with Archive(liar) as archive, pytest.raises(ZipRefused):
        archive.extract(PurePosixPath("neural_networks"), tmp_path / "out")
    assert not (tmp_path / "out" / "layers.py").exists() or (tmp_path / "out" / "layers.py").stat().st_size <= 10


def test_the_package_is_chosen_from_names_alone_and_never_guessed():
    P = PurePosixPath
    assert choose_package([P("hw6/neural_networks/layers.py"), P("hw6/notes.md")]) == P("hw6/neural_networks")
    assert choose_package([P("layers.py"), P("models.py")]) == P(".")
    assert choose_package([P("n/neural_networks/neural_networks/layers.py")]) == P("n/neural_networks/neural_networks")
    for files, said in [([P("a/neural_networks/layers.py"), P("b/neural_networks/models.py")], "2 neural_networks"),
                        ([P("neural_networks/readme.md")], "holds none of"), ([], "empty"),
                        ([P("a/layers.py"), P("b/models.py")], "in 2 folders"), ([P("hw.ipynb")], "holds hw.ipynb")]:
        with pytest.raises(Unstageable, match=said):
            choose_package(files)


def test_gradescope_metadata_is_read_without_a_yaml_library(tmp_path):
    path = tmp_path / "submission_metadata.yml"
    path.write_text("submission_1:\n  :submitters: &1\n  - :name: \"Zo\\u00e9 O'Neil\"\n    :sid: '007'\n"
                    "    :email: zoe@x.edu # comment\n    :history:\n      :name: not this one\n"
                    "  :score: !ruby/object:BigDecimal 18:0.1e2\n  :history:\n  - :submitters: *1\n"
                    "submission_2:\n  :submitters:\n  - :name: 'A ''quoted'' name'\n    :sid:\n"
                    "submission_3:\n  :submitters: []\n", encoding="utf-8")
    found = read_metadata(path)
    assert [(s.name, s.sid, s.email) for s in found["submission_1"]] == [("Zoé O'Neil", "007", "zoe@x.edu")]
    assert [(s.name, s.sid) for s in found["submission_2"]] == [("A 'quoted' name", None)]
    assert found["submission_3"] == []


def test_spreadsheet_cells_and_feedback_names_are_neutral():
    assert [cell(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "ok", 3, 2.5, None)] == \
        ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "\\tx", "ok", "3", "2.5", ""]  # a tab is shown as \\t
    names = feedback_names(["a b", "a_b", "a_b.zip", "../x", ".hidden", "Zoé"])
    assert names == {"a b": "a_b.txt", "a_b": "a_b-2.txt", "a_b.zip": "a_b-3.txt", "../x": "_.._x.txt",
                     ".hidden": "_.hidden.txt", "Zoé": "Zo_.txt"}


def test_compare_names_why_a_verdict_changed():
    def book(digest, fingerprint, verdict):
        part = {"part": "ReLU.forward", "verdict": verdict, "points": int(verdict == "pass"), "worth": 1}
        return {"grader": {"version": "1", "digest": digest, "seed": 0, "rubric": None},
                "submissions": [{"submission": "s", "total": part["points"], "status": "graded",
                                 "fingerprint": fingerprint, "parts": [part]}]}
    new_code = comparing.compare(book("d", "f1", "wrong"), book("d", "f2", "pass"))
    assert new_code["changed"][0]["parts"][0]["why"] == "the submission changed"
    new_grader = comparing.compare(book("d1", "f", "wrong"), book("d2", "f", "pass"))
    assert "the grader changed" in new_grader["changed"][0]["parts"][0]["why"]
    assert comparing.compare(book("d", "f", "pass"), book("d", "f", "pass"))["changed"] == []


def test_uploads_of_the_four_files_are_graded_inside_the_starter(tmp_path):
    """Students upload only the files they fill in, flat; --starter supplies the rest of the
    package (the learner's files taking precedence), and its fingerprint is recorded."""
    from check_mutations import CORRECT

    starter = CORRECT / "neural_networks"
    for name, edit in (("ann", None), ("bob", ("return np.where(Z > 0, dY, 0.0)", "return dY"))):
        folder = tmp_path / "uploads" / name
        folder.mkdir(parents=True)
        for file in ("activations.py", "layers.py", "losses.py", "models.py"):
            text = (starter / file).read_text()
            folder.joinpath(file).write_text(text.replace(*edit) if edit and file == "activations.py" else text)
    parts = ("--parts", "ReLU.*,FullyConnected.forward", "--isolation", "auto")
    alone = grade(tmp_path / "uploads", "--out", tmp_path / "alone", *parts)
    with_starter = grade(tmp_path / "uploads", "--out", tmp_path / "out", *parts, "--starter", starter.parent)
    assert alone.returncode == with_starter.returncode == 0, with_starter.stderr
    book = json.loads((tmp_path / "out" / "gradebook.json").read_text())
    assert book["grader"]["starter"]
    totals = {e["submission"]: (e["total"], e["max"]) for e in book["submissions"]}
    assert totals == {"ann": (3, 3), "bob": (2, 3)}
    without = json.loads((tmp_path / "alone" / "gradebook.json").read_text())
    dense = [next(p for p in e["parts"] if p["part"] == "FullyConnected.forward") for e in without["submissions"]]
    assert all(p["verdict"] == "error" and p["rule"] == "missing-file" for p in dense)  # layers.py needs weights.py
